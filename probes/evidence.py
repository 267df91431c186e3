"""Short, human evidence for a failed probe (what the status page and the claim letter quote)."""

from __future__ import annotations

import errno
import os

MESSAGE_MAX = 200

_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


def short(text: str) -> str:
    """Clip evidence to MESSAGE_MAX characters."""
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def timed_out(seconds: float) -> str:
    """The evidence of a probe that hit its time limit."""
    return f"timed out after {seconds:g}s"


def os_message(err: OSError) -> str:
    """'connection refused' rather than "[Errno 111] Connect call failed ('10.0.0.1', 443)"."""
    if err.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[err.errno]
    if err.errno:
        return os.strerror(err.errno).lower()
    return str(err) or type(err).__name__
