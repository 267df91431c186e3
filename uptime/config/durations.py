"""Durations as written in the files: `90s`, `5m`, `4h`, `2d`, `1w`, `5 business days`."""

from __future__ import annotations

import re
from datetime import timedelta

from credits.model import (
    Span,
)
from uptime.config.errors import _show

# --------------------------------------------------------------------------------------------
# Durations

# No contract or probe needs a span longer than ten years; longer ones could carry a deadline
# or a window past what the engine computes (credits.intervals.LATEST).
_LONGEST = timedelta(days=3660)
_MOST_BUSINESS_DAYS = 2610

DURATION_FORMS = (
    "an integer with a unit: 90s, 5m, 4h, 2d, 1w, or N business days (at most 10 years)"
)
PLAIN_DURATION_FORMS = "a positive integer with a unit: 90s, 5m, 4h, 2d or 1w (at most 10 years)"

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_DELTA_RE = re.compile(r"([0-9]+)\s*([smhdw])", re.ASCII)
_BUSINESS_RE = re.compile(r"([0-9]+)\s+business\s+days?", re.ASCII | re.IGNORECASE)


def _span_or_none(value: object) -> Span | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if match := _DELTA_RE.fullmatch(text):
            delta = int(match[1]) * _UNITS[match[2]]
            return Span(text=text, delta=delta) if delta <= _LONGEST else None
        if match := _BUSINESS_RE.fullmatch(text):
            days = int(match[1])
            return Span(text=text, business_days=days) if days <= _MOST_BUSINESS_DAYS else None
    except OverflowError:
        return None
    return None


def parse_duration(text: str) -> Span:
    """Parse ``90s``, ``5m``, ``4h``, ``2d``, ``1w`` or ``N business day(s)`` into a ``Span``.

    Whole numbers only. Anything else raises ``ValueError`` listing the accepted forms.
    """
    span = _span_or_none(text)
    if span is None:
        raise ValueError(f"got {_show(text)}; expected {DURATION_FORMS}")
    return span


def format_duration(delta: timedelta) -> str:
    """Write a timedelta in the files' notation, in the largest exact unit (``4h``, ``90s``)."""
    seconds = int(delta.total_seconds())
    if seconds != delta.total_seconds():
        return str(delta)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
