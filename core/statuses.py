"""Order and payment statuses: which values are completed sales and which are not.

The vocabulary is data (below): the words shops and platforms write in a status column, in
English, French, German, Spanish, Italian, Dutch and Portuguese, plus platform slugs
(WooCommerce ``wc-*``, Magento ``pending_payment``...). Every value is compared through one
function, ``normalise_status`` (case, accents, spaces, underscores, hyphens and punctuation
ignored), and judged by one, ``status_verdict``. A value the vocabulary does not hold is
*unknown*: the pipeline refuses it (``UnknownStatusError``) until the user decides, never
keeps it silently.

Words that mean a sale on one platform and not on another are deliberately absent (listed in
``AMBIGUOUS`` with why): the user decides them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import ConfigError, DataValidationError

SALE = "sale"
NOT_SALE = "not a sale"
VERDICTS = (SALE, NOT_SALE)

# Completed sales: paid, or paid and being fulfilled (processing, shipped, delivered).
SALE_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "paid",
        "completed",
        "complete",
        "succeeded",
        "success",
        "successful",
        "settled",
        "captured",
        "fulfilled",
        "shipped",
        "delivered",
        "processing",
        "processed",
        "invoiced",
        "payment accepted",
        "remote payment accepted",
        "on backorder (paid)",
        "awaiting fulfillment",
        "awaiting shipment",
        "awaiting pickup",
        "partially shipped",
        "ready to ship",
        "unshipped",
        "sale",
        "sales order",
        "locked",
        "done",
    ),
    "fr": (
        "payé",
        "payée",
        "paiement accepté",
        "paiement à distance accepté",
        "terminé",
        "terminée",
        "complété",
        "complétée",
        "expédié",
        "expédiée",
        "livré",
        "livrée",
        "encaissé",
        "en cours",
        "préparation en cours",
        "en attente de réapprovisionnement (payé)",
    ),
    "de": (
        "bezahlt",
        "abgeschlossen",
        "fertiggestellt",
        "versendet",
        "versandt",
        "geliefert",
        "zugestellt",
        "erledigt",
        "in bearbeitung",
    ),
    "es": (
        "pagado",
        "pagada",
        "completado",
        "completada",
        "enviado",
        "enviada",
        "entregado",
        "entregada",
        "procesando",
        "procesado",
    ),
    "it": (
        "pagato",
        "pagata",
        "completato",
        "completata",
        "in lavorazione",
        "spedito",
        "spedita",
        "consegnato",
        "consegnata",
        "evaso",
    ),
    "nl": ("betaald", "afgerond", "voltooid", "verzonden", "geleverd", "in behandeling"),
    "pt": (
        "pago",
        "paga",
        "concluído",
        "concluída",
        "completo",
        "enviado",
        "entregue",
        "processando",
        "faturado",
    ),
    "platform": ("wc-processing", "wc-completed"),
}
# Not a sale (yet, or any more): refunded, cancelled, failed, unpaid, awaiting a cheque or a
# transfer, on hold, quotes, drafts, layaways, voids.
NOT_SALE_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "refunded",
        "failed",
        "pending",
        "pending payment",
        "payment pending",
        "voided",
        "void",
        "cancelled",
        "canceled",
        "declined",
        "expired",
        "on hold",
        "awaiting payment",
        "awaiting check payment",
        "awaiting cheque payment",
        "awaiting bank wire payment",
        "awaiting bank transfer",
        "awaiting cash on delivery validation",
        "payment error",
        "payment review",
        "fraud",
        "suspected fraud",
        "quote",
        "quotation",
        "quotation sent",
        "estimate",
        "draft",
        "checkout draft",
        "layaway",
        "denied",
        "reversed",
        "rejected",
        "abandoned",
        "chargeback",
        "unpaid",
        "incomplete",
        "returned",
        "on backorder (not paid)",
        "manual verification required",
        "holded",
    ),
    "fr": (
        "annulé",
        "annulée",
        "remboursé",
        "remboursée",
        "échoué",
        "échouée",
        "échec",
        "en attente",
        "attente paiement",
        "en attente de paiement",
        "en attente du paiement par chèque",
        "en attente de virement bancaire",
        "en attente de paiement à la livraison",
        "erreur de paiement",
        "refusé",
        "refusée",
        "devis",
        "brouillon",
        "abandonné",
        "impayé",
        "retourné",
        "en attente de réapprovisionnement (non payé)",
    ),
    "de": (
        "storniert",
        "erstattet",
        "rückerstattet",
        "zurückerstattet",
        "fehlgeschlagen",
        "ausstehend",
        "zahlung ausstehend",
        "in wartestellung",
        "wartend",
        "abgebrochen",
        "abgelehnt",
        "angebot",
        "entwurf",
        "unbezahlt",
        "retourniert",
    ),
    "es": (
        "cancelado",
        "cancelada",
        "anulado",
        "anulada",
        "reembolsado",
        "reembolsada",
        "fallido",
        "fallida",
        "pendiente",
        "pendiente de pago",
        "en espera",
        "rechazado",
        "presupuesto",
        "borrador",
        "devuelto",
    ),
    "it": (
        "annullato",
        "annullata",
        "rimborsato",
        "rimborsata",
        "fallito",
        "fallita",
        "in attesa",
        "in attesa di pagamento",
        "in sospeso",
        "rifiutato",
        "preventivo",
        "bozza",
        "reso",
    ),
    "nl": (
        "geannuleerd",
        "terugbetaald",
        "mislukt",
        "wachtend op betaling",
        "in de wacht",
        "in afwachting",
        "afgewezen",
        "offerte",
        "concept",
        "onbetaald",
        "geretourneerd",
    ),
    "pt": (
        "cancelado",
        "cancelada",
        "reembolsado",
        "reembolsada",
        "malsucedido",
        "falhou",
        "falhado",
        "pendente",
        "pagamento pendente",
        "aguardando",
        "aguardando pagamento",
        "aguardando",
        "recusado",
        "orçamento",
        "rascunho",
        "devolvido",
    ),
    "platform": (
        "wc-pending",
        "wc-on-hold",
        "wc-cancelled",
        "wc-refunded",
        "wc-failed",
        "wc-checkout-draft",
        "pending_payment",
        "payment_review",
    ),
}
# Written by some platforms for a sale and by others for none: never decided by the vocabulary.
AMBIGUOUS: dict[str, str] = {
    "closed": "Magento: refunded (credit memo); Shopify: archived after payment",
    "open": "Shopware, eBay: not yet paid or paid and not yet shipped",
    "sent": "Odoo: a quotation sent; elsewhere: shipped",
    "authorized": "payment authorised but not captured: captured later, or never",
    "partially paid": "a deposit, not the whole order",
    "partially refunded": "paid, part of it given back",
    "in progress": "Shopware: the order is handled, payment may be open",
    "disputed": "a chargeback that may still be won",
}


def normalise_status(value: object) -> str:
    """How status values are compared: 'Annulée' -> 'annulee', 'wc-on-hold' -> 'wc on hold',
    'Partially_Refunded ' -> 'partially refunded', 'On backorder (paid)' -> 'on backorder paid'.

    Accents and case dropped, every run of spaces, underscores, hyphens or punctuation one space.
    """
    plain = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.casefold()).split())


def _normalised(words: dict[str, tuple[str, ...]]) -> frozenset[str]:
    return frozenset(normalise_status(w) for group in words.values() for w in group)


SALE_VOCABULARY = _normalised(SALE_WORDS)
NOT_SALE_VOCABULARY = _normalised(NOT_SALE_WORDS)
if SALE_VOCABULARY & NOT_SALE_VOCABULARY:  # the data must never say both
    raise AssertionError(f"status words in both lists: {SALE_VOCABULARY & NOT_SALE_VOCABULARY}")


def parse_status_list(text: str | Sequence[str] | None, flag: str = "--sale-status") -> tuple[str, ...]:
    """'Quote, Layaway' (a CLI flag's comma-separated text) or a sequence -> normalised values.

    Raises ConfigError for a list whose only entries are blank."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    values = tuple(dict.fromkeys(v for v in (normalise_status(i) for i in items) if v))
    if items and not values:
        raise ConfigError(
            f"{flag} '{text}' names no status value; write values separated by commas, e.g. \"Quote,Layaway\""
        )
    return values


def check_decisions(extra_sales: Iterable[str], extra_not_sales: Iterable[str]) -> None:
    """Refuse a value given as both a sale and not a sale (ConfigError naming it)."""
    both = sorted({normalise_status(v) for v in extra_sales} & {normalise_status(v) for v in extra_not_sales})
    if both:
        raise ConfigError(
            f"status value(s) {', '.join(both)} given both as a sale and as not a "
            "sale (--sale-status and --not-sale-status); keep each in one list"
        )


def status_verdict(
    value: object, extra_sales: Iterable[str] = (), extra_not_sales: Iterable[str] = ()
) -> str | None:
    """SALE, NOT_SALE, or None when unknown (the user must decide).

    ``extra_sales`` / ``extra_not_sales``: values decided by the user or declared by an export
    profile (compared through ``normalise_status``); they win over the vocabulary. A blank
    value is NOT_SALE (nothing says the line was paid)."""
    key = normalise_status(value) if value is not None else ""
    if not key:
        return NOT_SALE
    if key in {normalise_status(v) for v in extra_not_sales}:
        return NOT_SALE
    if key in {normalise_status(v) for v in extra_sales}:
        return SALE
    if key in NOT_SALE_VOCABULARY:
        return NOT_SALE
    if key in SALE_VOCABULARY:
        return SALE
    return None


def suggested_verdict(value: object) -> str:
    """What the app pre-fills for an unknown value (the user confirms it): NOT_SALE when a
    not-sale word is part of it ('refund requested'), SALE when only a sale word is, else
    NOT_SALE (revenue is not counted on a guess)."""
    key = f" {normalise_status(value)} "
    if any(f" {w} " in key for w in NOT_SALE_VOCABULARY):
        return NOT_SALE
    if any(f" {w} " in key for w in SALE_VOCABULARY):
        return SALE
    return NOT_SALE


@dataclass(frozen=True)
class StatusCount:
    """One status value as written, its lines, their value (revenue) and its verdict
    (SALE, NOT_SALE, or None: unknown)."""

    value: str
    lines: int
    revenue: float
    verdict: str | None


class UnknownStatusError(DataValidationError):
    """Status values neither the vocabulary nor the user's decisions know; ``unknown`` holds
    their StatusCount (for the control that asks), ``column`` the status column."""

    def __init__(self, message: str, *, unknown: tuple[StatusCount, ...], column: str):
        super().__init__(message)
        self.unknown = unknown
        self.column = column


def refuse_unknown(counts: Sequence[StatusCount], column: str, source: str | None = None) -> None:
    """Raise UnknownStatusError when a count is unknown: one line naming each value with its
    lines and revenue, and the flags that decide."""
    unknown = tuple(c for c in counts if c.verdict is None)
    if not unknown:
        return
    listed = "; ".join(f"'{c.value}' ({c.lines:,} lines, {c.revenue:,.2f} revenue)" for c in unknown)
    values = ",".join(c.value for c in unknown)
    where = f"{source}: " if source else ""
    raise UnknownStatusError(
        f"{where}status column '{column}' holds value(s) not known as a sale or not: {listed}; "
        f'decide with --sale-status "{values}" or --not-sale-status "{values}" '
        "(comma-separated)",
        unknown=unknown,
        column=column,
    )
