"""The status page's arithmetic: a month day by day, regional advisories, the allowance."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support_engine import REGIONS, UTC_ZONE, StubMonitor, StubVendor

from credits.advisories import Advisory, vendor_advisories
from credits.availability import Buckets, month_period
from credits.days import Day, local_day, month_days, probing_began
from credits.intervals import HOUR, MINUTE, ZERO, Interval
from credits.model import AnnouncedWindow, Exclusion, VendorCalendar
from credits.month import Observations, monitor_views, vendor_month
from credits.quorum import RegionView
from reports.context import vendor_context
from uptime.web.page_months import page_month

NEW_YORK = ZoneInfo("America/New_York")


def at(text: str, zone: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def everywhere(*spans: Interval) -> Observations:
    """Every region saw the one monitor down over ``spans``; probing began long before."""
    began = at("2020-01-01T00:00")
    return Observations(
        down={"app": {r: list(spans) for r in REGIONS}},
        first_results={"app": dict.fromkeys(REGIONS, began)},
    )


def days_of(vendor: StubVendor, year: int, month: int, seen: Observations, now: datetime):
    computed = vendor_month(vendor, year, month, seen, now)
    return computed, month_days(computed, probing_began(seen.first_results), now)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2025, 3, 9), 23),  # spring forward in New York
        (date(2025, 11, 2), 25),  # fall back
        (date(2025, 11, 3), 24),
        (date(2024, 2, 29), 24),  # leap day
    ],
    ids=["spring-forward-23h", "fall-back-25h", "ordinary-24h", "leap-day"],
)
def test_a_local_day_is_as_long_as_its_wall_clock(day: date, hours: int) -> None:
    period = local_day(day, NEW_YORK)
    assert period.duration == timedelta(hours=hours)
    assert period.start == datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("year", "month", "day", "down", "hours", "pct"),
    [
        # One hour down on each DST change day: a share of 23 h and of 25 h.
        (2025, 3, 9, ("2025-03-09T05:00", "2025-03-09T06:00"), 23, 100 * 22 / 23),
        (2025, 11, 2, ("2025-11-02T05:00", "2025-11-02T06:00"), 25, 100 * 24 / 25),
        (2024, 2, 29, ("2024-02-29T12:00", "2024-02-29T13:00"), 24, 100 * 23 / 24),
    ],
    ids=["spring-forward", "fall-back", "leap-day"],
)
def test_a_day_s_share_is_of_its_own_length(
    year: int, month: int, day: int, down: tuple[str, str], hours: int, pct: float
) -> None:
    vendor = StubVendor(timezone=NEW_YORK)
    outage = Interval(at(down[0], NEW_YORK), at(down[1], NEW_YORK))
    _, days = days_of(
        vendor, year, month, everywhere(outage), month_period(year, month, NEW_YORK).end
    )
    by_date = {d.date: d for d in days}
    the_day = by_date[date(year, month, day)]
    assert the_day.period.duration == timedelta(hours=hours)
    assert the_day.counted == HOUR
    assert the_day.interruptions == 1
    assert the_day.grade == "major"
    assert float(the_day.availability_pct) == pytest.approx(pct)
    assert len(days) == (29 if (year, month) == (2024, 2) else 31 if month == 3 else 30)
    others = [d for d in days if d.date != the_day.date]
    assert all(d.counted == ZERO and d.grade == "up" for d in others)


def test_days_add_up_to_the_month_and_cut_at_a_month_boundary() -> None:
    # 23:00 on 31 October to 01:00 on 1 November in New York: an hour in each month and day.
    vendor = StubVendor(timezone=NEW_YORK)
    outage = Interval(at("2025-10-31T23:00", NEW_YORK), at("2025-11-01T01:00", NEW_YORK))
    seen = everywhere(outage)
    now = at("2025-11-20T12:00", NEW_YORK)
    october, october_days = days_of(vendor, 2025, 10, seen, now)
    november, november_days = days_of(vendor, 2025, 11, seen, now)
    assert october_days[-1].date == date(2025, 10, 31) and october_days[-1].counted == HOUR
    assert november_days[0].date == date(2025, 11, 1) and november_days[0].counted == HOUR
    for computed, days in ((october, october_days), (november, november_days)):
        assert Buckets.add_up(d.buckets for d in days) == computed.availability.buckets
    # November is cut at now: the 20th is today, half over; nothing after it.
    assert november_days[-1].date == date(2025, 11, 20)
    assert november_days[-1].period.duration == timedelta(hours=12)


def test_days_sort_down_time_by_windows_and_exclusions() -> None:
    # A scheduled window 02:00-04:00 on the 6th (down 02:00-05:00: 2 h M, 1 h D), an exclusion
    # of 10:00-11:00 on the 9th (down 10:00-10:30: excluded), a window unused on the 12th.
    calendar = VendorCalendar(
        announced=(
            AnnouncedWindow(at("2025-06-06T02:00"), at("2025-06-06T04:00"), at("2025-05-01T00:00")),
            AnnouncedWindow(at("2025-06-12T02:00"), at("2025-06-12T02:10"), at("2025-05-01T00:00")),
        ),
        exclusions=(Exclusion(at("2025-06-09T10:00"), at("2025-06-09T11:00"), "district"),),
    )
    vendor = StubVendor(calendar=calendar)
    seen = everywhere(
        Interval(at("2025-06-06T02:00"), at("2025-06-06T05:00")),
        Interval(at("2025-06-09T10:00"), at("2025-06-09T10:30")),
    )
    computed, days = days_of(vendor, 2025, 6, seen, at("2025-07-01T00:00"))
    by_day = {d.date.day: d for d in days}
    assert by_day[6].buckets == Buckets(scheduled=2 * HOUR, downtime=HOUR)
    assert by_day[6].maintenance == 2 * HOUR
    assert by_day[6].counted == 3 * HOUR  # maintenance counts for this vendor
    assert by_day[9].buckets == Buckets(excluded=30 * MINUTE)
    assert by_day[9].counted == ZERO and by_day[9].grade == "up"
    assert by_day[12].maintenance == 10 * MINUTE and by_day[12].grade == "maintenance"
    assert Buckets.add_up(d.buckets for d in days) == computed.availability.buckets


def day(**changes: object) -> Day:
    base = Day(
        date=date(2025, 6, 1),
        period=Interval(at("2025-06-01T00:00"), at("2025-06-02T00:00")),
        buckets=Buckets(),
        counted=ZERO,
        maintenance=ZERO,
        unmonitored=ZERO,
        interruptions=0,
        probed=True,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "grade"),
    [
        ({}, "up"),
        ({"counted": HOUR}, "major"),
        ({"counted": HOUR - MINUTE}, "minor"),
        ({"counted": MINUTE, "unmonitored": HOUR, "maintenance": HOUR}, "minor"),
        ({"probed": False}, "no_data"),
        ({"probed": False, "counted": HOUR}, "major"),
        ({"unmonitored": MINUTE, "maintenance": HOUR}, "unknown"),
        ({"maintenance": MINUTE}, "maintenance"),
        ({"buckets": Buckets(scheduled=MINUTE)}, "maintenance"),  # maintenance: excluded
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_grades(changes: dict[str, object], grade: str) -> None:
    assert day(**changes).grade == grade


def test_no_data_before_probing_began() -> None:
    began = at("2025-06-10T12:00")
    seen = Observations(first_results={"app": dict.fromkeys(REGIONS, began)})
    _, days = days_of(StubVendor(), 2025, 6, seen, at("2025-06-15T00:00"))
    assert [d.grade for d in days[:9]] == ["no_data"] * 9
    assert days[0].availability_pct is None
    assert days[9].probed and days[9].grade == "up"


def test_blind_time_makes_a_day_unknown() -> None:
    began = at("2025-06-01T00:00")
    blind = [Interval(at("2025-06-03T08:00"), at("2025-06-03T09:00"))]
    seen = Observations(
        unknown={"app": {r: blind for r in REGIONS}},
        first_results={"app": dict.fromkeys(REGIONS, began)},
    )
    _, days = days_of(StubVendor(), 2025, 6, seen, at("2025-06-05T00:00"))
    assert days[2].unmonitored == HOUR and days[2].grade == "unknown"
    assert days[2].availability_pct == 100


@pytest.mark.parametrize(
    ("target", "year", "month", "down_minutes", "allowance", "left"),
    [
        ("95", 2025, 6, 0, 2160, 2160),  # 30 days × 1,440 × 5 %
        ("95", 2025, 6, 2122, 2160, 38),
        ("95", 2025, 6, 2160, 2160, 0),  # exactly spent still meets the target
        ("95", 2025, 6, 2200, 2160, -40),
        ("99.9", 2024, 2, 10, 41.76, 31.76),  # leap February: 29 × 1,440 × 0.1 %
    ],
    ids=["untouched", "38-left", "exactly-spent", "overspent", "leap-february"],
)
def test_allowance(
    target: str, year: int, month: int, down_minutes: int, allowance: float, left: float
) -> None:
    start = month_period(year, month, UTC_ZONE).start + timedelta(days=2)
    seen = everywhere(Interval(start, start + down_minutes * MINUTE))
    a = vendor_month(
        StubVendor(target_pct=target), year, month, seen, start + 60 * HOUR
    ).availability
    assert a.allowance / MINUTE == pytest.approx(allowance)
    assert a.allowance_left / MINUTE == pytest.approx(left)
    assert a.met == (a.allowance_left >= ZERO)


T0 = at("2025-06-03T10:00")


def span(start_min: int, end_min: int) -> Interval:
    return Interval(T0 + start_min * MINUTE, T0 + end_min * MINUTE)


PERIOD = month_period(2025, 6, UTC_ZONE)


@pytest.mark.parametrize(
    ("quorum", "down", "blind", "expected"),
    [
        ("all", {"atlanta": [span(0, 30)]}, {}, [(span(0, 30), ("atlanta",))]),
        ("all", {r: [span(0, 30)] for r in REGIONS}, {}, []),  # counted, not an advisory
        # Two down, the third blind: the quorum of those that can see, counted.
        (
            "all",
            {"atlanta": [span(0, 30)], "chicago": [span(0, 30)]},
            {"california": [span(0, 30)]},
            [],
        ),
        # Touching stretches are one advisory with every region that saw it down.
        (
            "all",
            {"atlanta": [span(0, 30)], "chicago": [span(20, 50)]},
            {},
            [(span(0, 50), ("atlanta", "chicago"))],
        ),
        # 2 of 3 is a majority: counted from 20 to 30 only; advisories either side.
        (
            "majority",
            {"atlanta": [span(0, 30)], "chicago": [span(20, 50)]},
            {},
            [(span(0, 20), ("atlanta",)), (span(30, 50), ("chicago",))],
        ),
        # Cut at the month's edge.
        (
            "all",
            {"atlanta": [Interval(PERIOD.end - HOUR, PERIOD.end + HOUR)]},
            {},
            [(Interval(PERIOD.end - HOUR, PERIOD.end), ("atlanta",))],
        ),
    ],
    ids=["one-site", "all-sites", "third-blind", "touching", "majority", "month-edge"],
)
def test_regional_advisories(
    quorum: str,
    down: dict[str, list[Interval]],
    blind: dict[str, list[Interval]],
    expected: list[tuple[Interval, tuple[str, ...]]],
) -> None:
    vendor = StubVendor(quorum=quorum)
    views = {
        "app": {r: RegionView(tuple(down.get(r, ())), tuple(blind.get(r, ()))) for r in REGIONS}
    }
    found = vendor_advisories(vendor, views, PERIOD)
    assert found == [Advisory("app", "Classroom app", i, regions) for i, regions in expected]


def test_advisories_read_the_month_s_views_with_sites_blind_from_the_start() -> None:
    # California never reported: under `all` the other two seeing it down is counted, so no
    # advisory; one site alone is an advisory.
    began = at("2025-06-01T00:00")
    firsts = {"app": {"atlanta": began, "chicago": began}}
    for down, expected in (({"atlanta", "chicago"}, []), ({"atlanta"}, [("atlanta",)])):
        seen = Observations(down={"app": {r: [span(0, 30)] for r in down}}, first_results=firsts)
        vendor = StubVendor(monitors=(StubMonitor(),))
        views = monitor_views(vendor, PERIOD, seen, at("2025-06-10T00:00"))
        assert [a.regions for a in vendor_advisories(vendor, views, PERIOD)] == expected


def test_a_day_cut_at_now_holds_only_the_window_time_begun() -> None:
    windows = (Interval(at("2025-06-01T08:00"), at("2025-06-01T09:30")),)
    whole = day(windows=windows, maintenance=90 * MINUTE)
    assert whole.cut(at("2025-06-01T04:19")).maintenance == ZERO
    assert whole.cut(at("2025-06-01T04:19")).grade == "up"
    assert whole.cut(at("2025-06-01T09:00")).maintenance == HOUR
    assert whole.cut(at("2025-06-02T00:00")) is whole


def test_an_interruption_counted_in_full_says_so_whatever_its_parts_round_to() -> None:
    # Down 1.4 s before a window and 10 min 1.4 s in it, maintenance counting: all of it
    # counts. Rounded to the report's hundredths of a minute the parts (0.02 + 10.02) fall
    # short of the whole (10.05), so the page compares the exact lengths, not those.
    window = AnnouncedWindow(at("2025-06-06T02:00"), at("2025-06-06T03:00"), at("2025-05-01T00:00"))
    vendor = StubVendor(calendar=VendorCalendar(announced=(window,)))
    down = Interval(at("2025-06-06T01:59:58.600"), at("2025-06-06T02:10:01.400"))
    now = at("2025-07-01T00:00")
    seen = everywhere(down)
    computed = vendor_month(vendor, 2025, 6, seen, now)
    [part] = vendor_context(computed).interruptions
    assert part.downtime + part.scheduled != part.minutes  # what the words once compared
    kept = page_month(computed, seen, now=now, with_seen=False, names={})
    [(stretch, row)] = kept.interruptions
    assert row.counted == "counted in full"
    assert row.duration == "10 min"
    assert stretch.counted == stretch.length == down.duration
