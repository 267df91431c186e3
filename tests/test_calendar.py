"""Business days, claim deadlines, notice rules and DST-correct maintenance windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits.business_time import CalendarRangeError, add_business_days, is_business_day, localize
from credits.calendar import (
    applies_to,
    classify_announced,
    expand_recurring,
    notice_deadline,
    notice_is_sufficient,
    vendor_windows,
)
from credits.claims import claim_deadline, claim_deadlines
from credits.intervals import Interval
from credits.model import (
    AnnouncedWindow,
    BusinessCalendar,
    MaintenanceWindow,
    RecurringWindow,
    Span,
    VendorCalendar,
    WindowKind,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
SYD = ZoneInfo("Australia/Sydney")
GMT = ZoneInfo("Etc/GMT")

US_LA = BusinessCalendar(timezone=LA, holidays="US")
US_NY = BusinessCalendar(timezone=NY, holidays="US")
US_UTC = BusinessCalendar(timezone=ZoneInfo("UTC"), holidays="US")
US_CA = BusinessCalendar(timezone=LA, holidays="US", subdivision="CA")
NO_HOLIDAYS = BusinessCalendar(timezone=LA, holidays=None)

FIVE_BD = Span("5 business days", business_days=5)
TWO_BD = Span("2 business days", business_days=2)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(window: MaintenanceWindow) -> float:
    return window.interval.duration.total_seconds() / 60


def local_day(zone: ZoneInfo, day: date) -> Interval:
    """The wall-clock day ``day`` in ``zone`` as a UTC interval."""
    start = datetime.combine(day, datetime.min.time())
    return Interval(localize(start, zone), localize(start + timedelta(days=1), zone))


# --------------------------------------------------------------------------- business days

BUSINESS_DAYS = [
    pytest.param(US_LA, date(2025, 11, 21), True, id="friday"),
    pytest.param(US_LA, date(2025, 11, 22), False, id="saturday"),
    pytest.param(US_LA, date(2025, 11, 23), False, id="sunday"),
    pytest.param(US_LA, date(2025, 11, 24), True, id="monday"),
    pytest.param(US_LA, date(2025, 11, 27), False, id="thanksgiving"),
    pytest.param(US_LA, date(2025, 11, 28), True, id="day-after-thanksgiving-federal"),
    pytest.param(US_CA, date(2025, 11, 28), False, id="day-after-thanksgiving-california"),
    pytest.param(US_CA, date(2025, 3, 31), False, id="cesar-chavez-day-california"),
    pytest.param(US_LA, date(2025, 3, 31), True, id="cesar-chavez-day-federal"),
    pytest.param(US_LA, date(2026, 7, 3), False, id="independence-day-observed-friday"),
    pytest.param(US_LA, date(2026, 7, 4), False, id="independence-day-on-saturday"),
    pytest.param(US_LA, date(2027, 7, 5), False, id="independence-day-observed-monday"),
    pytest.param(US_LA, date(2025, 12, 31), True, id="new-years-eve"),
    pytest.param(US_LA, date(2026, 1, 1), False, id="new-years-day"),
    pytest.param(US_LA, date(2021, 12, 31), False, id="new-year-2022-observed-in-2021"),
    pytest.param(US_LA, date(2027, 12, 31), False, id="new-year-2028-observed-in-2027"),
    pytest.param(US_LA, date(2025, 6, 19), False, id="juneteenth"),
    pytest.param(NO_HOLIDAYS, date(2025, 12, 25), True, id="no-holidays-christmas-thursday"),
    pytest.param(NO_HOLIDAYS, date(2025, 12, 27), False, id="no-holidays-saturday"),
]


@pytest.mark.parametrize(("calendar", "day", "expected"), BUSINESS_DAYS)
def test_is_business_day(calendar: BusinessCalendar, day: date, expected: bool) -> None:
    assert is_business_day(day, calendar) is expected


def test_is_business_day_rejects_datetime() -> None:
    with pytest.raises(TypeError):
        is_business_day(datetime(2025, 11, 27, 12), US_LA)


def test_business_days_match_holidays_package_across_years() -> None:
    """Asked in any order, every date of 2019–2031 agrees with a fully populated holidays
    object (years are filled in correctly however the cache was warmed)."""
    reference = holidays.country_holidays("US", years=range(2019, 2032))
    day = date(2031, 12, 31)
    while day >= date(2019, 1, 1):  # backwards, to cross year boundaries the "wrong" way
        expected = day.weekday() < 5 and day not in reference
        assert is_business_day(day, US_LA) is expected, day
        day -= timedelta(days=1)


ADD_BUSINESS_DAYS = [
    pytest.param(US_LA, date(2025, 12, 31), 1, date(2026, 1, 2), id="over-new-year"),
    pytest.param(US_LA, date(2025, 11, 21), 1, date(2025, 11, 24), id="friday-to-monday"),
    pytest.param(US_LA, date(2025, 11, 22), 1, date(2025, 11, 24), id="saturday-to-monday"),
    pytest.param(US_LA, date(2025, 11, 20), 5, date(2025, 11, 28), id="over-thanksgiving"),
    pytest.param(US_CA, date(2025, 11, 20), 5, date(2025, 12, 1), id="california-two-days-off"),
    pytest.param(NO_HOLIDAYS, date(2025, 11, 20), 5, date(2025, 11, 27), id="no-holidays"),
    pytest.param(US_LA, date(2026, 7, 1), 5, date(2026, 7, 9), id="observed-independence-day"),
    pytest.param(US_LA, date(2025, 11, 27), 1, date(2025, 11, 28), id="from-a-holiday"),
    pytest.param(US_LA, date(2025, 11, 20), 0, date(2025, 11, 20), id="zero"),
    pytest.param(US_LA, date(2025, 12, 19), 10, date(2026, 1, 6), id="over-christmas-and-new-year"),
]


@pytest.mark.parametrize(("calendar", "day", "n", "expected"), ADD_BUSINESS_DAYS)
def test_add_business_days(calendar: BusinessCalendar, day: date, n: int, expected: date) -> None:
    assert add_business_days(day, n, calendar) == expected


def test_add_business_days_rejects_negative() -> None:
    with pytest.raises(ValueError):
        add_business_days(date(2025, 1, 6), -1, US_LA)


# --------------------------------------------------------------------------- claim deadline

CLAIM_DEADLINES = [
    # Ending exactly at midnight, the last down minute was the day before (Wednesday 19).
    pytest.param(at(LA, 2025, 11, 20, 0, 0), FIVE_BD, US_LA, date(2025, 11, 26), id="thu-midnight"),
    pytest.param(
        at(LA, 2025, 11, 20, 0, 0, 1), FIVE_BD, US_LA, date(2025, 11, 28), id="thu-one-second-in"
    ),
    pytest.param(at(LA, 2025, 11, 20, 12), FIVE_BD, US_LA, date(2025, 11, 28), id="thu-noon"),
    pytest.param(
        at(LA, 2025, 11, 20, 23, 59, 59), FIVE_BD, US_LA, date(2025, 11, 28), id="thu-last-second"
    ),
    pytest.param(
        utc(2025, 11, 21, 3), FIVE_BD, US_LA, date(2025, 11, 28), id="utc-friday-is-la-thursday"
    ),
    pytest.param(
        utc(2025, 11, 21, 3), FIVE_BD, US_UTC, date(2025, 12, 1), id="same-instant-utc-calendar"
    ),
    # Ending at local midnight starting Friday 21 = Thursday's last minute: Friday 28, not
    # Monday 1 December.
    pytest.param(
        at(LA, 2025, 11, 21, 0, 0), FIVE_BD, US_LA, date(2025, 11, 28), id="la-friday-midnight"
    ),
    pytest.param(
        utc(2025, 11, 21), FIVE_BD, US_UTC, date(2025, 11, 28), id="utc-midnight-on-utc-calendar"
    ),
    pytest.param(at(LA, 2026, 7, 1, 9), FIVE_BD, US_LA, date(2026, 7, 9), id="observed-holiday"),
    pytest.param(
        utc(2025, 11, 21, 3),
        Span("48h", delta=hours(48)),
        US_LA,
        date(2025, 11, 22),
        id="delta-in-local-date",
    ),
]


@pytest.mark.parametrize(("end", "within", "calendar", "expected"), CLAIM_DEADLINES)
def test_claim_deadline(
    end: datetime, within: Span, calendar: BusinessCalendar, expected: date
) -> None:
    assert claim_deadline(end, within, calendar) == expected
    # The batch form gives the same answer, alone and among others that share its local date.
    ends = [end, end - timedelta(seconds=1), end, end + timedelta(hours=30)]
    assert claim_deadlines(ends, within, calendar) == [
        claim_deadline(e, within, calendar) for e in ends
    ]
    assert claim_deadlines([end], within, calendar) == [expected]


def test_claim_deadline_needs_aware_end_and_a_rule() -> None:
    with pytest.raises(ValueError):
        claim_deadline(datetime(2025, 11, 20, 12), FIVE_BD, US_LA)
    with pytest.raises(ValueError):
        claim_deadline(utc(2025, 11, 20, 12), Span("nothing"), US_LA)
    with pytest.raises(ValueError):
        claim_deadlines([utc(2025, 11, 20, 12), datetime(2025, 11, 20, 12)], FIVE_BD, US_LA)


# --------------------------------------------------------------------------- notice

NOTICE = [
    pytest.param(
        at(LA, 2025, 6, 2, 10), at(LA, 2025, 6, 9, 10), FIVE_BD, US_LA, True, id="exactly-5bd"
    ),
    pytest.param(
        at(LA, 2025, 6, 2, 10),
        at(LA, 2025, 6, 9, 9, 59, 59),
        FIVE_BD,
        US_LA,
        False,
        id="one-second-short",
    ),
    pytest.param(
        at(LA, 2025, 6, 2, 10), at(LA, 2025, 6, 20, 10), FIVE_BD, US_LA, True, id="plenty"
    ),
    pytest.param(
        at(LA, 2025, 6, 30, 10),
        at(LA, 2025, 7, 7, 10),
        FIVE_BD,
        US_LA,
        False,
        id="july-4th-in-between-extends",
    ),
    pytest.param(
        at(LA, 2025, 6, 30, 10),
        at(LA, 2025, 7, 8, 10),
        FIVE_BD,
        US_LA,
        True,
        id="july-4th-in-between-one-day-later",
    ),
    # Notice given on a non-business day counts from the next business day's start (00:00).
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 10, 10),
        TWO_BD,
        US_LA,
        False,
        id="saturday-for-tuesday-is-emergency",
    ),
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 11, 10),
        TWO_BD,
        US_LA,
        True,
        id="saturday-for-wednesday-is-scheduled",
    ),
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 11),
        TWO_BD,
        US_LA,
        True,
        id="saturday-for-wednesday-midnight-is-scheduled",
    ),
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 10, 23, 59, 59),
        TWO_BD,
        US_LA,
        False,
        id="saturday-for-tuesday-23:59:59-is-emergency",
    ),
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 13, 10),
        FIVE_BD,
        US_LA,
        False,
        id="saturday-5bd-friday-is-emergency",
    ),
    pytest.param(
        at(LA, 2025, 6, 7, 10),
        at(LA, 2025, 6, 16),
        FIVE_BD,
        US_LA,
        True,
        id="saturday-5bd-counts-from-monday",
    ),
    # Thanksgiving (Thursday 27 November 2025): counts from Friday 28 00:00 → Tuesday 2 December.
    pytest.param(
        at(LA, 2025, 11, 27, 10),
        at(LA, 2025, 12, 1, 23, 59),
        TWO_BD,
        US_LA,
        False,
        id="holiday-counts-from-next-business-day",
    ),
    pytest.param(
        at(LA, 2025, 11, 27, 10),
        at(LA, 2025, 12, 2),
        TWO_BD,
        US_LA,
        True,
        id="holiday-two-business-days-later",
    ),
    # On the business calendar's clock. Friday 23:00 in Los Angeles: on a Los Angeles calendar
    # a business day, so the notice runs to Tuesday 23:00 there; on a New York calendar it is
    # Saturday 02:00, so it counts from Monday 00:00 and runs to Wednesday 00:00 New York time
    # (Tuesday 21:00 in Los Angeles). A window on Tuesday 22:00 Los Angeles time falls between.
    pytest.param(
        at(LA, 2025, 6, 6, 23),
        at(LA, 2025, 6, 10, 22),
        TWO_BD,
        US_LA,
        False,
        id="friday-evening-on-the-la-clock",
    ),
    pytest.param(
        at(LA, 2025, 6, 6, 23),
        at(LA, 2025, 6, 10, 22),
        TWO_BD,
        US_NY,
        True,
        id="friday-evening-la-is-saturday-in-new-york",
    ),
    # The week of 2025-03-09 changes clocks: the deadline keeps the wall time (10:00 PDT =
    # 17:00 UTC), one hour less than 7 × 24 h after 10:00 PST.
    pytest.param(
        at(LA, 2025, 3, 3, 10), utc(2025, 3, 10, 17), FIVE_BD, US_LA, True, id="dst-week-wall-time"
    ),
    pytest.param(
        at(LA, 2025, 3, 3, 10),
        utc(2025, 3, 10, 16, 59, 59),
        FIVE_BD,
        US_LA,
        False,
        id="dst-week-one-second-short",
    ),
    pytest.param(
        utc(2025, 6, 2, 10),
        utc(2025, 6, 9, 10),
        Span("7d", delta=timedelta(days=7)),
        US_LA,
        True,
        id="delta-exact",
    ),
    pytest.param(
        utc(2025, 6, 2, 10),
        utc(2025, 6, 9, 9, 59, 59),
        Span("7d", delta=timedelta(days=7)),
        US_LA,
        False,
        id="delta-one-second-short",
    ),
    # maintenance_windows.yaml's announced window: Tuesday 10:00 for Thursday 22:00.
    pytest.param(
        at(NY, 2026, 12, 1, 10),
        at(NY, 2026, 12, 3, 22),
        TWO_BD,
        US_NY,
        True,
        id="design-example-2bd",
    ),
    pytest.param(
        at(NY, 2026, 12, 1, 10),
        at(NY, 2026, 12, 3, 22),
        FIVE_BD,
        US_NY,
        False,
        id="design-example-5bd-emergency",
    ),
]


@pytest.mark.parametrize(("announced_at", "start", "notice", "calendar", "expected"), NOTICE)
def test_notice_is_sufficient(
    announced_at: datetime,
    start: datetime,
    notice: Span,
    calendar: BusinessCalendar,
    expected: bool,
) -> None:
    assert notice_is_sufficient(announced_at, start, notice, calendar) is expected


def test_notice_given_on_a_non_business_day_counts_from_the_next_business_day() -> None:
    # Announced Saturday 7 June 2025 10:00 with 2 business days' notice: from Monday 00:00,
    # through Monday and Tuesday, so the earliest scheduled start is Wednesday 00:00.
    assert notice_deadline(at(LA, 2025, 6, 7, 10), TWO_BD, US_LA) == at(LA, 2025, 6, 11)
    # A plain length of notice is just that length, whatever the day.
    assert notice_deadline(
        at(LA, 2025, 6, 7, 10), Span("48h", delta=timedelta(hours=48)), US_LA
    ) == at(LA, 2025, 6, 9, 10)


def test_notice_deadline_keeps_local_wall_time() -> None:
    deadline = notice_deadline(at(LA, 2025, 3, 3, 10), FIVE_BD, US_LA)
    assert deadline == utc(2025, 3, 10, 17)
    assert deadline.astimezone(LA).hour == 10


def test_classify_announced() -> None:
    window = AnnouncedWindow(
        start=datetime.fromisoformat("2026-12-03T22:00:00-05:00"),
        end=datetime.fromisoformat("2026-12-04T01:00:00-05:00"),
        announced_at=datetime.fromisoformat("2026-12-01T10:00:00-05:00"),
        note="Database upgrade",
    )
    emergency = classify_announced(window, FIVE_BD, US_LA)
    assert emergency.kind is WindowKind.EMERGENCY
    assert emergency.source == "announced"
    assert emergency.name == "Database upgrade"
    assert emergency.timezone == LA
    assert emergency.announced_at == window.announced_at
    assert emergency.interval == Interval(utc(2026, 12, 4, 3), utc(2026, 12, 4, 6))

    scheduled = classify_announced(
        AnnouncedWindow(window.start, window.end, window.announced_at), TWO_BD, US_NY
    )
    assert scheduled.kind is WindowKind.SCHEDULED
    assert scheduled.name == "announced"


# --------------------------------------------------------------------------- wall clock

LOCALIZE = [
    pytest.param(NY, datetime(2025, 3, 9, 2, 0), utc(2025, 3, 9, 7), id="ny-skipped-0200"),
    pytest.param(NY, datetime(2025, 3, 9, 2, 30), utc(2025, 3, 9, 7), id="ny-skipped-0230"),
    pytest.param(NY, datetime(2025, 3, 9, 3, 0), utc(2025, 3, 9, 7), id="ny-0300-after-jump"),
    pytest.param(NY, datetime(2025, 3, 9, 1, 59), utc(2025, 3, 9, 6, 59), id="ny-before-jump"),
    pytest.param(NY, datetime(2025, 11, 2, 1, 30), utc(2025, 11, 2, 5, 30), id="ny-repeated-first"),
    pytest.param(NY, datetime(2025, 11, 2, 2, 0), utc(2025, 11, 2, 7), id="ny-after-repeat"),
    pytest.param(SYD, datetime(2025, 10, 5, 2, 15), utc(2025, 10, 4, 16), id="syd-skipped"),
    pytest.param(SYD, datetime(2025, 4, 6, 2, 30), utc(2025, 4, 5, 15, 30), id="syd-repeated"),
]


@pytest.mark.parametrize(("zone", "wall", "expected"), LOCALIZE)
def test_localize(zone: ZoneInfo, wall: datetime, expected: datetime) -> None:
    assert localize(wall, zone) == expected


# --------------------------------------------------------------------------- recurring windows

# (zone, cron, duration, local day of the occurrence, UTC start, minutes)
DST_WINDOWS = [
    pytest.param(
        NY, "0 2 * * sun", 4, date(2025, 3, 9), utc(2025, 3, 9, 7), 180, id="ny-spring-forward"
    ),
    pytest.param(
        NY, "0 2 * * sun", 4, date(2025, 3, 16), utc(2025, 3, 16, 6), 240, id="ny-next-sunday"
    ),
    pytest.param(
        NY, "0 2 * * sun", 4, date(2025, 3, 2), utc(2025, 3, 2, 7), 240, id="ny-sunday-before"
    ),
    pytest.param(
        NY, "0 0 * * sun", 4, date(2025, 11, 2), utc(2025, 11, 2, 4), 300, id="ny-fall-back-00"
    ),
    pytest.param(
        NY, "0 2 * * sun", 4, date(2025, 11, 2), utc(2025, 11, 2, 7), 240, id="ny-fall-back-02"
    ),
    pytest.param(
        NY, "30 1 * * sun", 1, date(2025, 11, 2), utc(2025, 11, 2, 5, 30), 120, id="ny-in-repeat"
    ),
    pytest.param(
        NY, "30 2 * * sun", 1, date(2025, 3, 9), utc(2025, 3, 9, 7), 30, id="ny-starts-in-gap"
    ),
    pytest.param(
        SYD, "0 1 * * sun", 4, date(2025, 4, 6), utc(2025, 4, 5, 14), 300, id="syd-dst-ends"
    ),
    pytest.param(
        SYD, "0 1 * * sun", 4, date(2025, 10, 5), utc(2025, 10, 4, 15), 180, id="syd-dst-starts"
    ),
    pytest.param(
        SYD, "30 2 * * sun", 1, date(2025, 4, 6), utc(2025, 4, 5, 15, 30), 120, id="syd-in-repeat"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 4, 3), utc(2025, 4, 2, 14), 240, id="syd-thu-before-end"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 4, 10), utc(2025, 4, 9, 15), 240, id="syd-thu-after-end"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 10, 2), utc(2025, 10, 1, 15), 240, id="syd-thu-before"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 10, 9), utc(2025, 10, 8, 14), 240, id="syd-thu-after"
    ),
    # Class Collaborate's published windows (maintenance_windows.yaml).
    pytest.param(
        NY, "0 2 * * thu", 4, date(2025, 7, 3), utc(2025, 7, 3, 6), 240, id="cc-us-summer"
    ),
    pytest.param(
        NY, "0 2 * * thu", 4, date(2025, 1, 9), utc(2025, 1, 9, 7), 240, id="cc-us-winter"
    ),
    pytest.param(
        GMT, "0 0 * * thu", 4, date(2025, 7, 3), utc(2025, 7, 3, 0), 240, id="cc-eu-summer"
    ),
    pytest.param(
        GMT, "0 0 * * thu", 4, date(2025, 1, 9), utc(2025, 1, 9, 0), 240, id="cc-eu-winter"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 1, 9), utc(2025, 1, 8, 14), 240, id="cc-apac-aedt"
    ),
    pytest.param(
        SYD, "0 1 * * thu", 4, date(2025, 7, 10), utc(2025, 7, 9, 15), 240, id="cc-apac-aest"
    ),
]


@pytest.mark.parametrize(("zone", "cron", "duration", "day", "start", "length"), DST_WINDOWS)
def test_recurring_window_wall_clock(
    zone: ZoneInfo, cron: str, duration: float, day: date, start: datetime, length: int
) -> None:
    window = RecurringWindow("w", cron, hours(duration), zone)
    occurrences = expand_recurring(window, local_day(zone, day))
    starting_that_day = [w for w in occurrences if w.interval.start.astimezone(zone).date() == day]
    assert len(starting_that_day) == 1, occurrences
    (occurrence,) = starting_that_day
    assert occurrence.interval.start == start
    assert minutes(occurrence) == length
    assert occurrence.kind is WindowKind.SCHEDULED
    assert occurrence.source == "recurring"
    assert occurrence.timezone == zone


def test_window_entirely_in_skipped_hour_is_left_out() -> None:
    window = RecurringWindow("gap", "0 2 * * sun", timedelta(minutes=30), NY)
    assert expand_recurring(window, local_day(NY, date(2025, 3, 9))) == []
    assert len(expand_recurring(window, local_day(NY, date(2025, 3, 16)))) == 1


def test_repeated_hour_fires_once() -> None:
    window = RecurringWindow("repeat", "30 1 * * *", timedelta(minutes=10), NY)
    found = expand_recurring(window, Interval(utc(2025, 11, 2), utc(2025, 11, 3)))
    assert [w.interval.start for w in found] == [utc(2025, 11, 2, 5, 30)]


CC_US = RecurringWindow("US and Canada", "0 2 * * thu", hours(4), NY, hosting="us")
CC_EU = RecurringWindow("Europe", "0 0 * * thu", hours(4), GMT, hosting="eu")
CC_APAC = RecurringWindow("Asia Pacific", "0 1 * * thu", hours(4), SYD, hosting="apac")

# The US window on Thursday 2025-07-03 is 06:00–10:00 UTC.
PERIOD_EDGES = [
    pytest.param(utc(2025, 7, 3, 6), utc(2025, 7, 4), [utc(2025, 7, 3, 6)], id="starts-at-start"),
    pytest.param(utc(2025, 7, 3, 10), utc(2025, 7, 11), [utc(2025, 7, 10, 6)], id="ends-at-start"),
    pytest.param(utc(2025, 7, 3, 8), utc(2025, 7, 4), [utc(2025, 7, 3, 6)], id="straddles-start"),
    pytest.param(utc(2025, 7, 1), utc(2025, 7, 3, 6), [], id="starts-at-end"),
    pytest.param(utc(2025, 7, 1), utc(2025, 7, 3, 7), [utc(2025, 7, 3, 6)], id="straddles-end"),
    pytest.param(utc(2025, 7, 3, 7), utc(2025, 7, 3, 8), [utc(2025, 7, 3, 6)], id="covers-period"),
]


@pytest.mark.parametrize(("start", "end", "expected"), PERIOD_EDGES)
def test_period_edges(start: datetime, end: datetime, expected: list[datetime]) -> None:
    found = expand_recurring(CC_US, Interval(start, end))
    assert [w.interval.start for w in found] == expected


def month(zone: ZoneInfo, year: int, number: int) -> Interval:
    following = date(year + number // 12, number % 12 + 1, 1)
    return Interval(
        localize(datetime(year, number, 1), zone),
        localize(datetime.combine(following, datetime.min.time()), zone),
    )


WINDOW_COUNTS = [
    pytest.param(CC_US, month(NY, 2025, 1), 5, id="us-jan-2025-five-thursdays"),
    pytest.param(CC_US, month(NY, 2025, 2), 4, id="us-feb-2025"),
    pytest.param(CC_US, month(NY, 2025, 3), 4, id="us-mar-2025-over-dst"),
    pytest.param(CC_EU, month(GMT, 2025, 1), 5, id="eu-jan-2025"),
    pytest.param(CC_APAC, month(SYD, 2025, 1), 5, id="apac-jan-2025"),
    pytest.param(CC_US, month(NY, 2025, 12), 4, id="us-dec-2025"),
    pytest.param(
        RecurringWindow("leap", "0 1 29 2 *", hours(2), NY),
        Interval(utc(2025, 1, 1), utc(2028, 1, 1)),
        0,
        id="leap-day-none-2025-2027",
    ),
    pytest.param(
        RecurringWindow("leap", "0 1 29 2 *", hours(2), NY),
        month(NY, 2028, 2),
        1,
        id="leap-day-2028",
    ),
    pytest.param(
        RecurringWindow("leap", "0 1 29 2 *", hours(2), NY),
        Interval(utc(2024, 1, 1), utc(2032, 3, 1)),
        3,
        id="leap-days-2024-2028-2032",
    ),
    pytest.param(
        RecurringWindow("never", "0 0 30 2 *", hours(2), NY),
        Interval(utc(2025, 1, 1), utc(2030, 1, 1)),
        0,
        id="cron-that-never-fires",
    ),
    pytest.param(
        RecurringWindow("minutely", "* * * * *", timedelta(minutes=1), GMT),
        Interval(utc(2025, 1, 1, 12), utc(2025, 1, 1, 13)),
        60,
        id="every-minute",
    ),
]


@pytest.mark.parametrize(("window", "period", "count"), WINDOW_COUNTS)
def test_window_counts(window: RecurringWindow, period: Interval, count: int) -> None:
    assert len(expand_recurring(window, period)) == count


def test_leap_day_window_time() -> None:
    (found,) = expand_recurring(
        RecurringWindow("leap", "0 1 29 2 *", hours(2), NY), month(NY, 2028, 2)
    )
    assert found.interval == Interval(utc(2028, 2, 29, 6), utc(2028, 2, 29, 8))


# --------------------------------------------------------------------------- vendor windows

ALL_HOSTS = RecurringWindow("Everyone", "0 3 * * sun", hours(1), GMT)
DB_UPGRADE = AnnouncedWindow(
    start=datetime.fromisoformat("2026-12-03T22:00:00-05:00"),
    end=datetime.fromisoformat("2026-12-04T01:00:00-05:00"),
    announced_at=datetime.fromisoformat("2026-12-01T10:00:00-05:00"),
    note="Database upgrade",
)
CLASS_COLLABORATE = VendorCalendar(
    recurring=(CC_US, CC_EU, CC_APAC, ALL_HOSTS), announced=(DB_UPGRADE,)
)

HOSTING = [
    pytest.param("us", {"US and Canada", "Everyone"}, id="us"),
    pytest.param("eu", {"Europe", "Everyone"}, id="eu"),
    pytest.param("apac", {"Asia Pacific", "Everyone"}, id="apac"),
    pytest.param(None, {"Everyone"}, id="no-hosting"),
    pytest.param("mars", {"Everyone"}, id="unknown-hosting"),
]


@pytest.mark.parametrize(("hosting", "names"), HOSTING)
def test_hosting_selects_recurring_windows(hosting: str | None, names: set[str]) -> None:
    assert {w.name for w in CLASS_COLLABORATE.recurring if applies_to(w, hosting)} == names
    found = vendor_windows(
        VendorCalendar(recurring=CLASS_COLLABORATE.recurring),
        hosting,
        TWO_BD,
        US_NY,
        month(NY, 2025, 1),
    )
    assert {w.name for w in found} == names


def test_vendor_windows_merges_recurring_and_announced_in_order() -> None:
    found = vendor_windows(CLASS_COLLABORATE, "us", TWO_BD, US_NY, month(NY, 2026, 12))
    starts = [w.interval.start for w in found]
    assert starts == sorted(starts)
    announced = [w for w in found if w.source == "announced"]
    assert len(announced) == 1
    assert announced[0].name == "Database upgrade"
    assert announced[0].kind is WindowKind.SCHEDULED
    assert sum(w.name == "US and Canada" for w in found) == 5  # Dec 2026 has 5 Thursdays
    emergency = vendor_windows(CLASS_COLLABORATE, "us", FIVE_BD, US_NY, month(NY, 2026, 12))
    assert [w.kind for w in emergency if w.source == "announced"] == [WindowKind.EMERGENCY]


def test_vendor_windows_leaves_out_announced_outside_period() -> None:
    found = vendor_windows(CLASS_COLLABORATE, "us", TWO_BD, US_NY, month(NY, 2026, 11))
    assert all(w.source == "recurring" for w in found)
    # The announced window ends 06:00 UTC on 4 Dec; a period starting then does not get it.
    later = Interval(DB_UPGRADE.end, utc(2026, 12, 5))
    found = vendor_windows(CLASS_COLLABORATE, "us", TWO_BD, US_NY, later)
    assert all(w.source == "recurring" for w in found)


# --------------------------------------------------------------------------- properties

CRONS = ["0 2 * * thu", "0 0 * * sun", "30 1 * * *", "15 */6 * * *", "0 1 29 2 *", "0 3 1 * *"]
ZONES = [
    NY,
    LA,
    SYD,
    GMT,
    ZoneInfo("Europe/London"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("UTC"),
]
DURATIONS = [timedelta(minutes=30), hours(1), hours(4), hours(26)]

periods = st.tuples(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=45)),
).map(lambda t: Interval(t[0].replace(tzinfo=UTC), t[0].replace(tzinfo=UTC) + t[1]))


@settings(max_examples=200, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    duration=st.sampled_from(DURATIONS),
    period=periods,
    cut=st.floats(min_value=0, max_value=1),
)
def test_expansion_properties(
    cron: str, zone: ZoneInfo, duration: timedelta, period: Interval, cut: float
) -> None:
    window = RecurringWindow("w", cron, duration, zone)
    found = expand_recurring(window, period)
    assert all(w.interval.overlaps(period) for w in found)
    assert all(w.interval.duration > timedelta(0) for w in found)
    starts = [w.interval.start for w in found]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    # Splitting the period in two finds the same windows (none lost at the seam).
    middle = period.start + (period.end - period.start) * cut
    halves = expand_recurring(window, Interval(period.start, middle)) + expand_recurring(
        window, Interval(middle, period.end)
    )
    assert sorted({w.interval for w in halves}) == [w.interval for w in found]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    a=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    step=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3)),
)
def test_localize_never_goes_backwards(zone: ZoneInfo, a: datetime, step: timedelta) -> None:
    assert localize(a, zone) <= localize(a + step, zone)
    # a time that exists is read back unchanged
    back = localize(a, zone).astimezone(zone).replace(tzinfo=None)
    assert back >= a


def test_empty_period_has_no_windows() -> None:
    instant = utc(2025, 7, 3, 8)  # inside the US window 06:00–10:00 UTC
    assert expand_recurring(CC_US, Interval(instant, instant)) == []
    assert vendor_windows(CLASS_COLLABORATE, "us", TWO_BD, US_NY, Interval(instant, instant)) == []


def test_business_days_beyond_the_holiday_calendar_are_refused() -> None:
    # The holidays package knows US holidays up to 2100 and silently has none after.
    assert add_business_days(date(2100, 12, 20), 5, US_LA) == date(2100, 12, 28)  # Christmas
    with pytest.raises(CalendarRangeError, match="US public holiday calendar covers 1777 to 2100"):
        add_business_days(date(2100, 12, 28), 5, US_LA)
    no_holidays = BusinessCalendar(timezone=ZoneInfo("UTC"), holidays=None)
    assert add_business_days(date(2100, 12, 28), 5, no_holidays) == date(2101, 1, 4)
