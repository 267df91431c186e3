"""What the pages keep of a vendor-month (``Months`` keeps it for thousands of them): the
report's plain values, the allowance, the days and the regional advisories, the words of each
day's bar and of the month's interruptions (they do not change while the month is kept: a page
only makes again what moves with its ``now``), and for the vendor's own page what each region
saw; for the history, four figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import NamedTuple

from credits.advisories import Advisory, vendor_advisories
from credits.days import Day, month_days, probing_began
from credits.intervals import Interval, clip
from credits.model import MaintenanceWindow
from credits.month import Observations, VendorMonth, monitor_views
from reports.context import VendorContext, percent, vendor_context
from uptime.web.page_context import (
    DayBar,
    InterruptionRow,
    MonthFigures,
    Stretch,
    day_bar,
    month_figures,
    month_stretches,
    stretch_row,
)

#: monitor id → region → (down, unknown) inside the month
Seen = dict[str, dict[str, tuple[tuple[Interval, ...], tuple[Interval, ...]]]]


class PageMonth(NamedTuple):
    """One vendor-month as the status page and the vendor's page show it. ``days`` are every
    day of the month (a page cuts them at its ``now``), ``bars`` their bars uncut;
    ``interruptions`` the month's stretches, oldest first, each with its row in words; ``seen``
    only for the vendor's page."""

    context: VendorContext
    denominator: timedelta
    allowance: timedelta
    allowance_left: timedelta
    figures: MonthFigures  #: as the current month's (``month_figures(..., current=True)``)
    days: tuple[Day, ...]
    bars: tuple[DayBar, ...]
    interruptions: tuple[tuple[Stretch, InterruptionRow], ...]
    advisories: tuple[Advisory, ...]
    longest_advisory: timedelta
    windows: tuple[MaintenanceWindow, ...]
    began: datetime | None
    read_at: datetime  #: when ``observed`` was read: a stretch still open ends here
    seen: Seen | None


class HistoryMonth(NamedTuple):
    """A vendor-month on the history page; ``probed`` is false before probing began,
    ``began`` the vendor's day probing began when that was after the month's start."""

    availability_pct: float
    target_pct: float
    met: bool
    probed: bool
    began: date | None


def page_month(
    month: VendorMonth,
    observed: Observations,
    *,
    now: datetime,
    with_seen: bool,
    names: Mapping[str, str],
) -> PageMonth:
    """What a page keeps of ``month`` computed from ``observed`` read at ``now``; ``names``
    are the regions' names by id."""
    a, vendor = month.availability, month.vendor
    views = monitor_views(vendor, a.period, observed, now)
    began = probing_began(observed.first_results)
    seen: Seen | None = None
    if with_seen:
        seen = {
            monitor: {
                region: (tuple(clip(view.down, a.period)), tuple(clip(view.unknown, a.period)))
                for region, view in regions.items()
            }
            for monitor, regions in views.items()
        }
    context = vendor_context(month)
    advisories = tuple(vendor_advisories(vendor, views, a.period))
    days = tuple(month_days(month, began, a.period.end))
    return PageMonth(
        context=context,
        denominator=a.denominator,
        allowance=a.allowance,
        allowance_left=a.allowance_left,
        figures=month_figures(context, a.allowance, a.allowance_left, current=True),
        days=days,
        bars=tuple(day_bar(vendor, day) for day in days),
        interruptions=tuple(
            (s, stretch_row(s, vendor.timezone, names, now)) for s in month_stretches(a)
        ),
        advisories=advisories,
        longest_advisory=max((x.interval.duration for x in advisories), default=timedelta(0)),
        windows=month.windows,
        began=began,
        read_at=now,
        seen=seen,
    )


def history_month(month: VendorMonth, observed: Observations) -> HistoryMonth:
    """What the history page keeps of ``month``."""
    a = month.availability
    began = probing_began(observed.first_results)
    return HistoryMonth(
        availability_pct=percent(a.availability_pct),
        target_pct=percent(a.target_pct),
        met=a.met,
        probed=bool(a.parts) or (began is not None and began < a.period.end),
        began=began.astimezone(month.vendor.timezone).date()
        if began is not None and a.period.start < began < a.period.end
        else None,
    )
