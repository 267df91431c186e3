"""The agent → collector wire format: ``POST /api/v1/results`` bodies, encoded and checked.

A body is ``{"agent": "chicago-3f2a9c1b7d4e", "region": "chicago", "first_seq": 41,
"results": [{...}, ...], "spool_dropped": 0}``; the results carry the sequence numbers
``first_seq``, ``first_seq + 1``, ... in list order. ``spool_dropped`` (optional, 0 when
absent) counts the results the agent probed but could not spool because its spool was full
(``agent --spool-max``), since the spool was made. Decoding checks every field and raises
:class:`WireError` with a message naming the field, never anything else, so the collector can
answer 4xx.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credits.intervals import InstantError, parse_instant
from probes.evidence import short
from probes.result import FailureClass, ProbeResult

#: Where agents POST their batches on the collector.
RESULTS_PATH = "/api/v1/results"

#: The most results one POST may carry (the agent sends fewer).
MAX_RESULTS = 20_000

#: The largest body the collector reads: MAX_RESULTS results of 1 KiB each (a result is about
#: 250 bytes; one with the longest message, all of it escaped, about 2.5 KiB, and the agent
#: sends at most 5,000 per POST). The collector answers 413 to a longer one.
MAX_BODY = MAX_RESULTS * 1024

#: The longest integer a body may spell (a sequence number is at most 19 digits): a longer one
#: is refused as out of range before Python converts it (which costs time quadratic in digits).
MAX_DIGITS = 20

#: The longest latency a result may carry, in seconds: a probe ends at its timeout, which is
#: far shorter; a larger figure would only poison the latency sums.
MAX_LATENCY = 86_400

#: The largest sequence number: results are stored with theirs in an SQLite INTEGER (64 bits).
MAX_SEQ = 2**63 - 1

_AGENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)
_FAILURES = {f.value: f for f in FailureClass}


class WireError(ValueError):
    """A malformed body; the message says which field and what was expected."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One decoded POST body."""

    agent: str
    region: str
    first_seq: int
    results: tuple[ProbeResult, ...]
    #: results the agent probed but could not spool (its spool was full), since it began
    spool_dropped: int = 0


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def encode_result(result: ProbeResult) -> dict[str, Any]:
    """A result as a JSON-ready dict (the region travels once, in the batch)."""
    return {
        "vendor": result.vendor,
        "monitor": result.monitor,
        "at": result.at.isoformat(),
        "ok": result.ok,
        "latency": result.latency,
        "status": result.status,
        "error": result.error.value if result.error else None,
        "message": result.message,
        "degraded": result.degraded,
        "cert_expires_at": _time(result.cert_expires_at),
    }


def _field(item: dict[str, Any], key: str, where: str, kinds: type | tuple[type, ...]) -> Any:
    if key not in item:
        raise WireError(f"{where}.{key}: missing")
    value = item[key]
    # bool is an int in Python; JSON true is never a number here.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        raise WireError(f"{where}.{key}: got {type(value).__name__}; expected {_names(kinds)}")
    return value


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _names(kinds: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "integer", float: "number", bool: "true/false", list: "a list"}
    return " or ".join(names.get(k, "null") for k in _tuple(kinds))


def _instant(text: str | None, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except InstantError as error:
        raise WireError(f"{where}: {text[:40]!r} {error}") from None


def decode_result(item: object, region: str, where: str) -> ProbeResult:
    """One result of a batch; ``region`` is the batch's."""
    if not isinstance(item, dict):
        raise WireError(f"{where}: expected an object")
    latency = _field(item, "latency", where, (int, float))
    if not (math.isfinite(latency) and 0 <= latency <= MAX_LATENCY):
        raise WireError(
            f"{where}.latency: expected a number of seconds from 0 to {MAX_LATENCY:,} "
            "(a probe ends at its timeout)"
        )
    status = item.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise WireError(f"{where}.status: expected null or an HTTP status from 100 to 599")
    error = item.get("error")
    if error is not None and (not isinstance(error, str) or error not in _FAILURES):
        raise WireError(f"{where}.error: expected null or one of {', '.join(_FAILURES)}")
    message = item.get("message")
    if message is not None and not isinstance(message, str):
        raise WireError(f"{where}.message: expected null or text")
    degraded = item.get("degraded", False)
    if not isinstance(degraded, bool):
        raise WireError(f"{where}.degraded: expected true/false")
    cert = item.get("cert_expires_at")
    if cert is not None and not isinstance(cert, str):
        raise WireError(f"{where}.cert_expires_at: expected null or an ISO 8601 time")
    at = _instant(_field(item, "at", where, str), f"{where}.at")
    assert at is not None
    return ProbeResult(
        vendor=_field(item, "vendor", where, str),
        monitor=_field(item, "monitor", where, str),
        region=region,
        at=at,
        ok=_field(item, "ok", where, bool),
        latency=float(latency),
        status=status,
        error=_FAILURES[error] if error is not None else None,
        message=short(message) if message else None,
        degraded=degraded,
        cert_expires_at=_instant(cert, f"{where}.cert_expires_at"),
    )


def parse_int(text: str) -> int:
    """``json.loads``'s ``parse_int``: an integer of at most :data:`MAX_DIGITS` digits."""
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise WireError(
            f"body: a number of {len(text.lstrip('-'))} digits is out of range; expected at most "
            f"{MAX_DIGITS}"
        )
    return int(text)


def decode_batch(payload: object) -> Batch:
    """Check a parsed JSON body and turn it into a :class:`Batch`."""
    if not isinstance(payload, dict):
        raise WireError("body: expected a JSON object with agent, region, first_seq, results")
    agent = _field(payload, "agent", "body", str)
    if not _AGENT_RE.fullmatch(agent):
        raise WireError("body.agent: expected 1-100 letters, digits, '.', '_' or '-'")
    region = _field(payload, "region", "body", str)
    first_seq = _field(payload, "first_seq", "body", int)
    items = _field(payload, "results", "body", list)
    if len(items) > MAX_RESULTS:
        raise WireError(f"body.results: {len(items)} results; expected at most {MAX_RESULTS}")
    last_first = MAX_SEQ - max(len(items) - 1, 0)
    if not 1 <= first_seq <= last_first:
        raise WireError(
            f"body.first_seq: expected a whole number of at least 1 and at most {last_first} "
            f"(the last result's number may be at most {MAX_SEQ})"
        )
    dropped = payload.get("spool_dropped", 0)
    if isinstance(dropped, bool) or not isinstance(dropped, int) or not 0 <= dropped <= MAX_SEQ:
        raise WireError(f"body.spool_dropped: expected a whole number from 0 to {MAX_SEQ}")
    results = tuple(
        decode_result(item, region, f"body.results[{i}]") for i, item in enumerate(items)
    )
    return Batch(
        agent=agent, region=region, first_seq=first_seq, results=results, spool_dropped=dropped
    )
