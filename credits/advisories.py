"""Regional advisories: where some region saw a monitor down but the quorum did not.

Under quorum ``all`` (the SchoolStatus rule) one site seeing a failure is not an outage: the
fault may be that site's network. Such stretches never count against the vendor, but a viewer
asking "is it them or us?" should see them, labelled as not counted. The stretches are those
on which :func:`credits.quorum.verdict` does not find the monitor down while at least one region
that could see it saw it down; touching stretches are one advisory, with every region that saw
the monitor down during it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from credits.intervals import Interval
from credits.model import QuorumRule
from credits.month import MonitorWithRegions, VendorSpec
from credits.quorum import RegionView, region_timeline, verdict


@dataclass(frozen=True)
class Advisory:
    """Down as seen by ``regions`` only (fewer than the quorum): shown, never counted."""

    monitor: str
    area: str
    interval: Interval
    regions: tuple[str, ...]


def monitor_advisories(
    monitor: MonitorWithRegions,
    views: Mapping[str, RegionView],
    rule: QuorumRule,
    period: Interval,
) -> list[Advisory]:
    """``monitor``'s advisories inside ``period`` from its regions' ``views``, in time order."""
    runs: list[tuple[Interval, set[str]]] = []
    for (start, down, blind), (end, _, _) in pairwise(region_timeline(views, monitor.regions)):
        start, end = max(start, period.start), min(end, period.end)
        seen_down = down - blind
        if start >= end or not seen_down or verdict(down, blind, len(monitor.regions), rule):
            continue
        if runs and runs[-1][0].end == start:
            runs[-1] = (Interval(runs[-1][0].start, end), runs[-1][1] | seen_down)
        else:
            runs.append((Interval(start, end), set(seen_down)))
    return [
        Advisory(monitor.id, monitor.functional_area, interval, tuple(sorted(regions)))
        for interval, regions in runs
    ]


def vendor_advisories(
    vendor: VendorSpec, views: Mapping[str, Mapping[str, RegionView]], period: Interval
) -> list[Advisory]:
    """Every advisory of ``vendor``'s monitors inside ``period``, from each monitor's regions'
    ``views`` (:func:`credits.month.monitor_views`), in time order."""
    found = [
        advisory
        for monitor in vendor.monitors
        for advisory in monitor_advisories(monitor, views[monitor.id], vendor.quorum, period)
    ]
    return sorted(found, key=lambda a: (a.interval, a.monitor))
