"""Who may change the shared model store, and whether the scoring API asks for a token.

Two environment variables decide it: RFM_ADMIN_TOKEN (saving a version and changing the
current one, from any session) and RFM_API_TOKEN (``/api/score``, checked by app.py). The
tokens are read on every call, compared in constant time, and never kept in a session.
"""

from __future__ import annotations

import hmac
import os

from core.errors import ConfigError


def admin_token_required() -> bool:
    """True when env RFM_ADMIN_TOKEN is set: saving and changing current ask for it."""
    return bool(os.environ.get("RFM_ADMIN_TOKEN"))


def api_token_required() -> bool:
    """True when env RFM_API_TOKEN is set: /api/score needs 'Authorization: Bearer <token>'."""
    return bool(os.environ.get("RFM_API_TOKEN"))


def api_token_accepts(given: str | None) -> bool:
    """True when no API token is set or ``given`` is it (constant-time compare)."""
    return _token_accepts("RFM_API_TOKEN", given)


def check_admin_token(given: str | None) -> None:
    """Nothing when no admin token is set or ``given`` matches it (constant-time), else ConfigError."""
    if not _token_accepts("RFM_ADMIN_TOKEN", given):
        raise ConfigError(
            "the admin token is missing or wrong: saving a version or changing the "
            "current one needs the server's RFM_ADMIN_TOKEN"
        )


def _token_accepts(variable: str, given: str | None) -> bool:
    expected = os.environ.get(variable, "")
    if not expected:
        return True
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
