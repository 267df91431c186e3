"""Half-open UTC time intervals and the set algebra the contract engine is built on.

An ``Interval`` is ``[start, end)``: it contains ``start`` and not ``end``, so two windows that
touch (one ends at 06:00, the next starts at 06:00) neither overlap nor leave a gap. Every
datetime is timezone-aware and normalised to UTC on construction. Lists of intervals passed
between functions here are *normalised*: sorted, non-empty, disjoint and not touching.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

MICROSECOND = timedelta(microseconds=1)

__all__ = [
    "Interval",
    "clip",
    "difference",
    "intersection",
    "normalise",
    "total_seconds",
    "union",
]


@dataclass(frozen=True, order=True, slots=True)
class Interval:
    """A half-open ``[start, end)`` span of UTC time; ``start <= end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval needs timezone-aware datetimes")
        # Normalise to UTC so equality and ordering never depend on the offset a caller used.
        if self.start.utcoffset() != timedelta(0) or self.start.tzinfo is not UTC:
            object.__setattr__(self, "start", self.start.astimezone(UTC))
        if self.end.utcoffset() != timedelta(0) or self.end.tzinfo is not UTC:
            object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end < self.start:
            raise ValueError(f"Interval ends before it starts: {self.start} > {self.end}")

    @property
    def duration(self) -> timedelta:
        """The length of the interval."""
        return self.end - self.start

    @property
    def micros(self) -> int:
        """The exact length in microseconds (datetime's resolution)."""
        return (self.end - self.start) // MICROSECOND

    @property
    def seconds(self) -> Fraction:
        """The exact length in seconds (microseconds kept, no float rounding)."""
        return Fraction(self.micros, 1_000_000)

    def __bool__(self) -> bool:
        return self.end > self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two intervals share at least an instant (an empty one shares none)."""
        return max(self.start, other.start) < min(self.end, other.end)

    def contains(self, instant: datetime) -> bool:
        """True when ``instant`` lies in ``[start, end)``."""
        return self.start <= instant < self.end


def normalise(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort, drop empty intervals and merge overlapping or touching ones.

    The result is the canonical form of the set of instants the input covers; normalising twice
    gives the same list (merging is idempotent).
    """
    ordered = sorted((i for i in intervals if i.end > i.start), key=_bounds)
    merged: list[Interval] = []
    for interval in ordered:
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def _bounds(interval: Interval) -> tuple[datetime, datetime]:
    return interval.start, interval.end


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


def total_seconds(intervals: Iterable[Interval]) -> Fraction:
    """Exact number of seconds covered (overlaps counted once)."""
    return Fraction(sum(i.micros for i in normalise(intervals)), 1_000_000)
