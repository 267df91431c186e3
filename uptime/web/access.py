"""Who may read finance figures: the holders of the reader's or the admin's token.

Credits, fees and claim deadlines (a vendor-month's ``credit`` and its interruptions'
``claim_deadline``, the ``uptime_ledger_month_credit`` and
``uptime_ledger_claim_deadline_timestamp_seconds`` metric families) go only to a request with
``Authorization: Bearer <token>`` of ``web.reader_token_file`` or ``web.admin_token_file`` (or
their environment variables, ``uptime.web.tokens.finance_tokens``). A request without an
``Authorization`` header gets everything else (the status page, availability, states and
maintenance are public); one with a header that carries neither token gets a 401, so that a
mistyped token fails loudly instead of silently losing the figures. No HTTP route writes finance
data: exclusions, windows, claim marks and closes are recorded from the command line only.
"""

from __future__ import annotations

from aiohttp import web

from uptime.web.responses import ApiError
from uptime.web.tokens import matching

FINANCE_TOKENS = web.AppKey("finance_tokens", dict)

#: What a response without the finance figures says in their place.
WITHHELD = (
    "credit and claim deadlines withheld: send 'Authorization: Bearer <token>' with the "
    "reader's or the admin's token (web.reader_token_file) to read them"
)

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
    token = bearer_token(request)
    if token is not None and matching(token, request.app[FINANCE_TOKENS]) is not None:
        return True
    raise ApiError(
        401,
        "wrong bearer token: finance figures need the reader's or the admin's token "
        "(web.reader_token_file); send no Authorization header for the public figures",
        CHALLENGE,
    )
