"""From what each probe region saw to vendor interruptions.

Three steps, each a pure function:

1. per monitor, the regions' views (down / unknown / otherwise up) combine by the vendor's
   quorum into the monitor's down intervals and its *unmonitored* intervals (too few regions
   could see to tell: none, or fewer than a numeric quorum);
2. a vendor *interruption* is the union over its critical monitors of their down intervals, and
   remembers which functional areas and which regions were involved;
3. the vendor is unmonitored where a critical monitor was unmonitored and no interruption was seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
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


def required_down(rule: QuorumRule, seeing: int) -> int:
    """How many regions must see a monitor down, given the ``seeing`` regions that can see it.

    ``all``: every region that can see (a blind region neither confirms nor vetoes);
    ``majority``: more than half of those; an integer ``n``: at least ``n`` regions, so with
    fewer than ``n`` regions able to see, the monitor's state is unknown.
    """
    if rule == "all":
        return seeing
    if rule == "majority":
        return seeing // 2 + 1
    return int(rule)


#: A moment at which some region's view changed, and what the regions saw from then until the
#: next moment: the regions that saw the monitor down, and the regions that were blind (a blind
#: region has no fresh result, so it sees nothing, up or down, whatever else it reported).
Moment = tuple[datetime, frozenset[str], frozenset[str]]

NOBODY: frozenset[str] = frozenset()


def region_timeline(views: Mapping[str, RegionView], regions: Sequence[str]) -> list[Moment]:
    """Every moment at which some region's view changes, in time order (the last one ends the
    timeline)."""
    # (when, the region as a set of one, is_blind, starts)
    changes: list[tuple[datetime, frozenset[str], bool, bool]] = []
    for region in regions:
        view = views.get(region)
        if view is None:
            continue
        only = frozenset((region,))
        for is_blind, spans in ((False, view.down), (True, view.unknown)):
            for start, end in normalise(spans):
                changes.append((start, only, is_blind, True))
                changes.append((end, only, is_blind, False))
    changes.sort(key=itemgetter(0))
    # Immutable sets, replaced at each change, so that a moment can keep them as they are.
    down = blind = NOBODY
    timeline: list[Moment] = []
    for when, region, is_blind, starts in changes:
        if is_blind:
            blind = blind | region if starts else blind - region
        else:
            down = down | region if starts else down - region
        # Changes at the same instant make one moment: the last one holds them all.
        if timeline and timeline[-1][0] == when:
            timeline[-1] = (when, down, blind)
        else:
            timeline.append((when, down, blind))
    return timeline


def combine_regions(
    views: Mapping[str, RegionView], regions: Sequence[str], rule: QuorumRule
) -> MonitorOutcome:
    """Combine the regions' views of one monitor by the quorum rule.

    Between two moments at which a region's view changes, each region saw the monitor up, down,
    or nothing (blind). On each such stretch the monitor is unmonitored when too few regions
    could see it to tell: none, or fewer than :func:`required_down` (a numeric quorum of 2 with
    one region able to see: that region seeing it up does not make it up); down when at least
    that many of the regions that could see saw it down; up otherwise (fewer down regions than
    the quorum is a regional advisory: shown elsewhere, never counted). Consecutive down
    stretches seen by the same regions are one down interval; consecutive unmonitored stretches
    are one unmonitored interval.
    """
    # A month has a few hundred moments and only a handful of different (down, blind) pairs:
    # each pair's verdict is worked out once.
    verdicts: dict[tuple[frozenset[str], frozenset[str]], frozenset[str] | None] = {}
    # Each run of stretches as [start, end, regions], its end moved on while the run lasts.
    down: list[list] = []
    unmonitored: list[list] = []
    for (start, seen_down, blind), (end, _, _) in pairwise(region_timeline(views, regions)):
        try:
            seen = verdicts[seen_down, blind]
        except KeyError:
            seen = verdicts[seen_down, blind] = verdict(seen_down, blind, len(regions), rule)
        if seen is None:
            runs = unmonitored
        elif seen:
            runs = down
        else:
            continue
        if runs and runs[-1][1] == start and runs[-1][2] == seen:
            runs[-1][1] = end
        else:
            runs.append([start, end, seen])
    return MonitorOutcome(
        down=tuple((Interval(start, end), seen) for start, end, seen in down),
        unmonitored=tuple(Interval(start, end) for start, end, _ in unmonitored),
    )


def verdict(
    down: frozenset[str], blind: frozenset[str], total: int, rule: QuorumRule
) -> frozenset[str] | None:
    """On a stretch where the regions ``down`` saw the monitor down and the regions ``blind``
    saw nothing, out of ``total``: None if it is unmonitored, the regions that saw it down if it
    is down, and no regions if it is up."""
    seeing = total - len(blind)
    needed = required_down(rule, seeing)
    if seeing == 0 or seeing < needed:
        return None
    seen_down = down - blind
    return seen_down if len(seen_down) >= needed else NOBODY


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
    and regions (each sorted); the result is in time order. Interruptions already in time order
    with a gap between each two are returned as they are."""
    pieces = list(pieces)
    if all(p.interval for p in pieces) and all(
        a.interval.end < b.interval.start for a, b in pairwise(pieces)
    ):
        return pieces
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
