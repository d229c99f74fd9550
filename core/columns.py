"""Canonical column roles, auto-detection of a file's columns, and the canonical table.

Column names live here and nowhere else. A raw table (whatever the file called its columns)
becomes the *canonical* table, one row per line, with these columns (``to_canonical``):

    customer     string     customer as read (trimmed, '' as NULL); core.rfm.group_orders
                            makes it customer_id text (``customer_text``): leading zeros
                            kept, Excel's 12347.0 -> 12347
    invoice_ts   timestamp  purchase timestamp (NULL where the date did not parse)
    invoice      string     invoice / order id (NULL when the file has none)
    quantity     float64    NULL when the file has an amount column instead
    price        float64    NULL when the file has an amount column instead
    line_value   float64    the mapped amount (it wins), else quantity * price
    product      string     stock code (NULL when unmapped)
    country      string     (NULL when unmapped)
    country_blank boolean   the country cell is empty (true when unmapped)
    status       string     payment / order status as written (NULL when unmapped)
    bad_number   boolean    a mapped amount/price/quantity has text that is not a number
    date_blank   boolean    the date cell is empty (an order's later line may leave it so)
    amount       float64    the mapped amount (finite), NULL when unmapped
    amount_blank boolean    the amount cell is empty (true when unmapped)

Order-level fields (customer, date, status, country) that an export leaves blank on an
order's later lines (Shopify) are filled per order by core.rfm.group_orders.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import ibis
import ibis.expr.datatypes as dt

from core import query, values
from core.errors import ColumnMappingError

ROLES = ("customer", "date", "invoice", "quantity", "price", "amount", "status", "product", "country")
REQUIRED_ROLES = ("customer", "date")  # and a value: amount, or quantity and price
CANONICAL = (
    "customer",
    "invoice_ts",
    "invoice",
    "quantity",
    "price",
    "line_value",
    "product",
    "country",
    "country_blank",
    "status",
    "bad_number",
    "date_blank",
    "amount",
    "amount_blank",
)
RFM_COLUMNS = ("customer_id", "recency", "frequency", "monetary")

# Normalised names (lower case; blanks, punctuation and accents removed) each role is found
# under, most specific first: English, platform exports (Shopify, Stripe, WooCommerce, Square,
# Etsy, Amazon Seller, Lightspeed), German (DATEV/SAP), French, Spanish, Dutch. A bare 'id'
# (a row or payment id) is never any role.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        # customer-ID columns first ...
        "customerid",
        "custid",
        "clientid",
        "customerno",
        "customernumber",
        "customercode",
        "customeruserid",
        "userid",
        "buyerid",
        "buyeruserid",
        "memberid",
        "accountid",
        "kundennummer",
        "kundennr",
        "kundenid",
        "debitorennummer",
        "debitor",
        "numeroclient",
        "numerodeclient",
        "nclient",
        "idclient",
        "codeclient",
        "refclient",
        "idcliente",
        "numerocliente",
        "numerodecliente",
        "nocliente",
        "codigocliente",
        "nifcliente",
        "klantnummer",
        "klantid",
        "klantnr",
        "debiteurnummer",
        # ... then columns named for the customer ...
        "customer",
        "cust",
        "client",
        "kunde",
        "auftraggeber",
        "cliente",
        "contacto",
        "klant",
        "debiteur",
        "contactname",
        # ... and with no customer column, the e-mail identifies the customer
        "email",
        "customeremail",
        "billingemail",
        "billingemailaddress",
        "emailaddress",
        "buyeremail",
        "contactemail",
        "fromemailaddress",
        "mail",
        "courriel",
        "correo",
        "correoelectronico",
        "emailadres",
    ),
    "date": (
        "invoicedate",
        "orderdate",
        "transactiondate",
        "purchasedate",
        "saledate",
        "date",
        "datetime",
        "timestamp",
        "orderdatetime",
        "createdat",
        "createdutc",
        "created",
        "createddate",
        "datecreated",
        "creationdate",
        "dateutc",
        "dateofsale",
        "day",
        "paidat",
        "datum",
        "rechnungsdatum",
        "belegdatum",
        "buchungsdatum",
        "bestelldatum",
        "fakturadatum",
        "verkaufsdatum",
        "datefacture",
        "datedefacture",
        "datecommande",
        "datedecommande",
        "fecha",
        "fechafactura",
        "fechadefactura",
        "fechapedido",
        "fechadepedido",
        "fechadeventa",
        "factuurdatum",
        "orderdatum",
        "besteldatum",
        "transactiedatum",
        "time",
    ),
    "invoice": (
        "invoice",
        "invoiceno",
        "invoiceid",
        "invoicenumber",
        "orderid",
        "orderno",
        "ordernumber",
        "order",
        "orderreference",
        "transactionid",
        "receiptid",
        "basketid",
        "saleid",
        "receiptnumber",
        "amazonorderid",
        "rechnungsnummer",
        "rechnungsnr",
        "rechnung",
        "belegnummer",
        "belegnr",
        "bestellnummer",
        "auftragsnummer",
        "verkaufsbeleg",
        "faktura",
        "facture",
        "numerofacture",
        "numerodefacture",
        "nfacture",
        "npiece",
        "numeropiece",
        "commande",
        "numerocommande",
        "numerodecommande",
        "factura",
        "nfactura",
        "nofactura",
        "numerofactura",
        "numerodefactura",
        "pedido",
        "idpedido",
        "nopedido",
        "numeropedido",
        "numerodepedido",
        "factuur",
        "factuurnummer",
        "factuurnr",
        "bestelling",
        "bestelnummer",
        "ordernummer",
    ),
    "quantity": (
        "quantity",
        "qty",
        "units",
        "count",
        "itemsquantity",
        "quantityordered",
        "lineitemquantity",
        "quantitypurchased",
        "quantityrefund",
        "productqty",
        "itemssold",
        "numberofitems",
        "menge",
        "auftragsmenge",
        "anzahl",
        "stuckzahl",
        "quantite",
        "qte",
        "cantidad",
        "unidades",
        "aantal",
        "hoeveelheid",
    ),
    "price": (
        "price",
        "unitprice",
        "priceeach",
        "itemprice",
        "unitcost",
        "priceperunit",
        "lineitemprice",
        "itemcost",
        "productunitprice",
        "salesprice",
        "unitamount",
        "einzelpreis",
        "stuckpreis",
        "preis",
        "prixunitaire",
        "prix",
        "preciounitario",
        "precio",
        "stukprijs",
        "prijs",
        "eenheidsprijs",
    ),
    "amount": (
        "amount",
        "revenue",
        "sales",
        "dollarvalue",
        "total",
        "totalamount",
        "linetotal",
        "ordervalue",
        "value",
        "totalprice",
        "spend",
        "netsales",
        "ordertotal",
        "ordertotalamount",
        "ordertotalinctax",
        "grandtotalpurchased",
        "grandtotal",
        "grosssales",
        "gross",
        "totalcollected",
        "amountpaid",
        "itemtotal",
        "betrag",
        "gesamtbetrag",
        "betragbrutto",
        "bruttobetrag",
        "umsatz",
        "nettobetrag",
        "nettowert",
        "rechnungsbetrag",
        "montant",
        "montantttc",
        "montantht",
        "totalttc",
        "importe",
        "importetotal",
        "bedrag",
        "totaalbedrag",
        "totaal",
    ),
    "status": (
        "financialstatus",
        "paymentstatus",
        "orderstatus",
        "status",
        "transactionstatus",
        "statut",
        "etat",
        "estado",
        "estadodelpedido",
        "zahlungsstatus",
    ),
    "product": (
        "stockcode",
        "sku",
        "productid",
        "productcode",
        "productsku",
        "itemcode",
        "lineitemsku",
        "inventoryitemcode",
        "product",
        "itemid",
        "asin",
        "artikelnummer",
        "artikelnr",
        "artikelcode",
        "artikel",
        "material",
        "codigoarticulo",
        "reference",
        "referencia",
        "articulo",
        "description",
    ),
    "country": (
        "country",
        "countryname",
        "region",
        "market",
        "billingcountry",
        "shippingcountry",
        "shipcountry",
        "land",
        "lieferland",
        "pays",
        "pais",
    ),
}
# Shopify's orders export calls the order number 'Name'; only there is 'Name' the invoice.
_SHOPIFY_MARKS = ("financialstatus", "lineitemname", "lineitemquantity")
_NUMERIC_ROLES = ("quantity", "price", "amount")


class MissingRoleError(ColumnMappingError):
    """A required role has no column; ``roles`` names them (for the control that fixes it)."""

    def __init__(self, message: str, *, roles: tuple[str, ...], source: str):
        super().__init__(message)
        self.roles = roles
        self.source = source


def normalise(name: str) -> str:
    """Lower case without accents, blanks or punctuation: 'Customer ID' -> 'customerid',
    'Numéro de facture' -> 'numerodefacture', 'Created (UTC)' -> 'createdutc'."""
    plain = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "", plain.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column plays each role; ``None`` where the file has none."""

    customer: str | None = None
    date: str | None = None
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    status: str | None = None
    product: str | None = None
    country: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """Role -> source column (None where unmapped), in ROLES order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_overrides(self, overrides: Mapping[str, str | None]) -> ColumnMapping:
        """A copy with the user's role -> column choices ('' or None unmaps the role); ColumnMappingError
        for a role that is not one of ROLES. The columns are checked later, by ``check``."""
        unknown = set(overrides) - set(ROLES)
        if unknown:
            raise ColumnMappingError(f"unknown column role(s) {sorted(unknown)}; roles are {list(ROLES)}")
        return replace(self, **{k: (v or None) for k, v in overrides.items()})

    def check(self, columns: list[str], source: str = "the file") -> ColumnMapping:
        """Raise ColumnMappingError unless every mapped column exists and the roles suffice."""
        found = ", ".join(columns)
        for role, column in self.as_dict().items():
            if column is not None and column not in columns:
                raise ColumnMappingError(
                    f"{source}: column '{column}' mapped to {role} does not exist; columns found: {found}"
                )
        missing = [r for r in REQUIRED_ROLES if getattr(self, r) is None]
        if self.amount is None and (self.quantity is None or self.price is None):
            missing.append("amount (or quantity and price)")
        if missing:
            flags = " ".join(f"--{m.split()[0]} COLUMN" for m in missing)
            raise MissingRoleError(
                f"{source}: cannot find the {', '.join(missing)} column; columns found: {found}; "
                f"choose the column for that role (command line: {flags})",
                roles=tuple(m.split()[0] for m in missing),
                source=source,
            )
        used = [c for c in self.as_dict().values() if c is not None]
        dupes = sorted({c for c in used if used.count(c) > 1})
        if dupes:
            raise ColumnMappingError(f"{source}: column(s) {dupes} are mapped to more than one role")
        return self


def _looks_numeric(sample: list) -> bool:
    """Nine in ten of the sample's non-blank values are numbers as people write them."""
    missing = re.compile(r"(?i)^[+-]?(nan|inf|infinity|n/?a|null|none|-+)$")  # placeholders
    seen = [
        str(v).strip()
        for v in sample
        if v is not None and str(v).strip() != "" and not missing.match(str(v).strip())
    ]
    if not seen:
        return True
    shape = re.compile(r"^[(+\-]*[\d.,]*\d[\d.,]*[)\-]*$")
    noise = re.compile(r"(?i)\b(" + "|".join(values.CURRENCY_CODES) + r")\b|[€$£¥₹\s\u00a0\u202f'’]")
    ok = sum(1 for v in seen if shape.match(noise.sub("", v)))
    return ok >= 0.9 * len(seen)


def detect_columns(table: ibis.Table, sample_rows: int = 200) -> ColumnMapping:
    """Guess each role from normalised column names, checking numeric roles on a sample.

    Returns a mapping that may miss required roles: call ``ColumnMapping.check`` after
    applying the user's overrides. Both an amount and quantity + price may be found: the
    amount wins (DESIGN.md), the others stay mapped for their cleaning rules.
    """
    columns = list(table.columns)
    sample = query.arrow(table.head(sample_rows)).to_pydict()
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise(c), c)
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    if any(mark in by_norm for mark in _SHOPIFY_MARKS) and "name" in by_norm:
        chosen["invoice"] = by_norm["name"]
        taken.add(by_norm["name"])
    for role in ROLES:
        if role in chosen:
            continue
        for candidate in _ROLE_NAMES[role]:
            column = by_norm.get(candidate)
            if column is None or column in taken:
                continue
            if role in _NUMERIC_ROLES and not (
                table.schema()[column].is_numeric() or _looks_numeric(sample[column])
            ):
                continue
            chosen[role] = column
            taken.add(column)
            break
    return ColumnMapping(**chosen)


def customer_text(col: ibis.Column) -> ibis.Column:
    """Customer IDs as text; an integral float (Excel's 12347.0) loses its '.0'.

    Text input is expected already trimmed with '' as NULL (see ``_trimmed``).
    """
    if col.type().is_floating():
        # No floor(): ibis casts it to BIGINT, which fails on NaN even in an untaken branch.
        as_int = col.try_cast("int64")
        integral = as_int.cast("float64") == col
        text = integral.ifelse(as_int.cast("string"), col.cast("string"))
        finite = ~(col.isnan() | col.isinf())  # a NaN id (Parquet from Polars/Spark) is missing
        return finite.ifelse(text, ibis.null("string"))
    if not col.type().is_string():
        return col.cast("string")
    # The regex runs only on IDs ending in 0 (cheap test first); no backreference in the
    # replacement, since DuckDB writes it \1 and Spark $1.
    zero_decimal = col.re_search(r"^\d+\.0+$").ifelse(col.re_replace(r"\.0+$", ""), col)
    return col.endswith("0").ifelse(zero_decimal, col)


def customer_id(col: ibis.Column) -> ibis.Column:
    """``customer_text`` with placeholder IDs ('0', '-1', 'guest', 'n/a', ...) as NULL: a
    missing customer, never a customer (core.identity)."""
    from core.identity import customer_key, placeholder_numbers

    kind = col.type()
    if kind.is_floating() or kind.is_integer():  # a placeholder by its value: text written once
        return col.isin(placeholder_numbers()).ifelse(ibis.null("string"), customer_text(col))
    return customer_key(customer_text(col))


def _trimmed(col: ibis.Column) -> ibis.Column:
    """Text without surrounding blanks, '' as NULL; numbers and timestamps as they are."""
    if not col.type().is_string():
        return col
    return values.trim(col).nullif("")


def _number(col: ibis.Column, reading: values.NumberReading) -> ibis.Column:
    """float64 from a number, or from text read with the column's decimal mark; NULL where
    the text is not a number (see core.values)."""
    if col.type().is_numeric():
        return col.cast("float64")
    return values.parse_number(col.cast("string"), reading.decimal or ".")


def _finite(col: ibis.Column) -> ibis.Column:
    """NaN and infinity (a float file's, or the text 'nan') become NULL, so the cleaning rules
    drop them instead of letting a NaN pass 'price > 0' and poison monetary."""
    return (col.isnan() | col.isinf()).ifelse(ibis.null("float64"), col)


def _text(col: ibis.Column) -> ibis.Column:
    if col.type().is_floating():
        return customer_text(col)
    return col.cast("string")


def dates_as_stored(col: ibis.Column) -> bool:
    """Whether a date column holds dates (a timestamp or date type), read as they are: a
    line's invoice_ts is then NULL exactly when its date cell is blank."""
    return col.type().is_timestamp() or col.type().is_date()


def _timestamp(col: ibis.Column, reading: values.DateReading) -> ibis.Column:
    """The date column as a naive timestamp (UTC where the value had an offset)."""
    if dates_as_stored(col):
        return col.cast(dt.Timestamp())
    return values.parse_date(col.cast("string"), reading)


def numeric_columns(mapping: ColumnMapping) -> list[str]:
    """The source columns mapped to quantity, price and amount, in that order."""
    return [c for c in (mapping.quantity, mapping.price, mapping.amount) if c is not None]


def decide_readings(
    table: ibis.Table,
    mapping: ColumnMapping,
    source: str = "the file",
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
) -> values.Readings:
    """How the mapped number and date columns are read (core.values.decide, one pass)."""
    return values.decide(
        table,
        numeric_columns(mapping),
        mapping.date,
        source=source,
        delimiter=delimiter,
        decimal=decimal,
        date_format=date_format,
    )


def to_canonical(
    table: ibis.Table,
    mapping: ColumnMapping,
    source: str = "the file",
    readings: values.Readings | None = None,
    attributes: Sequence[str] = (),
) -> ibis.Table:
    """Rename and type the mapped columns into the canonical schema, one row per line (see
    the module docstring); the first stage of ``core.rfm.classify_lines``.

    ``readings`` says how numbers and dates are read (default: decided from the values).
    Projections in steps: trim and cast each source column once, then derive. ``attributes``:
    source columns passed through as text (trimmed, '' as NULL) named attribute_0,
    attribute_1, ... Order-level blanks stay blank: ``core.rfm.group_orders`` fills them per
    order.
    """
    mapping.check(list(table.columns), source)
    if mapping.date is None:  # check() refuses a mapping without a date: this says so to mypy
        raise MissingRoleError(f"{source}: no date column mapped", roles=("date",), source=source)
    if readings is None:
        readings = decide_readings(table, mapping, source)
    date_reading = readings.date_of(mapping.date)
    null_text, null_number = ibis.null("string"), ibis.null("float64")

    def number(column: str | None):
        if column is None:
            return null_number, ibis.literal(False)
        raw = _trimmed(table[column])
        parsed = _number(raw, readings.number(column))
        return parsed, raw.notnull() & parsed.isnull()

    quantity, bad_quantity = number(mapping.quantity)
    price, bad_price = number(mapping.price)
    amount, bad_amount = number(mapping.amount)
    typed = table.select(
        customer=_trimmed(table[mapping.customer]),
        invoice_ts=_timestamp(_trimmed(table[mapping.date]), date_reading),
        date_blank=values.blank(table[mapping.date]),
        invoice=_trimmed(table[mapping.invoice]) if mapping.invoice else null_text,
        quantity=quantity,
        price=price,
        amount=amount,
        amount_blank=values.blank(table[mapping.amount]) if mapping.amount else ibis.literal(True),
        bad_number=bad_quantity | bad_price | bad_amount,
        status=_trimmed(table[mapping.status]).cast("string") if mapping.status else null_text,
        product=_trimmed(table[mapping.product]) if mapping.product else null_text,
        country=_trimmed(table[mapping.country]) if mapping.country else null_text,
        country_blank=values.blank(table[mapping.country]) if mapping.country else ibis.literal(True),
        **{f"attribute_{i}": _trimmed(_text(table[c])) for i, c in enumerate(attributes)},
    )
    quantity, price = _finite(typed.quantity), _finite(typed.price)
    # the amount wins; a blank amount inside an order is part of that order (group_orders)
    line_value = _finite(typed.amount) if mapping.amount else quantity * price
    return typed.select(
        customer=typed.customer,
        invoice_ts=typed.invoice_ts,
        invoice=_text(typed.invoice),
        quantity=quantity,
        price=price,
        line_value=line_value,
        product=_text(typed.product),
        country=_text(typed.country),
        country_blank=typed.country_blank,
        status=typed.status,
        bad_number=typed.bad_number,
        **{f"attribute_{i}": typed[f"attribute_{i}"] for i in range(len(attributes))},
        date_blank=typed.date_blank,
        amount=_finite(typed.amount),
        amount_blank=typed.amount_blank,
    )


def resolve_mapping(
    table: ibis.Table, overrides: Mapping[str, str | None] | None = None, source: str = "the file"
) -> ColumnMapping:
    """Detected roles with the user's overrides applied, checked against the file's columns.

    An override of None leaves the detected column; an empty string unmaps the role.
    """
    return resolve(table, overrides, source)[0]


def resolve(
    table: ibis.Table,
    overrides: Mapping[str, str | None] | None = None,
    source: str = "the file",
    base: Mapping[str, str] | None = None,
    *,
    check: bool = True,
) -> tuple[ColumnMapping, tuple[str, ...]]:
    """``resolve_mapping`` from ``base`` roles (an export profile's; None: detected from the
    names), with the sentences of what the overrides moved. ``check=False`` returns the
    mapping unchecked (it may miss required roles: what a form shows before the user chooses).

    An amount chosen for the column mapped as the unit price moves it: price is unmapped
    (the column is each line's total, never multiplied by quantity), and a sentence says so.
    """
    user = {k: v for k, v in (overrides or {}).items() if v is not None}
    start = (
        detect_columns(table) if base is None else ColumnMapping(**{k: v or None for k, v in base.items()})
    )
    notes = []
    amount = user.get("amount")
    if amount and "price" not in user and start.price == amount:
        user["price"] = ""
        notes.append(
            f"'{amount}' is the amount now, no longer the unit price: each line's "
            "value is that column as written, never multiplied by quantity"
        )
    mapping = start.with_overrides(user)
    return (mapping.check(list(table.columns), source) if check else mapping), tuple(notes)
