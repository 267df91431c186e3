"""Who may read finance figures: the holders of the reader's or the admin's token.

The report API (a vendor-month: its credit, claim deadlines, exclusions, who closed it and the
closed report's hash) and the ``uptime_ledger_month_credit`` and
``uptime_ledger_claim_deadline_timestamp_seconds`` metric families go only to a request with
``Authorization: Bearer <token>`` of ``web.reader_token_file`` or ``web.admin_token_file`` (or
their environment variables, ``uptime.web.tokens.finance_tokens``): :func:`require_finance`
answers any other a 401. ``/metrics`` without an ``Authorization`` header gets every other
family (the status page, availability, states and maintenance are public); with a header that
carries neither token it gets a 401 too, so that a mistyped token fails loudly instead of
silently losing the figures (:func:`may_read_finance`). No HTTP route writes finance data:
exclusions, windows, claim marks and closes are recorded from the command line only.
"""

from __future__ import annotations

from aiohttp import web

from uptime.web.responses import ApiError
from uptime.web.tokens import READER_TOKEN_ENV, matching

FINANCE_TOKENS = web.AppKey("finance_tokens", dict)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="uptime-ledger"'}


def bearer_token(request: web.Request) -> str | None:
    """The bearer token of ``Authorization``, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def may_read_finance(request: web.Request) -> bool:
    """True for the reader's or the admin's token, False without an ``Authorization`` header;
    :class:`ApiError` 401 for any other (a wrong token, another scheme, a region's token)."""
    if "Authorization" not in request.headers:
        return False
    require_finance(request, "; send no Authorization header for the public figures")
    return True


def require_finance(request: web.Request, hint: str = "") -> None:
    """:class:`ApiError` 401 unless the request carries the reader's or the admin's token; the
    message says where the tokens are configured, or that none is (and ``hint``)."""
    tokens = request.app[FINANCE_TOKENS]
    token = bearer_token(request)
    if token is not None and matching(token, tokens) is not None:
        return
    given = "wrong bearer token" if "Authorization" in request.headers else "no bearer token"
    need = "finance figures need the reader's or the admin's token"
    where = f"web.reader_token_file or {READER_TOKEN_ENV}"
    if tokens:
        how = f"send 'Authorization: Bearer <token>' with it (the collector's {where})"
    else:
        how = f"this collector has none configured: set {where} on it"
    raise ApiError(
        401,
        f"{given}: {need}; {how}{hint}",
        CHALLENGE,
    )
