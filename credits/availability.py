"""Monthly availability as the contract defines it: A = (T − M − D − E) / T × 100.

* T — total contract minutes: days in the month × 1,440, whatever DST does to the wall clock
  (ClassSwift SLA §2 "Total Monthly Minutes"). Under ``unmonitored: exclude`` the minutes no
  region could see leave T.
* M — down minutes inside an applicable *scheduled* window (recurring, or announced with enough
  notice). Subtracted only under ``maintenance: counts`` (ClassSwift §4.2 "includes Scheduled,
  Regular and Emergency Maintenance as part of Downtime"); under ``excluded`` they are reported
  but not counted (Class Collaborate's announced windows).
* E — down minutes inside an *emergency* window (announced with too little notice). Always count.
* D — every other down minute, including overruns past a window's end.

Recurring windows are reservations ("maintenance periods are only used as required"): only the
down seconds observed inside them are M. An *announced* window is the vendor declaring the
service unavailable for that time (ClassSwift §2 "Maintenance Notifications": the time
"ViewSonic intends to make the SaaS un-available"), so it counts in full: under ``counts`` a
scheduled announced window is M for its whole length, and an emergency window is E for its whole
length under either policy, merged with any interruption it overlaps. Under ``excluded`` a
scheduled window removes whatever falls inside it, so only what overruns it counts.

A down second inside both a scheduled and an emergency window is scheduled. Operator exclusions
(force majeure, the district's own network) remove down seconds before classification and are
reported as ``excluded``. Everything is counted in exact seconds (``Fraction``); rounding
happens only when a figure is printed.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from credits.intervals import Interval, clip, difference, intersection, normalise, total_micros
from credits.model import Exclusion, Interruption, MaintenanceWindow, SlaPolicy, WindowKind
from credits.quorum import merge_interruptions

SECONDS_PER_DAY = 86_400


MICROS = 1_000_000


def _seconds(micros: int) -> Fraction:
    return Fraction(micros, MICROS)


def counted_us(scheduled_us: int, emergency_us: int, downtime_us: int, maintenance: str) -> int:
    """The microseconds that lower availability: D + E, plus M when ``maintenance`` counts."""
    return downtime_us + emergency_us + (scheduled_us if maintenance == "counts" else 0)


class InterruptionPart(NamedTuple):
    """An interruption's share of one month, split into the contract's buckets.

    Buckets are kept in exact integer microseconds (``*_us``); the properties without the
    suffix give them as exact seconds. A named tuple: a month's report makes tens of thousands.
    """

    interruption: Interruption
    interval: Interval
    scheduled_us: int
    emergency_us: int
    downtime_us: int
    excluded_us: int

    excluded = property(lambda self: _seconds(self.excluded_us), doc="excluded seconds")

    def counted_us(self, maintenance: str) -> int:
        """Microseconds that lower availability under the ``maintenance`` policy."""
        return counted_us(self.scheduled_us, self.emergency_us, self.downtime_us, maintenance)

    def counted(self, maintenance: str) -> Fraction:
        """Seconds that lower availability under the ``maintenance`` policy."""
        return _seconds(self.counted_us(maintenance))


@dataclass(frozen=True)
class MonthAvailability:
    """One vendor's month with the availability the contract formula gives.

    Buckets are exact integer microseconds (``*_us``); the properties without the suffix give
    exact seconds."""

    period: Interval
    days: int
    scheduled_us: int
    downtime_us: int
    emergency_us: int
    excluded_us: int
    unmonitored_us: int
    maintenance: str
    target_pct: Fraction
    parts: tuple[InterruptionPart, ...]
    unmonitored_policy: str = "as_up"

    @property
    def total_us(self) -> int:
        """T: days × 1,440 minutes, in microseconds."""
        return self.days * SECONDS_PER_DAY * MICROS

    @property
    def denominator_us(self) -> int:
        """T less the unmonitored time when the policy excludes it."""
        if self.unmonitored_policy == "exclude":
            return self.total_us - self.unmonitored_us
        return self.total_us

    @property
    def counted_us(self) -> int:
        """Un-availability: D + E, plus M when maintenance counts."""
        return counted_us(self.scheduled_us, self.emergency_us, self.downtime_us, self.maintenance)

    total = property(lambda self: _seconds(self.total_us), doc="T seconds")
    scheduled = property(lambda self: _seconds(self.scheduled_us), doc="M seconds")
    downtime = property(lambda self: _seconds(self.downtime_us), doc="D seconds")
    emergency = property(lambda self: _seconds(self.emergency_us), doc="E seconds")
    excluded = property(lambda self: _seconds(self.excluded_us), doc="excluded seconds")
    unmonitored = property(lambda self: _seconds(self.unmonitored_us), doc="blind seconds")
    denominator = property(lambda self: _seconds(self.denominator_us), doc="T used for A")
    counted = property(lambda self: _seconds(self.counted_us), doc="M (if counted) + D + E")

    @property
    def availability_pct(self) -> Fraction:
        """A = (T − M − D − E) / T × 100, exact. A month with nothing to measure is 100 %."""
        denominator = self.denominator_us
        if denominator <= 0:
            return Fraction(100)
        return Fraction((denominator - self.counted_us) * 100, denominator)

    @property
    def met(self) -> bool:
        """True when A is at or above the target (exact comparison: exactly 95 % meets 95 %)."""
        return self.availability_pct >= self.target_pct


def month_period(year: int, month: int, timezone: ZoneInfo) -> Interval:
    """The calendar month ``[1st 00:00, next 1st 00:00)`` in ``timezone``'s wall clock, as UTC."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Interval(
        datetime(year, month, 1, tzinfo=timezone),
        datetime(next_year, next_month, 1, tzinfo=timezone),
    )


def days_in_month(year: int, month: int) -> int:
    """Calendar days in the month (29 in a leap February)."""
    return _calendar.monthrange(year, month)[1]


def month_availability(
    month: date,
    timezone: ZoneInfo,
    interruptions: Sequence[Interruption],
    windows: Iterable[MaintenanceWindow],
    policy: SlaPolicy,
    exclusions: Iterable[Exclusion] = (),
    unmonitored: Iterable[Interval] = (),
) -> MonthAvailability:
    """Classify every down second of the vendor's month and total the contract's buckets.

    ``month`` is any date in the month; the month's boundaries are taken in ``timezone``.
    Announced windows that count in full (see the module docstring) are merged into the
    interruptions they overlap, or become interruptions of their own with no areas or regions.
    Interruptions that cross a month boundary are split at it: only their share inside this
    month is counted here. Under ``unmonitored: as_down`` the blind seconds count as downtime
    (classified by the windows like any down second); otherwise they are only reported.
    """
    period = month_period(month.year, month.month, timezone)
    days = days_in_month(month.year, month.month)
    window_list = list(windows)
    scheduled_windows = normalise(w.interval for w in window_list if w.kind is WindowKind.SCHEDULED)
    emergency_windows = difference(
        (w.interval for w in window_list if w.kind is WindowKind.EMERGENCY), scheduled_windows
    )
    excluded_spans = normalise(Interval(e.start, e.end) for e in exclusions)

    def classify(down: list[Interval]) -> tuple[int, int, int, int]:
        # ``down`` is normalised.
        if not window_list and not excluded_spans:
            return 0, 0, sum(i.micros for i in down), 0
        counted = difference(down, excluded_spans)
        scheduled = intersection(counted, scheduled_windows)
        emergency = intersection(counted, emergency_windows)
        downtime = difference(difference(counted, scheduled_windows), emergency_windows)
        return (
            total_micros(scheduled),
            total_micros(emergency),
            total_micros(downtime),
            total_micros(down) - total_micros(counted),
        )

    declared = [
        Interruption(w.interval, (), ())
        for w in window_list
        if w.source == "announced"
        and (w.kind is WindowKind.EMERGENCY or policy.maintenance == "counts")
    ]
    if declared:
        interruptions = merge_interruptions([*interruptions, *declared])
    parts: list[InterruptionPart] = []
    down: list[Interval] = []
    for interruption in interruptions:
        whole = interruption.interval
        if whole.end <= period.start or whole.start >= period.end:
            continue
        if whole.start < period.start or whole.end > period.end:
            whole = Interval(max(whole.start, period.start), min(whole.end, period.end))
        parts.append(InterruptionPart(interruption, whole, *classify([whole])))
        down.append(whole)
    # The buckets add up over disjoint intervals, so the month is the sum of its parts unless
    # a caller passed overlapping interruptions.
    if any(a.end >= b.start for a, b in pairwise(down)):
        down = normalise(down)
        buckets = list(classify(down))
    else:
        buckets = [
            sum(p.scheduled_us for p in parts),
            sum(p.emergency_us for p in parts),
            sum(p.downtime_us for p in parts),
            sum(p.excluded_us for p in parts),
        ]

    blind = difference(clip(unmonitored, period), down)
    blind_us = total_micros(difference(blind, excluded_spans))
    if policy.unmonitored == "as_down":
        buckets = [a + b for a, b in zip(buckets, classify(blind), strict=True)]
    scheduled, emergency, downtime, excluded = buckets
    return MonthAvailability(
        period=period,
        days=days,
        scheduled_us=scheduled,
        downtime_us=downtime,
        emergency_us=emergency,
        excluded_us=excluded,
        unmonitored_us=blind_us,
        maintenance=policy.maintenance,
        target_pct=Fraction(policy.target_pct),
        parts=tuple(parts),
        unmonitored_policy=policy.unmonitored,
    )
