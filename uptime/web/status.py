"""Every vendor's state now: each region's current view of each monitor (from the recorder),
each monitor's and the vendor's state by the quorum (``credits.state``), and the maintenance
windows open now and starting within ``UPCOMING``. The status page, ``/metrics`` and
``/api/v1/status`` all read this one answer."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import NamedTuple

from credits.intervals import Interval
from credits.model import MaintenanceWindow, QuorumRule
from credits.state import RegionState, VendorState, active_windows, monitor_state, vendor_state
from uptime.config import Config, Monitor, Vendor
from uptime.store.recorder import Recorder, RegionStates

#: How far ahead the status page and the feeds look for maintenance.
UPCOMING = timedelta(days=14)


class RegionNow(NamedTuple):
    """One region's view of one monitor: its state, since when, and its last result (None
    before the region's first result). (Named tuples: a scrape makes one per series.)"""

    region: str
    state: RegionState
    since: datetime | None
    last_seen: datetime | None


class MonitorNow(NamedTuple):
    monitor: Monitor
    state: RegionState
    regions: tuple[RegionNow, ...]


class VendorNow(NamedTuple):
    """A vendor's state at ``now``; ``windows`` are those open now or starting before
    ``now + UPCOMING``, in order of start (``active`` the open ones)."""

    vendor: Vendor
    now: datetime
    state: VendorState
    monitors: tuple[MonitorNow, ...]
    windows: tuple[MaintenanceWindow, ...]

    @property
    def active(self) -> list[MaintenanceWindow]:
        return active_windows(self.windows, self.now)

    @property
    def next_start(self) -> datetime | None:
        """When the next window that is not open yet starts (None: none within UPCOMING)."""
        return next((w.interval.start for w in self.windows if w.interval.start > self.now), None)


def vendors_now(config: Config, states: RegionStates, now: datetime) -> list[VendorNow]:
    """Every vendor's :class:`VendorNow`, in configuration order, from the recorder's
    region ``states`` at ``now`` (``Recorder.region_states``)."""
    ahead = Interval(now, now + UPCOMING)
    out = []
    for vendor in config.vendors:
        monitors = []
        for monitor in vendor.monitors:
            regions = tuple(
                not_reported(region)
                if (s := states.get((vendor.id, monitor.id, region))) is None
                else RegionNow(region, *s)
                for region in monitor.regions
            )
            state = _monitor_state(tuple(r.state for r in regions), monitor.regions, vendor.quorum)
            monitors.append(MonitorNow(monitor, state, regions))
        windows = tuple(vendor.windows(ahead))
        open_now = bool(active_windows(windows, now))
        out.append(
            VendorNow(
                vendor=vendor,
                now=now,
                state=vendor_state(((m.monitor.critical, m.state) for m in monitors), open_now),
                monitors=tuple(monitors),
                windows=windows,
            )
        )
    return out


@functools.lru_cache(maxsize=1024)
def _monitor_state(
    views: tuple[RegionState, ...], regions: tuple[str, ...], rule: QuorumRule
) -> RegionState:
    # Kept: a district's monitors share a few combinations of views (mostly all up), and a
    # scrape asks for every monitor's (10 ms of 1,000 vendors' 2,000 monitors otherwise).
    return monitor_state(dict(zip(regions, views, strict=True)), regions, rule)


def not_reported(region: str) -> RegionNow:
    """A region that has not reported yet: unknown, no since, no last result."""
    return RegionNow(region, "unknown", None, None)


async def status_now(config: Config, recorder: Recorder, now: datetime) -> list[VendorNow]:
    """:func:`vendors_now` from the recorder's current states."""
    return vendors_now(config, await recorder.region_states(now), now)
