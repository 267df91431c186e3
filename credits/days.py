"""A vendor's month day by day: what the status page's daily bars show.

Each day is a calendar day on the vendor's wall clock, so it is 23 or 25 hours long on a DST
change day. Its figures are the month's, cut at the day's edges: the down time of every
interruption part inside the day sorted into the contract's buckets by the same windows and
exclusions (so the days of a month add up to the month), the maintenance window time reserved
inside it, the time no region could see, and the interruptions that touch it.

A day is *graded* by the down time that counts under the contract (``maintenance: counts``
counts M): a *major* outage from :data:`MAJOR` on, a *minor* one below it. A day with nothing
counted is *no data* when probing had not begun by its end, *unknown* when some of it could not
be seen, *maintenance* when a window was open in it or down time fell into one, *up* otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from credits.availability import Buckets, BucketSorter, days_in_month
from credits.intervals import ZERO, Interval, clip, length, ratio
from credits.month import VendorMonth

#: Counted down time from which a day is a major outage.
MAJOR = timedelta(hours=1)

Grade = Literal["major", "minor", "no_data", "unknown", "maintenance", "up"]


@dataclass(frozen=True)
class Day:
    """One local day of a vendor: ``period`` is the day as UTC, cut at ``now`` for today."""

    date: date
    period: Interval
    buckets: Buckets
    counted: timedelta  #: the down time that lowers availability
    maintenance: timedelta  #: maintenance window time inside ``period``, used or not
    unmonitored: timedelta  #: time no region could see and no interruption covered
    interruptions: int  #: interruptions touching the day
    probed: bool  #: probing had begun by the end of the day
    windows: tuple[Interval, ...] = ()  #: the maintenance windows inside the whole day

    def cut(self, now: datetime) -> Day:
        """The day as known at ``now``: its period ends there and only window time before it
        is maintenance (unchanged when the day ended by then). Its down time and blind time
        are the month's, already read up to when it was computed."""
        if self.period.end <= now:
            return self
        period = Interval(self.period.start, now)
        return replace(self, period=period, maintenance=length(clip(self.windows, period)))

    @property
    def grade(self) -> Grade:
        """The day's grade (see the module's docstring)."""
        if self.counted >= MAJOR:
            return "major"
        if self.counted > ZERO:
            return "minor"
        if not self.probed:
            return "no_data"
        if self.unmonitored > ZERO:
            return "unknown"
        if self.maintenance > ZERO or self.buckets.scheduled > ZERO:
            return "maintenance"
        return "up"

    @property
    def availability_pct(self) -> Fraction | None:
        """The share of the day (as long as its wall clock made it) not counted as down, in
        percent; None for a day with no data."""
        if not self.probed and self.counted == ZERO:
            return None
        if not self.period:
            return Fraction(100)
        return ratio(self.period.duration - self.counted, self.period.duration) * 100


def local_day(day: date, timezone: ZoneInfo) -> Interval:
    """``day`` from midnight to the next midnight on ``timezone``'s wall clock, as UTC."""
    return Interval(
        datetime(day.year, day.month, day.day, tzinfo=timezone),
        datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone),
    )


def probing_began(first_results: Mapping[str, Mapping[str, datetime]]) -> datetime | None:
    """When probing of the vendor began: the earliest first result of any monitor's region
    (None when nothing was ever probed)."""
    return min((at for regions in first_results.values() for at in regions.values()), default=None)


def month_days(month: VendorMonth, began: datetime | None, now: datetime) -> list[Day]:
    """Each day of ``month`` that has started by ``now``, in order; probing ``began`` then
    (:func:`probing_began`)."""
    a, vendor = month.availability, month.vendor
    sorter = BucketSorter(month.windows, vendor.calendar.exclusions)
    windows = [w.interval for w in month.windows]
    first = a.period.start.astimezone(vendor.timezone).date()
    days = []
    for offset in range(days_in_month(first.year, first.month)):
        day = first + timedelta(days=offset)
        whole = local_day(day, vendor.timezone)
        if whole.start >= now:
            break
        period = Interval(whole.start, min(whole.end, now))
        inside = tuple(clip(windows, whole))
        touching = [p for p in a.parts if p.interval.overlaps(period)]
        buckets = Buckets.add_up(
            sorter.sort(
                Interval(max(p.interval.start, period.start), min(p.interval.end, period.end))
            )
            for p in touching
        )
        days.append(
            Day(
                date=day,
                period=period,
                buckets=buckets,
                counted=buckets.counted(a.maintenance),
                maintenance=length(clip(inside, period)),
                unmonitored=length(clip(a.blind, period)),
                interruptions=len(touching),
                probed=began is not None and began < period.end,
                windows=inside,
            )
        )
    return days
