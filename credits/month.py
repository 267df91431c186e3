"""One vendor's month, end to end: region views → interruptions → availability → credit → claims.

This is the pipeline a report runs for every vendor; each step is a function of its own module,
and this module only strings them together. Data comes in as arguments (no I/O, no clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


#: monitor id → region → intervals
RegionIntervals = Mapping[str, Mapping[str, Sequence[Interval]]]


@dataclass(frozen=True)
class Observations:
    """What was seen of one vendor over a period: the engine's whole input, from every source.

    * ``down`` and ``unknown`` — monitor id → region → where that region saw the monitor down,
      and where it could not see it (our probes' state intervals).
    * ``reported_down`` — region → where that site saw the whole vendor down (imported outage
      history names a vendor and a site, not a monitor). What a site reported seeing is never
      masked by our being blind there.
    * ``first_results`` — monitor id → region → when that region's first result came; probing
      of a monitor began with the earliest of them (:func:`blind_before_first_result`).
    """

    down: RegionIntervals = field(default_factory=dict)
    unknown: RegionIntervals = field(default_factory=dict)
    reported_down: Mapping[str, Sequence[Interval]] = field(default_factory=dict)
    first_results: Mapping[str, Mapping[str, datetime]] = field(default_factory=dict)


def merge_observations(parts: Iterable[Observations]) -> Observations:
    """One vendor's observations from several sources as one: intervals side by side, the
    earliest first result of each region."""
    parts = [p for p in parts if p.down or p.unknown or p.reported_down or p.first_results]
    if len(parts) == 1:
        return parts[0]
    down: RegionIntervals = {}
    unknown: RegionIntervals = {}
    reported: dict[str, list[Interval]] = {}
    first: dict[str, dict[str, datetime]] = {}
    for part in parts:
        down, unknown = _joined(down, part.down), _joined(unknown, part.unknown)
        for region, intervals in part.reported_down.items():
            reported.setdefault(region, []).extend(intervals)
        for monitor, regions in part.first_results.items():
            into_first = first.setdefault(monitor, {})
            for region, at in regions.items():
                if region not in into_first or at < into_first[region]:
                    into_first[region] = at
    return Observations(down, unknown, reported, first)


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
    first_results: Mapping[str, Mapping[str, datetime]],
    period: Interval,
    now: datetime,
) -> dict[str, dict[str, list[Interval]]]:
    """Where a probed monitor's region had not reported yet: unknown, not up.

    Probing of a monitor began with the first result any of its regions sent
    (``first_results[monitor][region]`` is when that region's first result came). From then on,
    each of its regions is blind until its own first result, or, for a region that never
    reported, until ``now``. Without this, a site that was blind from the start would count as
    up and, under quorum ``all``, veto every outage the other sites saw. Before probing began
    nothing is blind: the time is what it was before anyone probed (imported history, or nothing
    seen), so a past month's figures never change because probing started later. Monitors
    nobody has probed (a vendor known only from imported history) get nothing here.
    """
    end = min(period.end, now)
    blind: dict[str, dict[str, list[Interval]]] = {}
    for monitor in vendor.monitors:
        firsts = first_results.get(monitor.id)
        if not firsts:
            continue
        start = max(period.start, min(firsts.values()))
        for region in monitor.regions:
            first = firsts.get(region)
            until = end if first is None else min(first, end)
            if until > start:
                blind.setdefault(monitor.id, {})[region] = [Interval(start, until)]
    return blind


def region_views(
    monitor: MonitorWithRegions,
    observed: Observations,
    unknown: Mapping[str, Sequence[Interval]],
) -> dict[str, RegionView]:
    """What each of ``monitor``'s regions saw of it: down where our probes saw it down or the
    site reported the vendor down (imported history), blind where ``unknown`` says so, except
    where the site reported the vendor down: what a site saw is never masked."""
    seen_down = observed.down.get(monitor.id, {})
    views = {}
    for region in monitor.regions:
        reported = observed.reported_down.get(region, ())
        blind = unknown.get(region, ())
        if reported and blind:
            blind = difference(blind, reported)
        views[region] = RegionView(
            down=(*seen_down.get(region, ()), *reported), unknown=tuple(blind)
        )
    return views


def _joined(a: RegionIntervals, b: RegionIntervals) -> RegionIntervals:
    """Monitor → region → the intervals of both."""
    return {
        monitor: {
            region: [*a.get(monitor, {}).get(region, ()), *b.get(monitor, {}).get(region, ())]
            for region in {*a.get(monitor, {}), *b.get(monitor, {})}
        }
        for monitor in {*a, *b}
    }


def monitor_views(
    vendor: VendorSpec, period: Interval, observed: Observations, now: datetime | None
) -> dict[str, dict[str, RegionView]]:
    """What each region saw of each of ``vendor``'s monitors (in configuration order) over
    ``period``: :func:`region_views`, with each probed monitor's regions blind from when its
    probing began until their own first result (:func:`blind_before_first_result`, which needs
    ``now``, when the observations were read)."""
    unknown = observed.unknown
    if observed.first_results:
        if now is None:
            raise ValueError("monitor_views needs `now` to read first results")
        never = blind_before_first_result(vendor, observed.first_results, period, now)
        unknown = _joined(unknown, never)
    return {
        monitor.id: region_views(monitor, observed, unknown.get(monitor.id, {}))
        for monitor in vendor.monitors
    }


def vendor_month(
    vendor: VendorSpec,
    year: int,
    month: int,
    observed: Observations,
    now: datetime | None = None,
) -> VendorMonth:
    """Compute ``vendor``'s calendar month ``year``-``month`` (in the vendor's time zone) from
    what was ``observed`` of it.

    ``now`` is when the observations were read: with first results, each probed monitor's
    regions are blind from when its probing began until their own first result, or until
    ``now`` for a region that never reported (:func:`blind_before_first_result`).
    """
    period = month_period(year, month, vendor.timezone)
    views = monitor_views(vendor, period, observed, now)
    outcomes = {
        monitor.id: combine_regions(views[monitor.id], monitor.regions, vendor.quorum)
        for monitor in vendor.monitors
    }
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
