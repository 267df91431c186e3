"""One vendor's month, end to end: region views → interruptions → availability → credit → claims.

This is the pipeline a report runs for every vendor; each step is a function of its own module,
and this module only strings them together. Data comes in as arguments (no I/O, no clock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from credits.availability import MonthAvailability, month_availability, month_period
from credits.calendar import vendor_windows
from credits.claims import claim_deadlines
from credits.credit import Credit, month_credit
from credits.intervals import Interval, difference
from credits.model import MaintenanceWindow, QuorumRule, SlaPolicy, VendorCalendar
from credits.quorum import (
    MonitorSpec,
    RegionView,
    combine_regions,
    vendor_interruptions,
    vendor_unmonitored,
)


class MonitorWithRegions(MonitorSpec, Protocol):
    @property
    def regions(self) -> tuple[str, ...]: ...


class VendorSpec(Protocol):
    """The parts of a vendor the ledger needs (``uptime.config.Vendor`` has them)."""

    id: str
    name: str
    timezone: ZoneInfo
    quorum: QuorumRule
    hosting: str | None
    monitors: Sequence[MonitorWithRegions]
    sla: SlaPolicy
    calendar: VendorCalendar


#: What was seen of one vendor: monitor id → region → intervals.
Seen = Mapping[str, Mapping[str, Sequence[Interval]]]


@dataclass(frozen=True)
class VendorMonth:
    """A vendor's month as the contract counts it, with the deadline to claim each interruption
    (``claim_deadlines[i]`` belongs to ``availability.parts[i]``)."""

    vendor: VendorSpec
    availability: MonthAvailability
    credit: Credit
    windows: tuple[MaintenanceWindow, ...]
    claim_deadlines: tuple[date, ...]


def blind_before_first_result(
    vendor: VendorSpec,
    first_seen: Mapping[tuple[str, str], datetime],
    period: Interval,
    observed_until: datetime,
) -> dict[str, dict[str, list[Interval]]]:
    """Where a probed monitor's region had not reported yet: unknown, not up.

    Probing of a monitor began with the first result any of its regions sent
    (``first_seen[(monitor, region)]`` is when that region's first result came). From then on,
    each of its regions is blind until its own first result, or, for a region that never
    reported, until ``observed_until`` (now). Without this, a site that was blind from the start
    would count as up and, under quorum ``all``, veto every outage the other sites saw. Before
    probing began nothing is blind: the time is what it was before anyone probed (imported
    history, or nothing seen), so a past month's figures never change because probing started
    later. Monitors nobody has probed (a vendor known only from imported history) get nothing.
    """
    end = min(period.end, observed_until)
    began: dict[str, datetime] = {}
    for (monitor, _), at in first_seen.items():
        if monitor not in began or at < began[monitor]:
            began[monitor] = at
    blind: dict[str, dict[str, list[Interval]]] = {}
    for monitor in vendor.monitors:
        if monitor.id not in began:
            continue
        start = max(period.start, began[monitor.id])
        for region in monitor.regions:
            first = first_seen.get((monitor.id, region))
            until = end if first is None else min(first, end)
            if until > start:
                blind.setdefault(monitor.id, {})[region] = [Interval(start, until)]
    return blind


def vendor_month(
    vendor: VendorSpec,
    year: int,
    month: int,
    down: Seen,
    unknown: Seen | None = None,
    vendor_wide_down: Mapping[str, Sequence[Interval]] | None = None,
    first_seen: Mapping[tuple[str, str], datetime] | None = None,
    observed_until: datetime | None = None,
) -> VendorMonth:
    """Compute ``vendor``'s calendar month ``year``-``month`` (in the vendor's time zone).

    ``down`` and ``unknown`` give, per monitor and region, where that region saw the monitor
    down or could not see it. ``vendor_wide_down`` gives per region outages that apply to every
    monitor of the vendor (imported outage history names a vendor, not a monitor). With
    ``first_seen`` and ``observed_until`` (now), regions are blind before their first result
    (:func:`blind_before_first_result`).
    """
    unknown = unknown or {}
    vendor_wide_down = vendor_wide_down or {}
    period = month_period(year, month, vendor.timezone)
    if first_seen and observed_until is not None:
        never = blind_before_first_result(vendor, first_seen, period, observed_until)
        unknown = {
            monitor: {
                region: [
                    *unknown.get(monitor, {}).get(region, ()),
                    *never.get(monitor, {}).get(region, ()),
                ]
                for region in {*unknown.get(monitor, {}), *never.get(monitor, {})}
            }
            for monitor in {*unknown, *never}
        }
    outcomes = {}
    for monitor in vendor.monitors:
        seen_down = down.get(monitor.id, {})
        seen_unknown = unknown.get(monitor.id, {})
        views = {}
        for region in monitor.regions:
            reported = vendor_wide_down.get(region, ())
            blind = seen_unknown.get(region, ())
            if reported and blind:
                # What a site reported seeing is never masked by our being blind there.
                blind = difference(blind, reported)
            views[region] = RegionView(
                down=(*seen_down.get(region, ()), *reported), unknown=tuple(blind)
            )
        outcomes[monitor.id] = combine_regions(views, monitor.regions, vendor.quorum)
    interruptions = vendor_interruptions(outcomes, vendor.monitors)
    unmonitored = vendor_unmonitored(outcomes, vendor.monitors, interruptions)
    sla = vendor.sla
    windows = vendor_windows(
        vendor.calendar, vendor.hosting, sla.emergency_notice, sla.business_calendar, period
    )
    availability = month_availability(
        date(year, month, 1),
        vendor.timezone,
        interruptions,
        windows,
        sla,
        exclusions=vendor.calendar.exclusions,
        unmonitored=unmonitored,
    )
    deadlines = tuple(
        claim_deadlines(
            (part.interruption.interval.end for part in availability.parts),
            sla.claim_within,
            sla.business_calendar,
        )
    )
    return VendorMonth(
        vendor=vendor,
        availability=availability,
        credit=month_credit(availability, sla),
        windows=tuple(windows),
        claim_deadlines=deadlines,
    )
