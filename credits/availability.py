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

Windows are reservations: only the down time observed inside them is M or E. For recurring
windows that is the contract's word ("maintenance periods are only used as required"); for
announced windows it is the default reading (``announced_windows: observed``): ClassSwift
counts the minutes "the customer cannot access the SaaS" and asks a claim for "an estimate of
the amount of actual Downtime", while a notification only says when ViewSonic "intends" to make
it unavailable. ``announced_windows: declared`` is for a contract that counts the announcement
itself: a scheduled announced window is then M for its whole length under ``counts``, and an
emergency window E for its whole length under either policy, merged with any interruption it
overlaps (under ``excluded`` a scheduled window still removes whatever falls inside it).

A down second inside both a scheduled and an emergency window is scheduled. Operator exclusions
(force majeure, the district's own network) remove down seconds before classification and are
reported as ``excluded``. Under ``unmonitored: as_down`` the time no region could see is down
time like any other: it is sorted into the buckets by the windows, and it forms interruptions
(alone, or merged with the observed interruptions it touches), so it has full hours and a claim
deadline. Every length is an exact ``timedelta``; rounding happens only when a figure is
printed.
"""

from __future__ import annotations

import calendar as _calendar
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple
from zoneinfo import ZoneInfo

from credits.intervals import (
    DAY,
    MICROSECOND,
    ZERO,
    Interval,
    clip,
    difference,
    intersection,
    length,
    normalise,
    ratio,
)
from credits.model import Exclusion, Interruption, MaintenanceWindow, SlaPolicy, WindowKind
from credits.quorum import merge_interruptions


class Buckets(NamedTuple):
    """Down time sorted into the contract's buckets. (A named tuple: a month's report makes tens
    of thousands.)"""

    scheduled: timedelta = ZERO  #: M
    emergency: timedelta = ZERO  #: E
    downtime: timedelta = ZERO  #: D
    excluded: timedelta = ZERO  #: removed by an operator exclusion, never counted

    @staticmethod
    def add_up(many: Iterable[Buckets]) -> Buckets:
        """The buckets of many disjoint down intervals together."""
        scheduled = emergency = downtime = excluded = ZERO
        for b in many:
            scheduled += b.scheduled
            emergency += b.emergency
            downtime += b.downtime
            excluded += b.excluded
        return Buckets(scheduled, emergency, downtime, excluded)

    def counted(self, maintenance: str) -> timedelta:
        """The time that lowers availability: D + E, plus M when ``maintenance`` counts."""
        counted = self.downtime + self.emergency
        return counted + self.scheduled if maintenance == "counts" else counted


class InterruptionPart(NamedTuple):
    """An interruption's share of one month, sorted into the contract's buckets.

    ``unmonitored`` is how much of it no region could see (non-zero only under
    ``unmonitored: as_down``, where that time is counted as down). A named tuple: a month's
    report makes tens of thousands."""

    interruption: Interruption
    interval: Interval
    buckets: Buckets
    unmonitored: timedelta = ZERO


@dataclass(frozen=True)
class MonthAvailability:
    """One vendor's month with the availability the contract formula gives.

    ``buckets`` are the month's M, E, D and excluded time: the sum of its parts'."""

    period: Interval
    total: timedelta  #: T: days × 1,440 minutes
    buckets: Buckets
    unmonitored: timedelta  #: time no region could see and no interruption covered
    maintenance: str
    unmonitored_policy: str
    target_pct: Fraction
    parts: tuple[InterruptionPart, ...]
    #: where no region could see and no interruption was seen (``unmonitored`` is its length)
    blind: tuple[Interval, ...] = ()

    @property
    def counted(self) -> timedelta:
        """Un-availability: D + E, plus M when maintenance counts."""
        return self.buckets.counted(self.maintenance)

    @property
    def denominator(self) -> timedelta:
        """The T that A is a share of: T less the unmonitored time when the policy excludes it."""
        if self.unmonitored_policy == "exclude":
            return self.total - self.unmonitored
        return self.total

    @property
    def availability_pct(self) -> Fraction:
        """A = (T − M − D − E) / T × 100, exact. A month with nothing to measure is 100 %."""
        if self.denominator <= ZERO:
            return Fraction(100)
        return ratio(self.denominator - self.counted, self.denominator) * 100

    @property
    def allowance(self) -> timedelta:
        """The counted time the month may hold before A falls below the target:
        T × (1 − target), T being the denominator of A, to the microsecond below (counted time
        is whole microseconds, so it meets the target exactly when it is at most this)."""
        share = 1 - self.target_pct / 100
        return MICROSECOND * math.floor(share * (self.denominator // MICROSECOND))

    @property
    def allowance_left(self) -> timedelta:
        """The allowance less the counted time: negative once the target is missed (an
        allowance left of exactly zero still meets the target)."""
        return self.allowance - self.counted

    @property
    def met(self) -> bool:
        """True when A is at or above the target (exact comparison: exactly 95 % meets 95 %)."""
        return self.availability_pct >= self.target_pct


@functools.lru_cache(maxsize=4096)
def month_period(year: int, month: int, timezone: ZoneInfo) -> Interval:
    """The calendar month ``[1st 00:00, next 1st 00:00)`` in ``timezone``'s wall clock, as UTC."""
    # Kept: the pages and every scrape ask it for each vendor's months (7 µs each, 20 ms a
    # scrape of 1,000 vendors); an Interval is immutable, so one may be shared.
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Interval(
        datetime(year, month, 1, tzinfo=timezone),
        datetime(next_year, next_month, 1, tzinfo=timezone),
    )


def days_in_month(year: int, month: int) -> int:
    """Calendar days in the month (29 in a leap February)."""
    return _calendar.monthrange(year, month)[1]


class BucketSorter:
    """Sorts down time into the buckets by a month's windows and exclusions."""

    def __init__(self, windows: Sequence[MaintenanceWindow], exclusions: Iterable[Exclusion]):
        self.scheduled = normalise(w.interval for w in windows if w.kind is WindowKind.SCHEDULED)
        # Where a scheduled and an emergency window overlap, the time is scheduled.
        self.emergency = difference(
            (w.interval for w in windows if w.kind is WindowKind.EMERGENCY), self.scheduled
        )
        self.excluded = normalise(Interval(e.start, e.end) for e in exclusions)

    def sort(self, down: Interval) -> Buckets:
        """Excluded time first; of the rest, M inside a scheduled window, E inside an emergency
        window, D everywhere else."""
        if not (self.scheduled or self.emergency or self.excluded):
            return Buckets(ZERO, ZERO, down.duration, ZERO)
        kept = difference([down], self.excluded)
        scheduled = length(intersection(kept, self.scheduled))
        emergency = length(intersection(kept, self.emergency))
        left = length(kept)
        return Buckets(
            scheduled=scheduled,
            emergency=emergency,
            downtime=left - scheduled - emergency,
            excluded=down.duration - left,
        )


def excluded_by(exclusion: Exclusion, parts: Iterable[InterruptionPart]) -> timedelta:
    """How much down time of the month ``exclusion`` removed: its overlap with the
    interruptions' parts. Where two exclusions overlap, each reports the time it covers (the
    month's ``excluded`` bucket counts that time once)."""
    return length(
        intersection([Interval(exclusion.start, exclusion.end)], [p.interval for p in parts])
    )


def declared_windows(windows: Iterable[MaintenanceWindow], policy: SlaPolicy) -> list[Interruption]:
    """Under ``announced_windows: declared``, the announced windows that count in full, as
    interruptions with no areas or regions: emergency windows, and scheduled ones when
    maintenance counts. None under ``observed``."""
    if policy.announced_windows != "declared":
        return []
    return [
        Interruption(w.interval, (), ())
        for w in windows
        if w.source == "announced"
        and (w.kind is WindowKind.EMERGENCY or policy.maintenance == "counts")
    ]


def with_blind_time(seen: list[Interruption], blind: list[Interval]) -> list[Interruption]:
    """Under ``unmonitored: as_down``: the interruptions with the blind spans added as down time,
    each merged with the interruptions it touches or standing alone (no areas, no regions)."""
    return merge_interruptions([*seen, *(Interruption(span, (), ()) for span in blind)])


def month_parts(
    incidents: Iterable[Interruption],
    period: Interval,
    sorter: BucketSorter,
    blind: list[Interval],
) -> tuple[InterruptionPart, ...]:
    """Each incident's part inside ``period``, sorted into buckets, with how much of it is
    ``blind`` time (blind time counted as down)."""
    parts = []
    for incident in incidents:
        whole = incident.interval
        if whole.end <= period.start or whole.start >= period.end:
            continue
        inside = Interval(max(whole.start, period.start), min(whole.end, period.end))
        unseen = length(intersection(blind, [inside])) if blind else ZERO
        parts.append(InterruptionPart(incident, inside, sorter.sort(inside), unseen))
    return tuple(parts)


def month_availability(
    month: date,
    timezone: ZoneInfo,
    interruptions: Sequence[Interruption],
    windows: Iterable[MaintenanceWindow],
    policy: SlaPolicy,
    exclusions: Iterable[Exclusion] = (),
    unmonitored: Iterable[Interval] = (),
) -> MonthAvailability:
    """Sort every down second of the vendor's month into the contract's buckets and total them.

    ``month`` is any date in the month; the month's boundaries are taken in ``timezone``.
    ``unmonitored`` is where no region could see the vendor. The steps:

    1. the interruptions seen, with the announced windows that count in full (only under
       ``announced_windows: declared``), overlapping or touching ones merged;
    2. the blind time: unmonitored and inside no interruption (under ``as_down``, it is added
       to the interruptions as down time);
    3. each interruption's part inside the month (one crossing the month's edge is cut there),
       sorted into M, E, D and excluded by the windows and exclusions;
    4. the month's buckets: the sum of its parts'.
    """
    period = month_period(month.year, month.month, timezone)
    windows = list(windows)
    seen = merge_interruptions([*interruptions, *declared_windows(windows, policy)])
    blind = difference(unmonitored, (i.interval for i in seen))
    as_down = policy.unmonitored == "as_down"
    incidents = with_blind_time(seen, blind) if as_down else seen
    sorter = BucketSorter(windows, exclusions)
    blind_in_month = difference(clip(blind, period), sorter.excluded)
    parts = month_parts(incidents, period, sorter, blind_in_month if as_down else [])
    return MonthAvailability(
        period=period,
        total=days_in_month(month.year, month.month) * DAY,
        buckets=Buckets.add_up(part.buckets for part in parts),
        unmonitored=length(blind_in_month),
        maintenance=policy.maintenance,
        unmonitored_policy=policy.unmonitored,
        target_pct=Fraction(policy.target_pct),
        parts=parts,
        blind=tuple(blind_in_month),
    )
