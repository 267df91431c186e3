"""Every vendor's state now: each region's current view of each monitor (from the recorder),
each monitor's and the vendor's state by the quorum (``credits.state``), and the maintenance
windows open now and starting within ``UPCOMING``. ``/api/v1/status`` reads
:func:`vendors_now`, the status page :func:`vendor_now` of each vendor whose card it makes
again; ``/metrics`` reads the same states through :func:`vendor_states` (one rule for all
three) without the objects it does not show."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar

from credits.intervals import Interval
from credits.model import MaintenanceWindow, QuorumRule
from credits.state import RegionState, VendorState, active_windows, monitor_state, vendor_state
from uptime.config import Config, Monitor, Vendor
from uptime.store.recorder import RegionStates
from uptime.store.states import Key, interned

T = TypeVar("T")

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
        return next_start(self.windows, self.now)


#: How much further than ``UPCOMING`` a vendor's windows are expanded at a time, and so how long
#: they are kept (:func:`upcoming_windows`).
WINDOWS_KEPT_FOR = timedelta(hours=1)

#: vendor id → (the vendor, the span its windows were expanded over, those windows)
_upcoming: dict[str, tuple[Vendor, Interval, tuple[MaintenanceWindow, ...]]] = {}


def upcoming_windows(vendor: Vendor, now: datetime) -> tuple[MaintenanceWindow, ...]:
    """``vendor``'s maintenance windows open at ``now`` or starting before ``now + UPCOMING``,
    in order of start. Expanded for ``WINDOWS_KEPT_FOR`` more at a time and kept that long
    (filtered at each call): a recurring window's occurrences come from its cron schedule, at
    about 150 µs each, and an hourly window has 336 in 14 days, asked for by every page view
    and scrape (a window every 2 minutes made each scrape take a second)."""
    end = now + UPCOMING
    kept = _upcoming.get(vendor.id)
    if kept is None or kept[0] is not vendor or not kept[1].start <= now <= end <= kept[1].end:
        span = Interval(now, end + WINDOWS_KEPT_FOR)
        kept = _upcoming[vendor.id] = (vendor, span, tuple(vendor.windows(span)))
    # An occurrence is expanded whole (never cut at the span's edges): those overlapping the
    # span that overlap [now, end) are exactly the windows of [now, end).
    return tuple(w for w in kept[2] if w.interval.end > now and w.interval.start < end)


def next_start(windows: Iterable[MaintenanceWindow], now: datetime) -> datetime | None:
    """When the first of ``windows`` (in order of start) that is not open yet at ``now``
    starts."""
    return next((w.interval.start for w in windows if w.interval.start > now), None)


#: A series' (state, since, last result) as the recorder's states hold it.
View = tuple[RegionState, datetime | None, datetime | None]

#: A series' entry in the recorder's states before its region's first result: unknown, no
#: since, no last result.
NOT_REPORTED: View = ("unknown", None, None)


#: vendor id → (the vendor, :func:`series_keys`)
_series_keys: dict[str, tuple[Vendor, tuple[Key, ...]]] = {}


def series_keys(vendor: Vendor) -> tuple[Key, ...]:
    """The (vendor, monitor, region) of each of ``vendor``'s series, monitor by monitor, of
    interned strings as the recorder's states are keyed (``uptime.store.states.interned``)."""
    kept = _series_keys.get(vendor.id)
    if kept is None or kept[0] is not vendor:
        keys = tuple(interned((vendor.id, m.id, r)) for m in vendor.monitors for r in m.regions)
        kept = _series_keys[vendor.id] = (vendor, keys)
    return kept[1]


def by_monitor(vendor: Vendor, views: Sequence[T]) -> list[Sequence[T]]:
    """``views`` (one per series, in :func:`series_keys` order) split into each monitor's."""
    out, at = [], 0
    for m in vendor.monitors:
        out.append(views[at : at + len(m.regions)])
        at += len(m.regions)
    return out


def vendor_states(
    vendor: Vendor, views: Sequence[Sequence[RegionState]], in_maintenance: bool
) -> tuple[list[RegionState], VendorState]:
    """Each of ``vendor``'s monitors' state by its quorum and the vendor's, from each
    monitor's regions' views (in the order of ``monitor.regions``) and whether one of its
    windows is open now."""
    monitors = [
        _monitor_state(tuple(seen), m.regions, vendor.quorum)
        for m, seen in zip(vendor.monitors, views, strict=True)
    ]
    state = vendor_state(
        ((m.critical, s) for m, s in zip(vendor.monitors, monitors, strict=True)), in_maintenance
    )
    return monitors, state


def vendors_now(config: Config, states: RegionStates, now: datetime) -> list[VendorNow]:
    """Every vendor's :class:`VendorNow`, in configuration order, from the recorder's
    region ``states`` at ``now`` (``Recorder.region_states``)."""
    return [
        vendor_now(vendor, views_now(vendor, states), upcoming_windows(vendor, now), now)
        for vendor in config.vendors
    ]


def views_now(vendor: Vendor, states: RegionStates) -> list[View]:
    """Each of ``vendor``'s series' (state, since, last result) in the recorder's ``states``,
    in :func:`series_keys` order (:data:`NOT_REPORTED` before its region's first result)."""
    return [states.get(k, NOT_REPORTED) for k in series_keys(vendor)]


def vendor_now(
    vendor: Vendor,
    views: Sequence[View],
    windows: tuple[MaintenanceWindow, ...],
    now: datetime,
) -> VendorNow:
    """``vendor``'s :class:`VendorNow` from its series' ``views`` (:func:`views_now`) and its
    ``windows`` (:func:`upcoming_windows`) at ``now``."""
    seen = by_monitor(vendor, views)
    monitor_states, state = vendor_states(
        vendor,
        [[entry[0] for entry in entries] for entries in seen],
        bool(active_windows(windows, now)),
    )
    monitors = tuple(
        MonitorNow(
            monitor,
            monitor_state,
            tuple(
                [
                    RegionNow._make((region, *entry))
                    for region, entry in zip(monitor.regions, entries, strict=True)
                ]
            ),
        )
        for monitor, monitor_state, entries in zip(
            vendor.monitors, monitor_states, seen, strict=True
        )
    )
    return VendorNow(vendor, now, state, monitors, windows)


@functools.lru_cache(maxsize=1024)
def _monitor_state(
    views: tuple[RegionState, ...], regions: tuple[str, ...], rule: QuorumRule
) -> RegionState:
    # Kept: a district's monitors share a few combinations of views (mostly all up), and a
    # scrape asks for every monitor's (10 ms of 1,000 vendors' 2,000 monitors otherwise).
    return monitor_state(dict(zip(regions, views, strict=True)), regions, rule)
