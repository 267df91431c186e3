"""From what each probe region saw to vendor interruptions.

Three steps, each a pure function:

1. per monitor, the regions' views (down / unknown / otherwise up) combine by the vendor's
   quorum into the monitor's down intervals and its *unmonitored* intervals (no region could see);
2. a vendor *interruption* is the union over its critical monitors of their down intervals, and
   remembers which functional areas and which regions were involved;
3. the vendor is unmonitored where a critical monitor was unmonitored and no interruption was seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Protocol

from credits.intervals import Interval, difference, normalise, union
from credits.model import Interruption, QuorumRule


@dataclass(frozen=True)
class RegionView:
    """What one region saw of one monitor: where it was down and where it was blind."""

    down: tuple[Interval, ...] = ()
    unknown: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class MonitorOutcome:
    """A monitor's quorum-down intervals, each with the regions that saw it down, and the
    intervals where no region could see it."""

    down: tuple[tuple[Interval, frozenset[str]], ...] = ()
    unmonitored: tuple[Interval, ...] = ()

    @property
    def down_intervals(self) -> list[Interval]:
        return normalise(i for i, _ in self.down)


class MonitorSpec(Protocol):
    """The parts of a monitor the engine needs (``uptime.config.Monitor`` has them)."""

    @property
    def id(self) -> str: ...
    @property
    def functional_area(self) -> str: ...
    @property
    def critical(self) -> bool: ...


def required_down(rule: QuorumRule, known: int) -> int:
    """How many regions must see a monitor down, given ``known`` regions that can see at all.

    ``all``: every region that can see (a blind region neither confirms nor vetoes);
    ``majority``: more than half of those; an integer ``n``: at least ``n`` regions, so with
    fewer than ``n`` seeing regions the monitor cannot be declared down.
    """
    if rule == "all":
        return known
    if rule == "majority":
        return known // 2 + 1
    return int(rule)


def combine_regions(
    views: Mapping[str, RegionView], regions: Sequence[str], rule: QuorumRule
) -> MonitorOutcome:
    """Combine the regions' views of one monitor by the quorum rule.

    At each instant a region is *unknown* if it was blind, else *down* if it saw the monitor
    down, else up. The monitor is down when at least one region can see and the number of down
    regions reaches :func:`required_down`; it is unmonitored when no region can see. Fewer down
    regions than the quorum is a regional advisory: shown elsewhere, never counted.
    """
    # Sweep the boundaries in time order. The state is one integer: bit ``k`` is set while
    # region ``k`` is down, bit ``total + k`` while it is blind. Within one group a region's
    # intervals are normalised (disjoint, not touching), so every boundary flips its bit.
    total = len(regions)
    events: list[tuple[datetime, int]] = []
    for k, region in enumerate(regions):
        view = views.get(region)
        if view is None:
            continue
        for bit, group in ((1 << k, view.down), (1 << (total + k), view.unknown)):
            for start, end in normalise(group):
                events.append((start, bit))
                events.append((end, bit))
    events.sort(key=itemgetter(0))
    verdicts: dict[int, frozenset[str] | None] = {}
    down: list[tuple[Interval, frozenset[str]]] = []
    unmonitored: list[Interval] = []
    # The run of down segments being built: start, end, regions (merged while unchanged).
    run_start: datetime | None = None
    run_end: datetime | None = None
    run_regions: frozenset[str] | None = None
    state = 0
    count = len(events)
    i = 0
    while i < count:
        start = events[i][0]
        while i < count and events[i][0] == start:
            state ^= events[i][1]
            i += 1
        if i == count:
            break
        end = events[i][0]
        if state not in verdicts:
            verdicts[state] = _verdict(state, regions, rule)
        seen_down = verdicts[state]
        if seen_down and run_end == start and run_regions == seen_down:
            run_end = end
            continue
        if run_start is not None:
            down.append((Interval(run_start, run_end), run_regions))  # type: ignore[arg-type]
            run_start = None
        if seen_down:
            run_start, run_end, run_regions = start, end, seen_down
        elif seen_down is None:
            unmonitored.append(Interval(start, end))
    if run_start is not None:
        down.append((Interval(run_start, run_end), run_regions))  # type: ignore[arg-type]
    return MonitorOutcome(down=tuple(down), unmonitored=tuple(normalise(unmonitored)))


def _verdict(state: int, regions: Sequence[str], rule: QuorumRule) -> frozenset[str] | None:
    """For a sweep state (down bits, then blind bits): the regions whose seeing down makes the
    monitor down (empty when it is up), or None when no region can see."""
    total = len(regions)
    blind = state >> total
    known = total - blind.bit_count()
    if known == 0:
        return None
    seen = state & ~blind & ((1 << total) - 1)
    if seen and seen.bit_count() >= required_down(rule, known):
        return frozenset(r for k, r in enumerate(regions) if seen >> k & 1)
    return frozenset()


def vendor_interruptions(
    outcomes: Mapping[str, MonitorOutcome], monitors: Iterable[MonitorSpec]
) -> list[Interruption]:
    """Union the down intervals of the critical monitors into vendor interruptions.

    Overlapping or touching monitor outages become one interruption; it carries the sorted
    functional areas of the monitors that were down in it and the regions that saw them down.
    """
    return _merge(
        (interval, (monitor.functional_area,), regions)
        for monitor in monitors
        if monitor.critical and monitor.id in outcomes
        for interval, regions in outcomes[monitor.id].down
    )


def merge_interruptions(pieces: Iterable[Interruption]) -> list[Interruption]:
    """Merge overlapping or touching interruptions into one, keeping the union of their areas
    and regions (each sorted); the result is in time order."""
    return _merge(tuple(piece) for piece in pieces)


def _merge(
    pieces: Iterable[tuple[Interval, Iterable[str], Iterable[str]]],
) -> list[Interruption]:
    merged: list[tuple[Interval, set[str], set[str]]] = []
    for interval, areas, regions in sorted(pieces, key=itemgetter(0)):
        if not interval:
            continue
        if merged and interval[0] <= merged[-1][0][1]:
            last, merged_areas, merged_regions = merged[-1]
            if interval[1] > last[1]:
                merged[-1] = (Interval(last[0], interval[1]), merged_areas, merged_regions)
            merged_areas.update(areas)
            merged_regions.update(regions)
        else:
            merged.append((interval, set(areas), set(regions)))
    return [
        Interruption(interval, tuple(sorted(areas)), tuple(sorted(regions)))
        for interval, areas, regions in merged
    ]


def vendor_unmonitored(
    outcomes: Mapping[str, MonitorOutcome],
    monitors: Iterable[MonitorSpec],
    interruptions: Iterable[Interruption],
) -> list[Interval]:
    """Where a critical monitor could not be seen by any region and no interruption was
    recorded: the vendor may have been down without our knowing."""
    blind = union(
        *(outcomes[m.id].unmonitored for m in monitors if m.critical and m.id in outcomes)
    )
    return difference(blind, (i.interval for i in interruptions))
