"""Per-(monitor, region) state intervals, kept up to date as probe results arrive.

Timing rule (docs/timing.md): a region's *down* interval starts at the start of the first
failed (confirmed) probe and ends at the start of the first successful one; likewise for *up*.
A region's state is trusted until ``stale_after`` (``uptime.probing.jobs.stale_limits``) past
its last result; after that it is *unknown* until the next result arrives. Results older than
the last one seen for the same key are stored raw but do not move the intervals.

Because an older result is ignored, one result stamped far in the future (an agent with a bad
clock) would freeze its key until that time: so a result stamped more than the tracker's
``max_skew`` (``probing.max_clock_skew``, default :data:`MAX_CLOCK_SKEW`) past its clock never
moves the intervals (ingest refuses it before it gets here), and an open state last seen that
far ahead, left by such a result before this rule, no longer holds back the results that
follow. Results stamped far in the past (a spool replayed after an outage) are not affected.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from credits.intervals import Interval
from uptime.config.model import Probing

if TYPE_CHECKING:
    from probes.result import ProbeResult

State = Literal["up", "down", "unknown"]
Key = tuple[str, str, str]  # vendor, monitor, region

#: How far past the collector's clock a result may be stamped unless ``probing.max_clock_skew``
#: says otherwise. Probe sites keep their clocks on NTP (docs/timing.md); a result stamped
#: further ahead is refused, since it would hold its region's state until then. A result ahead
#: by less holds it for at most this long.
MAX_CLOCK_SKEW = Probing().max_clock_skew


def utc_now() -> datetime:
    """The wall clock, timezone-aware (the tracker's default clock)."""
    return datetime.now(UTC)


@dataclass
class OpenState:
    """The interval a key is in now: its state since ``start``, last confirmed at ``last_seen``."""

    state: State
    start: datetime
    last_seen: datetime
    stale_after: timedelta

    def trusted_until(self) -> datetime:
        return self.last_seen + self.stale_after


@dataclass(frozen=True)
class ClosedInterval:
    key: Key
    state: State
    interval: Interval


class News:
    """What the writer committed that changes what its probes saw of a vendor (a region's state
    or its first result): a count per vendor and one of all, counted as each batch commits and
    read from other threads (``uptime.sources.probes``, the status page's kept rendering)."""

    def __init__(self) -> None:
        self.of: dict[str, int] = {}
        self.total = 0

    def add(self, vendors: Iterable[str]) -> None:
        for vendor in vendors:
            self.of[vendor] = self.of.get(vendor, 0) + 1
            self.total += 1


def interned(key: Key) -> Key:
    """``key`` of interned strings. The web looks each series up in the states by keys of its
    own (``uptime.web.status.series_keys``): a key of the very same strings is found 4 times
    faster than one of equal strings (4 ms of each scrape of 6,000 series)."""
    # Anything but text is left as it is, for the database's constraints to refuse.
    vendor, monitor, region = (sys.intern(k) if isinstance(k, str) else k for k in key)
    return vendor, monitor, region


class StateTracker:
    """Turns a stream of results into closed state intervals plus one open state per key."""

    def __init__(
        self,
        open_states: dict[Key, OpenState] | None = None,
        clock: Callable[[], datetime] = utc_now,
        max_skew: timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.open: dict[Key, OpenState] = open_states or {}
        self.clock = clock
        self.max_skew = max_skew

    def observe(self, result: ProbeResult, stale_after: timedelta) -> list[ClosedInterval]:
        """Apply one result; return the intervals it closed (zero, one or two)."""
        at = result.at
        horizon = self.clock() + self.max_skew
        if at > horizon:
            return []
        key = (result.vendor, result.monitor, result.region)
        state: State = "up" if result.ok else "down"
        current = self.open.get(key)
        if current is None:
            self.open[interned(key)] = OpenState(state, at, at, stale_after)
            return []
        if current.last_seen > horizon:
            # "Last seen" in the future: a bad clock's result, stored before such results were
            # refused. Distrust its time: this result is the latest one seen.
            current.last_seen = at
            current.start = min(current.start, at)
        if at < current.last_seen:
            return []
        closed: list[ClosedInterval] = []
        if at > current.trusted_until():
            gap_start = current.trusted_until()
            if gap_start > current.start:
                closed.append(
                    ClosedInterval(key, current.state, Interval(current.start, gap_start))
                )
            closed.append(ClosedInterval(key, "unknown", Interval(gap_start, at)))
            self.open[key] = OpenState(state, at, at, stale_after)
        elif state != current.state:
            if at > current.start:
                closed.append(ClosedInterval(key, current.state, Interval(current.start, at)))
            self.open[key] = OpenState(state, at, at, stale_after)
        else:
            current.last_seen = at
            current.stale_after = stale_after
        return closed


def open_as_intervals(current: OpenState, now: datetime) -> Iterable[tuple[State, Interval]]:
    """How an open state reads at ``now``: its state while trusted, unknown after."""
    trusted = min(now, current.trusted_until())
    if trusted > current.start:
        yield current.state, Interval(current.start, trusted)
    if now > trusted:
        yield "unknown", Interval(max(trusted, current.start), now)
