"""Invariants of the interval algebra and the contract engine, checked with Hypothesis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from credits.availability import Buckets, month_availability
from credits.intervals import Interval, difference, intersection, length, normalise, union
from credits.model import (
    BusinessCalendar,
    CreditPolicy,
    Fee,
    Interruption,
    MaintenanceWindow,
    SlaPolicy,
    Span,
    VendorCalendar,
    WindowKind,
)
from credits.month import Observations, vendor_month
from credits.quorum import RegionView, combine_regions, merge_interruptions

BASE = datetime(2025, 2, 1, tzinfo=UTC)
REGIONS = ("atlanta", "california", "chicago")
ZONES = ["UTC", "America/Los_Angeles", "America/New_York", "Australia/Sydney"]

intervals = st.builds(
    lambda start, length: Interval(
        BASE + timedelta(seconds=start), BASE + timedelta(seconds=start + length)
    ),
    st.integers(min_value=-3 * 86_400, max_value=31 * 86_400),
    st.integers(min_value=0, max_value=3 * 86_400),
)
interval_lists = st.lists(intervals, max_size=12)


@given(interval_lists)
def test_union_is_idempotent(a: list[Interval]) -> None:
    assert union(a, a) == normalise(a) == normalise(normalise(a))


@given(interval_lists, interval_lists)
def test_difference_is_disjoint_from_what_was_removed(a: list[Interval], b: list[Interval]) -> None:
    rest = difference(a, b)
    assert intersection(rest, b) == []
    assert union(rest, intersection(a, b)) == normalise(a)
    assert length(rest) + length(intersection(a, b)) == length(a)


@given(interval_lists, interval_lists)
def test_intersection_commutes(a: list[Interval], b: list[Interval]) -> None:
    assert intersection(a, b) == intersection(b, a)


def sla(
    maintenance: str = "counts", unmonitored: str = "as_up", announced: str = "observed"
) -> SlaPolicy:
    return SlaPolicy(
        target_pct=Decimal("99.5"),
        maintenance=maintenance,  # type: ignore[arg-type]
        emergency_notice=Span("5 business days", business_days=5),
        business_calendar=BusinessCalendar(timezone=ZoneInfo("UTC")),
        claim_within=Span("5 business days", business_days=5),
        unmonitored=unmonitored,  # type: ignore[arg-type]
        announced_windows=announced,  # type: ignore[arg-type]
        credit=CreditPolicy(kind="full_hours"),
        fee=Fee(Decimal("500.00")),
    )


windows = st.lists(
    st.builds(
        lambda i, kind, source: MaintenanceWindow(i, kind, "w", ZoneInfo("UTC"), source),
        intervals,
        st.sampled_from(list(WindowKind)),
        st.sampled_from(["recurring", "announced"]),
    ),
    max_size=6,
)


@settings(max_examples=200)
@given(
    interval_lists,
    windows,
    interval_lists,
    st.sampled_from(ZONES),
    st.sampled_from(["as_up", "as_down", "exclude"]),
    st.sampled_from(["observed", "declared"]),
)
def test_availability_bounds_and_maintenance_policy(
    outages: list[Interval],
    maintenance: list[MaintenanceWindow],
    blind: list[Interval],
    zone: str,
    unmonitored: str,
    announced: str,
) -> None:
    interruptions = [Interruption(i, ("app",), REGIONS) for i in normalise(outages)]
    results = {}
    for rule in ("counts", "excluded"):
        month = month_availability(
            date(2025, 2, 1),
            ZoneInfo(zone),
            interruptions,
            maintenance,
            sla(rule, unmonitored, announced),
            unmonitored=blind,
        )
        assert 0 <= month.availability_pct <= 100
        b = month.buckets
        assert b.scheduled + b.downtime + b.emergency <= month.total
        assert month.counted <= month.denominator or month.denominator <= 0
        results[rule] = month.availability_pct
        # The month's buckets are the sum of its parts' (classified one by one) and the same as
        # classifying the union: an interruption given twice changes none of them.
        doubled = month_availability(
            date(2025, 2, 1),
            ZoneInfo(zone),
            interruptions + interruptions[:1],
            maintenance,
            sla(rule, unmonitored, announced),
            unmonitored=blind,
        )
        assert (doubled.buckets, doubled.unmonitored) == (month.buckets, month.unmonitored)
        assert month.buckets == Buckets.add_up(p.buckets for p in month.parts)
    # Excluding maintenance never lowers availability.
    assert results["excluded"] >= results["counts"]


@dataclass(frozen=True)
class Monitor:
    id: str
    functional_area: str
    critical: bool
    regions: tuple[str, ...] = REGIONS


@dataclass(frozen=True)
class Vendor:
    quorum: object
    id: str = "v"
    name: str = "Vendor"
    hosting: str | None = None
    monitors: tuple[Monitor, ...] = (Monitor("app", "App", True), Monitor("hub", "Hub", True))

    timezone = ZoneInfo("America/New_York")
    sla = sla()
    calendar = VendorCalendar()


rows = st.lists(
    st.tuples(st.sampled_from(["app", "hub"]), st.sampled_from(REGIONS), intervals), max_size=25
)


@settings(max_examples=150)
@given(rows, st.randoms(use_true_random=False), st.sampled_from(["all", "majority", 1, 2]))
def test_result_does_not_depend_on_row_order(
    recorded: list[tuple[str, str, Interval]], rng: object, quorum: object
) -> None:
    vendor = Vendor(quorum)

    def compute(order: list[tuple[str, str, Interval]]) -> object:
        down: dict[str, dict[str, list[Interval]]] = {}
        for monitor, region, interval in order:
            down.setdefault(monitor, {}).setdefault(region, []).append(interval)
        result = vendor_month(vendor, 2025, 2, Observations(down))  # type: ignore[arg-type]
        return (result.availability, result.credit, result.claim_deadlines)

    shuffled = list(recorded)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert compute(recorded) == compute(shuffled)


# Small lists on a coarse grid, so that boundaries often coincide and the brute force is cheap.
grid_intervals = st.builds(
    lambda start, length: Interval(
        BASE + timedelta(minutes=start), BASE + timedelta(minutes=start + length)
    ),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=12),
)
grid_lists = st.lists(grid_intervals, max_size=4)


def covers(group: list[Interval], instant: datetime) -> bool:
    return any(i.start <= instant < i.end for i in group)


@given(
    st.fixed_dictionaries({r: st.tuples(grid_lists, grid_lists) for r in REGIONS}),
    st.sampled_from(["all", "majority", 1, 2, 3]),
)
def test_quorum_sweep_matches_minute_by_minute_vote(
    seen: dict[str, tuple[list[Interval], list[Interval]]], rule: str | int
) -> None:
    views = {r: RegionView(down=tuple(d), unknown=tuple(u)) for r, (d, u) in seen.items()}
    outcome = combine_regions(views, REGIONS, rule)  # type: ignore[arg-type]
    for minute in range(60):
        instant = BASE + timedelta(minutes=minute)
        blind = {r for r, (_, u) in seen.items() if covers(u, instant)}
        down = {r for r, (d, _) in seen.items() if covers(d, instant)} - blind
        known = len(REGIONS) - len(blind)
        needed = {"all": known, "majority": known // 2 + 1}.get(rule, rule)  # type: ignore[call-overload]
        too_few = known == 0 or known < needed
        expect_down = not too_few and bool(down) and len(down) >= needed
        regions = {r for i, rs in outcome.down if i.start <= instant < i.end for r in rs}
        assert covers(outcome.down_intervals, instant) == expect_down
        assert regions == (down if expect_down else set())
        assert covers(list(outcome.unmonitored), instant) == too_few
    # Adjacent pieces are merged unless the regions seeing them changed.
    for (a, ra), (b, rb) in pairwise(outcome.down):
        assert a.end < b.start or ra != rb


@given(st.lists(st.tuples(grid_intervals, st.sampled_from(["app", "docs"])), max_size=8))
def test_merged_interruptions_cover_the_pieces_and_touch_nothing(
    pieces: list[tuple[Interval, str]],
) -> None:
    merged = merge_interruptions(Interruption(i, (area,), ("chicago",)) for i, area in pieces)
    assert [m.interval for m in merged] == normalise(i for i, _ in pieces)
    for m in merged:
        inside = {
            area
            for i, area in pieces
            if i and i.start < m.interval.end and m.interval.start < i.end
        }
        assert m.areas == tuple(sorted(inside))
