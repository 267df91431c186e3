"""Half-open UTC time intervals, the set algebra the contract engine is built on, and lengths.

An ``Interval`` is ``[start, end)``: it contains ``start`` and not ``end``, so two windows that
touch (one ends at 06:00, the next starts at 06:00) neither overlap nor leave a gap. Every
datetime is timezone-aware and normalised to UTC on construction. Lists of intervals passed
between functions here are *normalised*: sorted, non-empty, disjoint and not touching.

Every length of time in the engine is a ``datetime.timedelta``: exact (whole microseconds,
datetime's resolution), added, subtracted and compared without rounding. :func:`ratio` is the
one place a length becomes a number (minutes, hours, a share of the month), exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from operator import itemgetter

ZERO = timedelta(0)
MICROSECOND = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

#: The span of time the engine works in: instants from ``EARLIEST`` up to (not including)
#: ``LATEST``. Periods are widened by days on either side, read in every time zone and followed
#: by claim deadlines and windows of up to ten years, all of which must stay inside what
#: ``datetime`` can represent (years 1 to 9999); nothing was monitored before 1970.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9900, 1, 1, tzinfo=UTC)
#: The same in words, for error messages.
IN_RANGE = f"a time from {EARLIEST:%Y-%m-%d} to {LATEST - MICROSECOND:%Y-%m-%d} UTC"

#: What an instant read from a user looks like, for error messages.
INSTANT_FORMS = "an ISO 8601 date and time with a UTC offset, e.g. 2026-12-03T22:00:00-05:00"

__all__ = [
    "DAY",
    "EARLIEST",
    "HOUR",
    "INSTANT_FORMS",
    "IN_RANGE",
    "LATEST",
    "MICROSECOND",
    "MINUTE",
    "ZERO",
    "InstantError",
    "Interval",
    "clip",
    "difference",
    "intersection",
    "length",
    "normalise",
    "parse_instant",
    "ratio",
    "union",
]


class InstantError(ValueError):
    """Why a text is not an instant the engine accepts: ``problem`` (``"is not an ISO 8601
    time"``, ``"has no UTC offset"``, ``"is out of range"``) and what was ``expected``."""

    def __init__(self, problem: str, expected: str) -> None:
        super().__init__(f"{problem}; expected {expected}")
        self.problem = problem
        self.expected = expected


def check_in_range(instant: datetime) -> datetime:
    """``instant`` itself, if it is aware and inside the engine's span; else ``InstantError``."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InstantError("has no UTC offset", INSTANT_FORMS)
    if not EARLIEST <= instant < LATEST:
        raise InstantError("is out of range", IN_RANGE)
    return instant


def parse_instant(text: str) -> datetime:
    """The one reader of instants from users and agents (configuration, CSV, the wire format):
    ISO 8601 with a UTC offset, inside ``EARLIEST``..``LATEST``; else ``InstantError``."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InstantError("is not an ISO 8601 time", INSTANT_FORMS) from None
    return check_in_range(instant)


class Interval(tuple[datetime, datetime]):
    """A half-open ``[start, end)`` span of UTC time; ``start <= end``.

    Immutable, hashable and ordered by ``(start, end)``. It is a tuple underneath because the
    engine makes hundreds of thousands of them for a month's report and a tuple is the
    cheapest immutable value Python builds."""

    __slots__ = ()

    def __new__(cls, start: datetime, end: datetime) -> Interval:
        # Normalise to UTC so equality and ordering never depend on the offset a caller used.
        if start.tzinfo is not UTC:
            start = _as_utc(start)
        if end.tzinfo is not UTC:
            end = _as_utc(end)
        if end < start:
            raise ValueError(f"Interval ends before it starts: {start} > {end}")
        return tuple.__new__(cls, (start, end))

    start = property(itemgetter(0), doc="The first instant of the interval (UTC).")
    end = property(itemgetter(1), doc="The first instant after the interval (UTC).")

    def __repr__(self) -> str:
        return f"Interval({self[0].isoformat()}, {self[1].isoformat()})"

    def __getnewargs__(self) -> tuple[datetime, datetime]:
        return self[0], self[1]

    @property
    def duration(self) -> timedelta:
        """The length of the interval."""
        return self[1] - self[0]

    def __bool__(self) -> bool:
        return self.end > self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two intervals share at least an instant (an empty one shares none)."""
        return max(self.start, other.start) < min(self.end, other.end)


def _as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"Interval needs timezone-aware datetimes, got {instant}")
    return instant.astimezone(UTC)


def normalise(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort, drop empty intervals and merge overlapping or touching ones.

    The result is the canonical form of the set of instants the input covers; normalising twice
    gives the same list (merging is idempotent).
    """
    if isinstance(intervals, list | tuple) and len(intervals) <= 1:
        return [i for i in intervals if i[1] > i[0]]
    ordered = sorted(i for i in intervals if i[1] > i[0])
    merged: list[Interval] = []
    for interval in ordered:
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def union(*groups: Iterable[Interval]) -> list[Interval]:
    """Every instant covered by any interval of any group, normalised."""
    return normalise(i for group in groups for i in group)


def intersection(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Instants covered by both ``a`` and ``b``, normalised (linear merge of the two lists)."""
    left, right = normalise(a), normalise(b)
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i].start, right[j].start)
        end = min(left[i].end, right[j].end)
        if start < end:
            result.append(Interval(start, end))
        if left[i].end <= right[j].end:
            i += 1
        else:
            j += 1
    return result


def difference(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Instants covered by ``a`` and not by ``b``, normalised."""
    remove = normalise(b)
    result: list[Interval] = []
    j = 0
    for interval in normalise(a):
        start = interval.start
        while j < len(remove) and remove[j].end <= start:
            j += 1
        k = j
        while k < len(remove) and remove[k].start < interval.end:
            if remove[k].start > start:
                result.append(Interval(start, remove[k].start))
            start = max(start, remove[k].end)
            if remove[k].end > interval.end:
                break
            k += 1
        if start < interval.end:
            result.append(Interval(start, interval.end))
    return result


def clip(intervals: Iterable[Interval], period: Interval) -> list[Interval]:
    """The parts of ``intervals`` that fall inside ``period``, normalised."""
    return intersection(intervals, [period])


def length(intervals: Iterable[Interval]) -> timedelta:
    """How much time ``intervals`` cover together (overlaps counted once)."""
    return sum((i[1] - i[0] for i in normalise(intervals)), ZERO)


def ratio(duration: timedelta, unit: timedelta) -> Fraction:
    """``duration`` measured in ``unit``, exactly: ``ratio(d, MINUTE)`` is d in minutes,
    ``ratio(part, whole)`` the share of ``whole`` that ``part`` is."""
    return Fraction(duration // MICROSECOND, unit // MICROSECOND)
