"""The contract engine on hand-worked cases: quorum, availability and credits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from credits.availability import MonthAvailability, month_availability, month_period
from credits.credit import month_credit
from credits.intervals import MINUTE, Interval, ratio
from credits.model import (
    BusinessCalendar,
    CreditPolicy,
    Exclusion,
    Fee,
    Interruption,
    MaintenanceWindow,
    SlaPolicy,
    Span,
    Tier,
    VendorCalendar,
    WindowKind,
)
from credits.month import Observations, vendor_month
from credits.quorum import RegionView, combine_regions, vendor_interruptions, vendor_unmonitored

UTC_ZONE = ZoneInfo("UTC")
REGIONS = ("atlanta", "california", "chicago")


def t(day: str, hhmm: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")


def iv(day: str, start: str, end: str, end_day: str | None = None) -> Interval:
    return Interval(t(day, start), t(end_day or day, end))


def outage(interval: Interval) -> Interruption:
    return Interruption(interval, ("Classroom app",), REGIONS)


def window(
    interval: Interval, kind: WindowKind = WindowKind.SCHEDULED, source: str = "announced"
) -> MaintenanceWindow:
    return MaintenanceWindow(interval, kind, "test window", UTC_ZONE, source)  # type: ignore[arg-type]


def minutes(duration: timedelta) -> Fraction:
    return ratio(duration, MINUTE)


def med(month: MonthAvailability) -> tuple[Fraction, Fraction, Fraction]:
    """The month's M, E and D in minutes."""
    b = month.buckets
    return minutes(b.scheduled), minutes(b.emergency), minutes(b.downtime)


def policy(**changes: object) -> SlaPolicy:
    base = SlaPolicy(
        target_pct=Decimal(95),
        maintenance="counts",
        emergency_notice=Span("5 business days", business_days=5),
        business_calendar=BusinessCalendar(timezone=UTC_ZONE, holidays="US"),
        claim_within=Span("5 business days", business_days=5),
        credit=CreditPolicy(kind="full_hours", rounding="month", scope="all"),
        fee=Fee(Decimal("672.00")),
    )
    credit_changes = {
        k: changes.pop(k)
        for k in ("rounding", "scope", "kind", "tiers", "cap_pct_of_fee")
        if k in changes
    }
    if credit_changes:
        base = replace(base, credit=replace(base.credit, **credit_changes))
    return replace(base, **changes)


# February 2025 (28 days, T = 40,320): 240 minutes down inside a scheduled window, 60 inside an
# emergency window, 1,900 outside any window.
FEB_WINDOWS = [
    window(iv("2025-02-06", "02:00", "06:00")),
    window(iv("2025-02-13", "02:00", "03:00"), WindowKind.EMERGENCY),
]
FEB_OUTAGES = [
    outage(iv("2025-02-06", "02:00", "06:00")),  # 240 scheduled
    outage(iv("2025-02-13", "02:00", "03:00")),  # 60 emergency
    outage(iv("2025-02-20", "00:00", "07:40", "2025-02-21")),  # 31h40m = 1,900 downtime
]


@pytest.mark.parametrize(
    ("scope", "hours", "amount"),
    [("all", 36, "36.00"), ("excess", 3, "3.00")],
    ids=["scope-all-36h", "scope-excess-3h"],
)
def test_classswift_february_2025(scope: str, hours: int, amount: str) -> None:
    sla = policy(scope=scope)
    month = month_availability(date(2025, 2, 1), UTC_ZONE, FEB_OUTAGES, FEB_WINDOWS, sla)
    assert minutes(month.total) == 40320
    assert med(month) == (240, 60, 1900)
    assert round(float(month.availability_pct), 6) == 94.543651
    assert not month.met
    credit = month_credit(month, sla)
    assert (credit.hours, credit.amount, credit.currency) == (hours, Decimal(amount), "USD")
    assert credit.eligible and credit.reason is None


JANUARY_OUTAGES = [
    outage(Interval(t(f"2025-01-{day:02d}", "10:00"), t(f"2025-01-{day:02d}", "11:35")))
    for day in range(1, 25)
]


@pytest.mark.parametrize(
    ("rounding", "amount"), [("month", "38.00"), ("incident", "24.00")], ids=["month", "incident"]
)
def test_january_2025_rounding(rounding: str, amount: str) -> None:
    sla = policy(rounding=rounding, fee=Fee(Decimal("744.00")))
    month = month_availability(date(2025, 1, 1), UTC_ZONE, JANUARY_OUTAGES, [], sla)
    assert minutes(month.buckets.downtime) == 24 * 95
    assert round(float(month.availability_pct), 6) == 94.892473
    assert month_credit(month, sla).amount == Decimal(amount)


@pytest.mark.parametrize(
    ("announced", "maintenance", "counted_minutes", "scheduled", "availability"),
    [
        ("observed", "counts", 150, 60, 99.652778),
        ("declared", "counts", 330, 240, 99.236111),
        ("observed", "excluded", 90, 60, 99.791667),
        ("declared", "excluded", 90, 60, 99.791667),
    ],
    ids=["observed-counts", "declared-counts", "observed-excluded", "declared-excluded"],
)
def test_june_2025_announced_window(
    announced: str, maintenance: str, counted_minutes: int, scheduled: int, availability: float
) -> None:
    # An announced window 06:00-10:00, the vendor down 09:00-11:30. Observed (the default): only
    # the hour seen down inside the window is M, the overrun 10:00-11:30 is D. Declared: the
    # whole window is M under "counts". Under "excluded" only the overrun counts either way.
    sla = policy(maintenance=maintenance, announced_windows=announced)
    windows = [window(iv("2025-06-12", "06:00", "10:00"))]
    outages = [outage(iv("2025-06-12", "09:00", "11:30"))]
    month = month_availability(date(2025, 6, 1), UTC_ZONE, outages, windows, sla)
    assert minutes(month.counted) == counted_minutes
    assert (minutes(month.buckets.scheduled), minutes(month.buckets.downtime)) == (scheduled, 90)
    assert round(float(month.availability_pct), 6) == availability
    assert minutes(month.parts[0].buckets.counted(maintenance)) == counted_minutes
    merged = announced == "declared" and maintenance == "counts"
    assert month.parts[0].interval == iv("2025-06-12", "06:00" if merged else "09:00", "11:30")


def test_scheduled_wins_over_emergency_where_windows_overlap() -> None:
    windows = [
        window(iv("2025-06-12", "06:00", "08:00"), source="recurring"),
        window(iv("2025-06-12", "07:00", "09:00"), WindowKind.EMERGENCY),
    ]
    outages = [outage(iv("2025-06-12", "06:30", "09:30"))]
    month = month_availability(date(2025, 6, 1), UTC_ZONE, outages, windows, policy())
    assert med(month) == (90, 60, 30)


@pytest.mark.parametrize(
    ("kind", "source", "maintenance", "announced", "bucket", "expected"),
    [
        (WindowKind.SCHEDULED, "recurring", "counts", "declared", "scheduled", 0),
        (WindowKind.SCHEDULED, "announced", "counts", "observed", "scheduled", 0),
        (WindowKind.EMERGENCY, "announced", "counts", "observed", "emergency", 0),
        (WindowKind.SCHEDULED, "announced", "counts", "declared", "scheduled", 240),
        (WindowKind.SCHEDULED, "announced", "excluded", "declared", "scheduled", 0),
        (WindowKind.EMERGENCY, "announced", "counts", "declared", "emergency", 240),
        (WindowKind.EMERGENCY, "announced", "excluded", "declared", "emergency", 240),
    ],
    ids=[
        "recurring-is-a-reservation",
        "announced-observed-is-a-reservation",
        "emergency-observed-is-a-reservation",
        "announced-declared-counts-in-full",
        "announced-declared-excluded",
        "emergency-declared-counts",
        "emergency-declared-counts-even-when-maintenance-excluded",
    ],
)
def test_window_without_observed_outage(
    kind: WindowKind, source: str, maintenance: str, announced: str, bucket: str, expected: int
) -> None:
    windows = [window(iv("2025-06-12", "06:00", "10:00"), kind, source)]
    sla = policy(maintenance=maintenance, announced_windows=announced)
    month = month_availability(date(2025, 6, 1), UTC_ZONE, [], windows, sla)
    assert minutes(getattr(month.buckets, bucket)) == expected
    assert minutes(month.counted) == expected
    assert [p.interruption.areas for p in month.parts] == ([()] if expected else [])


def test_interruption_crossing_month_boundary_is_split() -> None:
    across = [outage(iv("2025-01-31", "23:00", "01:30", "2025-02-01"))]
    january = month_availability(date(2025, 1, 1), UTC_ZONE, across, [], policy())
    february = month_availability(date(2025, 2, 1), UTC_ZONE, across, [], policy())
    assert minutes(january.buckets.downtime) == 60 and minutes(february.buckets.downtime) == 90
    assert january.parts[0].interval.end == t("2025-02-01")
    assert february.parts[0].interval.start == t("2025-02-01")


def test_month_boundaries_follow_the_vendor_zone() -> None:
    la = ZoneInfo("America/Los_Angeles")
    period = month_period(2025, 3, la)
    assert period == Interval(t("2025-03-01", "08:00"), t("2025-04-01", "07:00"))
    # 31 days × 1,440 minutes although the wall-clock month is an hour short (DST).
    month = month_availability(date(2025, 3, 1), la, [], [], policy())
    assert minutes(month.total) == 31 * 1440
    assert minutes(period.duration) == 31 * 1440 - 60


@pytest.mark.parametrize(
    ("year", "month_no", "expected"),
    [(2024, 2, 29 * 1440), (2025, 2, 28 * 1440), (2100, 2, 28 * 1440), (2000, 2, 29 * 1440)],
    ids=["leap-2024", "common-2025", "century-2100", "quad-century-2000"],
)
def test_total_minutes_in_february(year: int, month_no: int, expected: int) -> None:
    month = month_availability(date(year, month_no, 1), UTC_ZONE, [], [], policy())
    assert minutes(month.total) == expected
    assert month.availability_pct == 100 and month.met


def test_exactly_at_target_meets_it() -> None:
    # 5 % of April (43,200 minutes) is 2,160 minutes: A is exactly 95.
    outages = [outage(iv("2025-04-01", "00:00", "12:00", "2025-04-02"))]
    sla = policy()
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], sla)
    assert month.availability_pct == 95 and month.met
    credit = month_credit(month, sla)
    assert (credit.hours, credit.amount, credit.reason) == (
        0,
        Decimal("0.00"),
        "availability target met",
    )
    one_second_more = [
        outage(Interval(t("2025-04-01"), t("2025-04-02", "12:00") + timedelta(seconds=1)))
    ]
    assert not month_availability(date(2025, 4, 1), UTC_ZONE, one_second_more, [], sla).met


def test_minutes_are_counted_to_the_second() -> None:
    outages = [
        outage(Interval(t("2025-04-01", "10:00"), t("2025-04-01", "10:00") + timedelta(seconds=90)))
    ]
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], policy())
    assert month.buckets.downtime == timedelta(seconds=90)
    assert minutes(month.buckets.downtime) == Fraction(3, 2)


@pytest.mark.parametrize(
    ("changes", "reason", "eligible"),
    [
        ({"eligible": False}, "plan not eligible for service credits", False),
        ({"invoices_in_default": True}, "invoices in default: no credit can be claimed", False),
        ({"kind": "none"}, "the contract defines no service credit", True),
        ({"fee": None}, "the contract defines no service credit", True),
    ],
    ids=["lite-plan", "invoices-in-default", "kind-none", "no-fee"],
)
def test_no_credit_cases(changes: dict[str, object], reason: str, eligible: bool) -> None:
    sla = policy(**changes)
    month = month_availability(date(2025, 2, 1), UTC_ZONE, FEB_OUTAGES, FEB_WINDOWS, sla)
    credit = month_credit(month, sla)
    assert (credit.amount, credit.reason, credit.eligible) == (Decimal("0.00"), reason, eligible)


@pytest.mark.parametrize(
    ("fee", "cap", "expected"),
    [
        (Fee(Decimal("8064.00"), per="year"), None, "36.00"),  # 8,064 / 12 = 672 a month
        (Fee(Decimal("672.00")), Decimal(5), "33.60"),  # capped at 5 % of 672
        (Fee(Decimal("100.00")), None, "5.36"),  # 36 × 100 / 672 = 5.357… → 5.36
        (Fee(Decimal("99.99")), None, "5.36"),  # 36 × 99.99 / 672 = 5.3566… → 5.36
    ],
    ids=["yearly-fee", "cap", "half-up-cents", "odd-fee"],
)
def test_full_hours_money(fee: Fee, cap: Decimal | None, expected: str) -> None:
    sla = policy(fee=fee, cap_pct_of_fee=cap)
    month = month_availability(date(2025, 2, 1), UTC_ZONE, FEB_OUTAGES, FEB_WINDOWS, sla)
    assert month_credit(month, sla).amount == Decimal(expected)


def test_half_up_rounding_happens_once_at_the_end() -> None:
    # 0.125 per hour × 1 hour would be 0.13 half-up; rounding the hourly fee first would give 0.12.
    sla = policy(fee=Fee(Decimal("84.00")), target_pct=Decimal(100))  # 84 / 672 h = 0.125 per hour
    outages = [outage(iv("2025-02-03", "00:00", "01:00"))]
    month = month_availability(date(2025, 2, 1), UTC_ZONE, outages, [], sla)
    assert month_credit(month, sla).amount == Decimal("0.13")


@pytest.mark.parametrize(
    ("availability_outage_hours", "expected_pct"),
    [(0, "0.00"), (1, "10.00"), (8, "25.00"), (100, "100.00")],
    ids=["met", "below-99.9", "below-99", "below-95"],
)
def test_tiers(availability_outage_hours: int, expected_pct: str) -> None:
    tiers = (
        Tier(Decimal("99.9"), Decimal(10)),
        Tier(Decimal(99), Decimal(25)),
        Tier(Decimal(95), Decimal(100)),
    )
    sla = policy(kind="tiers", tiers=tiers, fee=Fee(Decimal("100.00")), target_pct=Decimal("99.9"))
    outages = (
        [
            outage(
                Interval(
                    t("2025-04-01"), t("2025-04-01") + timedelta(hours=availability_outage_hours)
                )
            )
        ]
        if availability_outage_hours
        else []
    )
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], sla)
    assert month_credit(month, sla).amount == Decimal(expected_pct)


def test_a_month_that_met_its_target_earns_no_tier() -> None:
    # Target 95 %, a band below 99.9 %: a month at 96.43 % met the target, so it earns nothing
    # (the configuration refuses such a band; the engine holds to the rule even without it).
    sla = policy(kind="tiers", tiers=(Tier(Decimal("99.9"), Decimal(10)),), fee=Fee(Decimal(100)))
    outages = [outage(Interval(t("2025-04-01"), t("2025-04-01") + timedelta(minutes=1542)))]
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], sla)
    assert round(float(month.availability_pct), 2) == 96.43 and month.met
    credit = month_credit(month, sla)
    assert (credit.amount, credit.reason) == (Decimal("0.00"), "availability target met")


def test_scope_excess_with_incident_rounding_consumes_allowance_in_order() -> None:
    # April: T = 43,200, allowance at 95 % = 2,160 minutes (36 h). Outages of 30 h, 10 h, 5 h.
    outages = [
        outage(Interval(t("2025-04-01"), t("2025-04-01") + timedelta(hours=30))),
        outage(Interval(t("2025-04-10"), t("2025-04-10") + timedelta(hours=10))),
        outage(Interval(t("2025-04-20"), t("2025-04-20") + timedelta(hours=5))),
    ]
    sla = policy(scope="excess", rounding="incident", fee=Fee(Decimal("720.00")))  # 1.00 per hour
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], sla)
    # allowance: 30 h all, 6 h of the 10 → 4 h excess; 5 h excess.
    assert month_credit(month, sla).hours == 9


def test_exclusions_are_removed_and_reported() -> None:
    outages = [outage(iv("2025-04-01", "10:00", "12:00"))]
    exclusion = Exclusion(t("2025-04-01", "11:00"), t("2025-04-01", "13:00"), "district network")
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], policy(), [exclusion])
    assert (minutes(month.buckets.downtime), minutes(month.buckets.excluded)) == (60, 60)
    assert minutes(month.parts[0].buckets.excluded) == 60


@pytest.mark.parametrize(
    ("rule", "downtime_minutes", "availability"),
    [
        ("as_up", 0, Fraction(100)),
        ("as_down", 600, Fraction(43200 - 600, 43200) * 100),
        ("exclude", 0, Fraction(100)),
    ],
    ids=["as-up", "as-down", "exclude"],
)
def test_unmonitored_policy(rule: str, downtime_minutes: int, availability: Fraction) -> None:
    blind = [iv("2025-04-05", "00:00", "10:00")]
    month = month_availability(
        date(2025, 4, 1), UTC_ZONE, [], [], policy(unmonitored=rule), unmonitored=blind
    )
    assert minutes(month.unmonitored) == 600
    assert minutes(month.buckets.downtime) == downtime_minutes
    assert month.availability_pct == availability
    if rule == "exclude":
        assert minutes(month.denominator) == 43200 - 600


# Quorum ---------------------------------------------------------------------------------------

DOWN = iv("2025-04-01", "10:00", "11:00")


@pytest.mark.parametrize(
    ("rule", "down_regions", "expected"),
    [
        ("all", ["chicago"], []),
        ("all", ["chicago", "atlanta"], []),
        ("all", list(REGIONS), [DOWN]),
        ("majority", ["chicago"], []),
        ("majority", ["chicago", "atlanta"], [DOWN]),
        (1, ["california"], [DOWN]),
        (2, ["california"], []),
        (3, list(REGIONS), [DOWN]),
    ],
    ids=[
        "all-one",
        "all-two",
        "all-three",
        "majority-one",
        "majority-two",
        "n1-one",
        "n2-one",
        "n3-three",
    ],
)
def test_quorum(rule: object, down_regions: list[str], expected: list[Interval]) -> None:
    views = {r: RegionView(down=(DOWN,)) for r in down_regions}
    outcome = combine_regions(views, REGIONS, rule)  # type: ignore[arg-type]
    assert outcome.down_intervals == expected


def test_quorum_all_needs_the_overlap_of_every_region() -> None:
    views = {
        "chicago": RegionView(down=(iv("2025-04-01", "10:00", "11:00"),)),
        "atlanta": RegionView(down=(iv("2025-04-01", "10:15", "11:30"),)),
        "california": RegionView(down=(iv("2025-04-01", "09:00", "10:45"),)),
    }
    outcome = combine_regions(views, REGIONS, "all")
    assert outcome.down_intervals == [iv("2025-04-01", "10:15", "10:45")]


def test_blind_region_neither_confirms_nor_vetoes() -> None:
    views = {
        "chicago": RegionView(down=(DOWN,)),
        "atlanta": RegionView(down=(DOWN,)),
        "california": RegionView(unknown=(iv("2025-04-01", "09:00", "12:00"),)),
    }
    outcome = combine_regions(views, REGIONS, "all")
    assert outcome.down_intervals == [DOWN]
    assert outcome.unmonitored == ()


@pytest.mark.parametrize(
    ("rule", "blind_regions", "down_regions", "down", "unmonitored"),
    [
        (2, ["atlanta", "california"], [], False, True),
        (2, ["atlanta", "california"], ["chicago"], False, True),
        (2, ["atlanta"], [], False, False),
        (2, ["atlanta"], ["chicago", "california"], True, False),
        (3, ["atlanta"], ["chicago", "california"], False, True),
        ("all", ["atlanta", "california"], ["chicago"], True, False),
        ("majority", ["atlanta", "california"], [], False, False),
    ],
    ids=[
        "n2-one-seeing-up-is-unknown",
        "n2-one-seeing-down-is-unknown",
        "n2-two-seeing-up",
        "n2-two-seeing-down",
        "n3-two-seeing-is-unknown",
        "all-one-seeing-down",
        "majority-one-seeing-up",
    ],
)
def test_too_few_regions_able_to_see_is_unmonitored(
    rule: object, blind_regions: list[str], down_regions: list[str], down: bool, unmonitored: bool
) -> None:
    # During 10:00-11:00 some regions are blind; a numeric quorum larger than the number of
    # regions that can see cannot tell up from down: that hour is unknown, not up.
    views = {
        r: RegionView(
            down=(DOWN,) if r in down_regions else (),
            unknown=(DOWN,) if r in blind_regions else (),
        )
        for r in REGIONS
    }
    outcome = combine_regions(views, REGIONS, rule)  # type: ignore[arg-type]
    assert outcome.down_intervals == ([DOWN] if down else [])
    assert outcome.unmonitored == ((DOWN,) if unmonitored else ())


def test_too_few_regions_follow_the_unmonitored_policy() -> None:
    # Quorum 2, two sites blind for 10 hours: under `as_down` those hours are downtime.
    vendor = Vendor()
    vendor.quorum = 2
    vendor.sla = policy(unmonitored="as_down")
    blind = iv("2025-04-05", "00:00", "10:00")
    month = vendor_month(
        vendor, 2025, 4, Observations(unknown={"app": {"atlanta": [blind], "chicago": [blind]}})
    )
    assert minutes(month.availability.unmonitored) == 600
    assert minutes(month.availability.buckets.downtime) == 600


def test_every_region_blind_is_unmonitored() -> None:
    blind = iv("2025-04-01", "09:00", "12:00")
    views = {r: RegionView(unknown=(blind,)) for r in REGIONS}
    outcome = combine_regions(views, REGIONS, "all")
    assert outcome.down_intervals == [] and outcome.unmonitored == (blind,)


class Mon:
    def __init__(self, id: str, area: str, critical: bool = True) -> None:
        self.id, self.functional_area, self.critical = id, area, critical


def test_vendor_interruptions_union_critical_monitors_and_keep_areas() -> None:
    monitors = [Mon("app", "Classroom app"), Mon("hub", "Hub"), Mon("docs", "Docs", critical=False)]
    everywhere = lambda i: {r: RegionView(down=(i,)) for r in REGIONS}  # noqa: E731
    outcomes = {
        "app": combine_regions(everywhere(iv("2025-04-01", "10:00", "11:00")), REGIONS, "all"),
        "hub": combine_regions(everywhere(iv("2025-04-01", "10:30", "12:00")), REGIONS, "all"),
        "docs": combine_regions(everywhere(iv("2025-04-02", "10:00", "11:00")), REGIONS, "all"),
    }
    interruptions = vendor_interruptions(outcomes, monitors)
    assert interruptions == [
        Interruption(iv("2025-04-01", "10:00", "12:00"), ("Classroom app", "Hub"), REGIONS)
    ]
    assert vendor_unmonitored(outcomes, monitors, interruptions) == []


# Regions that never reported ------------------------------------------------------------------


class Vendor:
    id = "v"
    name = "Vendor"
    timezone = UTC_ZONE
    quorum = "all"
    hosting = None
    calendar = VendorCalendar()

    def __init__(self) -> None:
        self.monitors = (Mon("app", "Classroom app"),)
        self.monitors[0].regions = REGIONS  # type: ignore[attr-defined]
        self.sla = policy()


DAY_30 = t("2025-05-01")


def test_site_blind_from_the_start_does_not_veto_an_outage() -> None:
    down = {"app": {"chicago": [DOWN], "atlanta": [DOWN]}}
    vendor = Vendor()
    # Without knowing who reported, california counts as up and vetoes the outage.
    assert vendor_month(vendor, 2025, 4, Observations(down)).availability.parts == ()
    first_results = {"app": {"chicago": t("2025-04-01"), "atlanta": t("2025-04-01")}}
    month = vendor_month(vendor, 2025, 4, Observations(down, first_results=first_results), DAY_30)
    assert [p.interval for p in month.availability.parts] == [DOWN]
    assert month.availability.parts[0].interruption.regions == ("atlanta", "chicago")


def test_time_before_monitoring_started_is_not_unmonitored() -> None:
    # Probing began on the 11th: the ten days before read as they did before anyone probed (a
    # report made on the 5th said the same), so a past month never changes when probing starts.
    started = t("2025-04-11")
    first_results = {"app": {r: started for r in REGIONS}}
    month = vendor_month(
        Vendor(), 2025, 4, Observations(first_results=first_results), t("2025-04-20")
    )
    assert month.availability.unmonitored == timedelta(0)
    # A vendor nobody probes (known only from imported history) is not called unmonitored.
    assert vendor_month(
        Vendor(), 2025, 4, Observations(), t("2025-04-20")
    ).availability.unmonitored == timedelta(0)


@pytest.mark.parametrize("rounding", ["month", "incident"])
def test_blind_time_counted_as_down_is_an_interruption(rounding: str) -> None:
    # Every site blind for 10 hours on Saturday 5 April under `unmonitored: as_down`: 600 down
    # minutes push A to 98.61 %, below 99.5 %. Counted as down, they are an interruption like
    # any other: 10 full hours (per month or per incident alike) and a claim deadline.
    vendor = Vendor()
    vendor.sla = policy(
        unmonitored="as_down",
        rounding=rounding,
        target_pct=Decimal("99.5"),
        fee=Fee(Decimal("720.00")),  # 1.00 per hour in April
    )
    blind = iv("2025-04-05", "00:00", "10:00")
    month = vendor_month(
        vendor, 2025, 4, Observations(unknown={"app": {r: [blind] for r in REGIONS}})
    )
    assert minutes(month.availability.unmonitored) == 600
    assert [(p.interval, p.unmonitored) for p in month.availability.parts] == [
        (blind, timedelta(hours=10))
    ]
    assert (month.credit.hours, month.credit.amount, month.credit.reason) == (
        10,
        Decimal("10.00"),
        None,
    )
    assert month.claim_deadlines == (date(2025, 4, 11),)  # Mon 7 ... Fri 11


def test_blind_time_counted_as_down_joins_the_outage_it_touches() -> None:
    # A 50-minute outage seen by every site, then 20 minutes nobody could see: one 70-minute
    # interruption (one full hour), not 50 + 20 (none).
    outages = [outage(iv("2025-04-01", "10:00", "10:50"))]
    blind = [iv("2025-04-01", "10:50", "11:10")]
    sla = policy(unmonitored="as_down", rounding="incident", target_pct=Decimal("99.9"))
    month = month_availability(date(2025, 4, 1), UTC_ZONE, outages, [], sla, unmonitored=blind)
    [part] = month.parts
    assert part.interval == iv("2025-04-01", "10:00", "11:10")
    assert part.interruption.areas == ("Classroom app",)
    assert part.unmonitored == timedelta(minutes=20)
    assert month_credit(month, sla).hours == 1


@pytest.mark.parametrize(
    ("views", "rule", "expected"),
    [
        ({"a": "up", "b": "up", "c": "up"}, "all", "up"),
        ({"a": "down", "b": "down", "c": "down"}, "all", "down"),
        ({"a": "down", "b": "up", "c": "up"}, "all", "up"),  # an advisory, not down
        ({"a": "down", "b": "down", "c": "unknown"}, "all", "down"),  # all who can see
        ({"a": "unknown", "b": "unknown", "c": "unknown"}, "all", "unknown"),
        ({}, "all", "unknown"),  # nobody reported yet
        ({"a": "down", "b": "down", "c": "up"}, "majority", "down"),
        ({"a": "down", "b": "up", "c": "up"}, "majority", "up"),
        ({"a": "up", "b": "unknown", "c": "unknown"}, 2, "unknown"),  # too few can see
    ],
    ids=lambda v: str(v),
)
def test_monitor_state_follows_the_quorum(views, rule, expected) -> None:
    from credits.state import monitor_state

    assert monitor_state(views, ("a", "b", "c"), rule) == expected


@pytest.mark.parametrize(
    ("monitors", "in_maintenance", "expected"),
    [
        ([(True, "up"), (True, "up")], False, "up"),
        ([(True, "up"), (True, "down")], False, "down"),
        ([(True, "up"), (False, "down")], False, "up"),  # a non-critical monitor never counts
        ([(True, "unknown"), (True, "up")], False, "unknown"),
        ([(True, "down"), (True, "unknown")], False, "down"),
        ([(True, "down")], True, "maintenance"),
        ([(False, "down")], False, "down"),  # no critical monitor: all of them count
        ([], False, "unknown"),
    ],
    ids=lambda v: str(v),
)
def test_vendor_state(monitors, in_maintenance, expected) -> None:
    from credits.state import vendor_state

    assert vendor_state(monitors, in_maintenance) == expected
