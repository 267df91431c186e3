"""A vendor's state now, from each region's current view of its monitors, by the same quorum
rule the month is counted with (:func:`credits.quorum.verdict`).

A monitor is *down* when at least the quorum of the regions that can see it see it down,
*unknown* when too few regions can see it to tell, *up* otherwise (fewer down regions than the
quorum is a regional advisory, never a down monitor). The vendor is *maintenance* while one of
its windows is open, whatever the probes see (viewers are told the vendor said so); otherwise
*down* when a critical monitor is down, *unknown* when a critical monitor is unknown, *up*
otherwise. A vendor with no critical monitor reads from all its monitors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from credits.model import MaintenanceWindow, QuorumRule
from credits.quorum import verdict

RegionState = Literal["up", "down", "unknown"]
VendorState = Literal["up", "down", "maintenance", "unknown"]


def monitor_state(
    views: Mapping[str, RegionState], regions: Sequence[str], rule: QuorumRule
) -> RegionState:
    """One monitor's state from its ``regions``' current views (a region missing from
    ``views`` has not reported: unknown)."""
    down = frozenset(r for r in regions if views.get(r) == "down")
    blind = frozenset(r for r in regions if views.get(r, "unknown") == "unknown")
    seen = verdict(down, blind, len(regions), rule)
    if seen is None:
        return "unknown"
    return "down" if seen else "up"


def active_windows(windows: Iterable[MaintenanceWindow], now: datetime) -> list[MaintenanceWindow]:
    """The windows open at ``now`` (half-open: a window ending at ``now`` is over)."""
    return [w for w in windows if w.interval.start <= now < w.interval.end]


def vendor_state(monitors: Iterable[tuple[bool, RegionState]], in_maintenance: bool) -> VendorState:
    """The vendor's state from each monitor's ``(critical, state)`` and whether one of its
    windows is open now."""
    if in_maintenance:
        return "maintenance"
    monitors = list(monitors)
    counted = [state for critical, state in monitors if critical] or [s for _, s in monitors]
    if "down" in counted:
        return "down"
    if "unknown" in counted or not counted:
        return "unknown"
    return "up"
