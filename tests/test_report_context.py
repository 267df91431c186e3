"""The report context: the engine's month as the values people read, made once, and the JSON
renderer printing them as they are."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from support_engine import REGIONS, StubVendor

from credits.intervals import Interval
from credits.month import Observations, vendor_month
from reports import json_report
from reports.context import (
    CreditContext,
    ExclusionContext,
    InterruptionContext,
    Minutes,
    MonthContext,
    VendorContext,
    WindowContext,
    minutes,
    percent,
    vendor_context,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Across the spring-forward night (Sunday 9 March 2025, 02:00 PST → 03:00 PDT): 10 min 20 s.
ACROSS_DST = Interval(utc("2025-03-09T09:59:40"), utc("2025-03-09T10:10:00"))
# 10 min 0.3 s: 10.005 minutes, half-up to 10.01 (a float round() would give 10.0).
HALF_WAY = Interval(utc("2025-03-20T17:00:00"), utc("2025-03-20T17:10:00.300000"))


def march(target_pct: str) -> VendorContext:
    down = {"app": {r: [ACROSS_DST, HALF_WAY] for r in REGIONS}}
    return vendor_context(
        vendor_month(StubVendor(target_pct, timezone=LOS_ANGELES), 2025, 3, Observations(down))
    )


@pytest.mark.parametrize(
    ("micros", "printed"),
    [
        (620_000_000, 10.33),  # 10 min 20 s
        (600_300_000, 10.01),  # 10.005: half-up
        (600_299_999, 10.0),
        (0, 0.0),
        (9_000_000_000, 150.0),
    ],
)
def test_minutes_are_rounded_half_up_to_2_decimals(micros: int, printed: float) -> None:
    assert minutes(timedelta(microseconds=micros)) == printed


def test_percentages_are_rounded_half_up_to_6_decimals() -> None:
    assert percent(Fraction(999_999_995, 10_000_000)) == 100.0  # 99.9999995: half-up
    assert percent(Fraction(999_999_994_999, 10_000_000_000)) == 99.999999
    assert percent(Fraction(2, 3) * 100) == 66.666667
    assert percent(Fraction(95)) == 95.0


def test_a_vendor_month_in_the_values_people_read() -> None:
    missed = march("99.99")
    assert (missed.vendor, missed.name, missed.timezone) == ("v", "Vendor", "America/Los_Angeles")
    # The month on the vendor's wall clock: PST at the start, PDT at the end.
    assert missed.period_start.isoformat() == "2025-03-01T00:00:00-08:00"
    assert missed.period_end.isoformat() == "2025-04-01T00:00:00-07:00"
    assert missed.period_start.astimezone(UTC) == utc("2025-03-01T08:00:00")
    assert missed.minutes == Minutes(44640, 0.0, 20.34, 0.0, 0.0, 0.0)
    # (44,640 − 20.338333…) / 44,640, half-up to 6 decimals.
    exact = (44640 - Fraction(620 + Fraction(6003, 10), 60)) / 44640 * 100
    assert missed.availability_pct == 99.954439 == round(float(exact), 6)
    assert (missed.target_pct, missed.met, missed.maintenance) == (99.99, False, "counts")
    assert missed.credit == CreditContext(
        True,
        None,
        0,
        Decimal("0.00"),
        "USD",
        kind="full_hours",
        percent_per_hour=Decimal(100),
        rounding="month",
        scope="all",
        monthly_fee=Decimal("744.00"),
        hourly_fee=Decimal("1.00"),  # 744 / (31 × 24)
    )

    dst, half = missed.interruptions
    assert (dst.start.isoformat(), dst.end.isoformat()) == (
        "2025-03-09T01:59:40-08:00",
        "2025-03-09T03:10:00-07:00",
    )
    assert (dst.start.astimezone(UTC), dst.end.astimezone(UTC)) == ACROSS_DST
    assert (dst.minutes, dst.downtime, dst.scheduled, dst.emergency) == (10.33, 10.33, 0.0, 0.0)
    assert (dst.areas, dst.regions) == (("Classroom app",), REGIONS)
    # Ended on Sunday 9 March: five business days from Monday.
    assert dst.claim_deadline == date(2025, 3, 14)
    assert (half.minutes, half.claim_deadline) == (10.01, date(2025, 3, 27))


def test_a_met_target_says_why_nothing_is_due() -> None:
    met = march("95")
    assert met.met
    assert met.credit[:5] == (True, "availability target met", 0, Decimal("0.00"), "USD")


def test_the_context_is_made_of_frozen_plain_values() -> None:
    context = march("99.99")
    with pytest.raises(AttributeError):
        context.met = True  # type: ignore[misc]
    values = [context.minutes.downtime, context.availability_pct, context.credit.amount]
    assert [type(v) for v in values] == [float, float, Decimal]
    assert all(isinstance(i, InterruptionContext) for i in context.interruptions)


def test_the_json_renderer_prints_the_whole_month_as_it_is() -> None:
    interruption = InterruptionContext(
        start=datetime(2025, 2, 10, 2, 0, tzinfo=LOS_ANGELES),
        end=datetime(2025, 2, 10, 4, 30, tzinfo=LOS_ANGELES),
        minutes=150.0,
        scheduled=0.0,
        emergency=0.0,
        downtime=150.0,
        unmonitored=0.0,
        areas=("ClassSwift Hub", "Classroom app"),
        regions=REGIONS,
        claim_deadline=date(2025, 2, 18),
    )
    vendor = VendorContext(
        vendor="classswift",
        name="ClassSwift — Lehrer",
        timezone="America/Los_Angeles",
        period_start=datetime(2025, 2, 1, tzinfo=LOS_ANGELES),
        period_end=datetime(2025, 3, 1, tzinfo=LOS_ANGELES),
        minutes=Minutes(40320, 240.0, 1900.0, 60.0, 0.0, 0.0),
        maintenance="counts",
        availability_pct=94.543651,
        target_pct=95.0,
        met=False,
        credit=CreditContext(
            True,
            None,
            36,
            Decimal("36.00"),
            "USD",
            kind="full_hours",
            percent_per_hour=Decimal(100),
            rounding="month",
            scope="all",
            monthly_fee=Decimal("672.00"),
            hourly_fee=Decimal("1.00"),
        ),
        interruptions=(interruption,),
        exclusions=(
            ExclusionContext(
                start=datetime(2025, 2, 20, 9, tzinfo=LOS_ANGELES),
                end=datetime(2025, 2, 20, 10, tzinfo=LOS_ANGELES),
                reason="district network",
                minutes=0.0,
                id=7,
                by="ana",
            ),
        ),
        windows=(
            WindowContext(
                start=datetime(2025, 2, 4, 22, tzinfo=LOS_ANGELES),
                end=datetime(2025, 2, 5, 2, tzinfo=LOS_ANGELES),
                kind="scheduled",
                name="Upgrade",
                announced_at=datetime(2025, 1, 20, 9, tzinfo=LOS_ANGELES),
            ),
        ),
    )
    month = MonthContext(2025, 2, datetime(2025, 3, 2, 9, 0, 0, 123456, tzinfo=UTC), (vendor,))
    document = json_report.render(month)
    assert (
        document
        == (
            '{"schema": "uptime-ledger.report/1", "month": "2025-02", '
            '"generated_at": "2025-03-02T09:00:00+00:00", "vendors": [{'
            '"vendor": "classswift", "name": "ClassSwift — Lehrer", '
            '"timezone": "America/Los_Angeles", '
            '"period": {"start": "2025-02-01T00:00:00-08:00", "end": "2025-03-01T00:00:00-08:00"}, '
            '"minutes": {"total": 40320, "scheduled": 240.0, "downtime": 1900.0, '
            '"emergency": 60.0, "excluded": 0.0, "unmonitored": 0.0}, '
            '"maintenance": "counts", "availability_pct": 94.543651, "target_pct": 95.0, '
            '"met": false, "credit": {"eligible": true, "reason": null, "hours": 36, '
            '"amount": "36.00", "currency": "USD", "kind": "full_hours", '
            '"percent_per_hour": 100, "rounding": "month", "scope": "all", '
            '"monthly_fee": "672.00", "hourly_fee": "1.00", "band": null, "cap": null, '
            '"capped": false}, '
            '"interruptions": [{"start": "2025-02-10T02:00:00-08:00", '
            '"end": "2025-02-10T04:30:00-08:00", "minutes": 150.0, "scheduled": 0.0, '
            '"emergency": 0.0, "downtime": 150.0, "areas": ["ClassSwift Hub", "Classroom app"], '
            '"regions": ["atlanta", "california", "chicago"], "claim_deadline": "2025-02-18", '
            '"unmonitored": 0.0}], "unmonitored_policy": "as_up", "exclusions": [{'
            '"start": "2025-02-20T09:00:00-08:00", "end": "2025-02-20T10:00:00-08:00", '
            '"reason": "district network", "minutes": 0.0, "id": 7, "by": "ana"}], '
            '"windows": [{"start": "2025-02-04T22:00:00-08:00", '
            '"end": "2025-02-05T02:00:00-08:00", "kind": "scheduled", "name": "Upgrade", '
            '"announced_at": "2025-01-20T09:00:00-08:00"}]}]}\n'
        ).encode()
    )
    assert json.loads(document)["vendors"][0]["name"] == "ClassSwift — Lehrer"
    # A closed month's frozen report renders into the other formats: it parses back into the
    # context it came from (to the second, as printed).
    parsed = json_report.parse(document)
    assert parsed.vendors == (vendor,)
    assert parsed.generated_at == month.generated_at.replace(microsecond=0)
    assert parsed.vendors[0].period_start.tzinfo is LOS_ANGELES
    assert json_report.render(parsed) == document
    assert json_report.render(MonthContext(2025, 2, month.generated_at, ())).endswith(
        b'"vendors": []}\n'
    )


def test_every_time_keeps_its_instant() -> None:
    context = march("99.99")
    for part, engine in zip(context.interruptions, (ACROSS_DST, HALF_WAY), strict=True):
        assert part.start.tzinfo is part.end.tzinfo is LOS_ANGELES
        assert Interval(part.start, part.end) == engine
    # Python subtracts two times of one zone on the wall clock: lengths come from the instants.
    dst = context.interruptions[0]
    assert dst.end - dst.start == timedelta(hours=1, minutes=10, seconds=20)
    assert dst.end.astimezone(UTC) - dst.start.astimezone(UTC) == timedelta(minutes=10, seconds=20)
