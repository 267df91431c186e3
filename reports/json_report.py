"""The monthly report as JSON (``schema: uptime-ledger.report/1``), exactly as DESIGN.md shows.

It prints the month's context (:mod:`reports.context`) as it is: minutes (rounded there to 2
decimals) and percentages (6 decimals) as JSON numbers, money as a ``Decimal`` string, never a
float, times as ISO 8601 on the vendor's wall clock.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from reports.context import (
    Band,
    CreditContext,
    ExclusionContext,
    InterruptionContext,
    Minutes,
    MonthContext,
    VendorContext,
    WindowContext,
)
from uptime.errors import UptimeLedgerError

SCHEMA = "uptime-ledger.report/1"


def render(month: MonthContext) -> bytes:
    """The whole report for ``month`` as UTF-8 JSON on one line (``jq .`` pretty-prints it)."""
    document = {
        "schema": SCHEMA,
        "month": month.label,
        "generated_at": month.generated_at.isoformat(timespec="seconds"),
        "vendors": [vendor_json(vendor) for vendor in month.vendors],
    }
    # One line keeps json's C encoder, which matters for a thousand vendors; the document is
    # a fresh tree, so the check for reference cycles would only cost time.
    return (json.dumps(document, ensure_ascii=False, check_circular=False) + "\n").encode()


def vendor_json(vendor: VendorContext) -> dict[str, Any]:
    """One vendor's entry of the report (also what the API serves for one vendor-month)."""
    minutes, credit = vendor.minutes, vendor.credit
    return {
        "vendor": vendor.vendor,
        "name": vendor.name,
        "timezone": vendor.timezone,
        "period": {
            "start": vendor.period_start.isoformat(),
            "end": vendor.period_end.isoformat(),
        },
        "minutes": {
            "total": minutes.total,
            "scheduled": minutes.scheduled,
            "downtime": minutes.downtime,
            "emergency": minutes.emergency,
            "excluded": minutes.excluded,
            "unmonitored": minutes.unmonitored,
        },
        "maintenance": vendor.maintenance,
        "availability_pct": vendor.availability_pct,
        "target_pct": vendor.target_pct,
        "met": vendor.met,
        "credit": {
            "eligible": credit.eligible,
            "reason": credit.reason,
            "hours": credit.hours,
            "amount": str(credit.amount),
            "currency": credit.currency,
            "kind": credit.kind,
            "percent_per_hour": _number(credit.percent_per_hour),
            "rounding": credit.rounding,
            "scope": credit.scope,
            "monthly_fee": _text(credit.monthly_fee),
            "hourly_fee": _text(credit.hourly_fee),
            "band": None
            if credit.band is None
            else {
                "below_pct": _number(credit.band.below_pct),
                "credit_pct": _number(credit.band.credit_pct),
            },
            "cap": _text(credit.cap),
            "capped": credit.capped,
        },
        "interruptions": [_interruption(i) for i in vendor.interruptions],
        "unmonitored_policy": vendor.unmonitored_policy,
        "exclusions": [
            {
                "start": e.start.isoformat(),
                "end": e.end.isoformat(),
                "reason": e.reason,
                "minutes": e.minutes,
                "id": e.id,
                "by": e.by,
            }
            for e in vendor.exclusions
        ],
        "windows": [
            {
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "kind": w.kind,
                "name": w.name,
                "announced_at": None if w.announced_at is None else w.announced_at.isoformat(),
            }
            for w in vendor.windows
        ],
    }


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _interruption(interruption: InterruptionContext) -> dict[str, Any]:
    return {
        "start": interruption.start.isoformat(),
        "end": interruption.end.isoformat(),
        "minutes": interruption.minutes,
        "scheduled": interruption.scheduled,
        "emergency": interruption.emergency,
        "downtime": interruption.downtime,
        "areas": interruption.areas,  # a tuple is a JSON array
        "regions": interruption.regions,
        "claim_deadline": interruption.claim_deadline.isoformat(),
        "unmonitored": interruption.unmonitored,
    }


class NotAReport(UptimeLedgerError):
    """Bytes that are not an uptime-ledger report of this schema."""


def parse(data: bytes) -> MonthContext:
    """The month a report rendered by :func:`render` holds, as the context it was rendered
    from (times on each vendor's clock again): a closed month's frozen report renders into
    every other format from this. Raises :class:`NotAReport` for anything else."""
    try:
        document = json.loads(data)
        if document.get("schema") != SCHEMA:
            raise NotAReport(f"not an {SCHEMA} document")
        year, month = (int(part) for part in document["month"].split("-"))
        return MonthContext(
            year=year,
            month=month,
            generated_at=datetime.fromisoformat(document["generated_at"]).astimezone(UTC),
            vendors=tuple(_vendor(entry) for entry in document["vendors"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise NotAReport(f"not a readable {SCHEMA} document: {error}") from None


def _vendor(entry: dict[str, Any]) -> VendorContext:
    zone = ZoneInfo(entry["timezone"])

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(zone)

    m, c = entry["minutes"], entry["credit"]
    band = c["band"]
    return VendorContext(
        vendor=entry["vendor"],
        name=entry["name"],
        timezone=entry["timezone"],
        period_start=at(entry["period"]["start"]),
        period_end=at(entry["period"]["end"]),
        minutes=Minutes(
            m["total"],
            m["scheduled"],
            m["downtime"],
            m["emergency"],
            m["excluded"],
            m["unmonitored"],
        ),
        maintenance=entry["maintenance"],
        availability_pct=entry["availability_pct"],
        target_pct=entry["target_pct"],
        met=entry["met"],
        credit=CreditContext(
            eligible=c["eligible"],
            reason=c["reason"],
            hours=c["hours"],
            amount=Decimal(c["amount"]),
            currency=c["currency"],
            kind=c["kind"],
            percent_per_hour=_decimal(c["percent_per_hour"]),
            rounding=c["rounding"],
            scope=c["scope"],
            monthly_fee=_decimal(c["monthly_fee"]),
            hourly_fee=_decimal(c["hourly_fee"]),
            band=None
            if band is None
            else Band(Decimal(str(band["below_pct"])), Decimal(str(band["credit_pct"]))),
            cap=_decimal(c["cap"]),
            capped=c["capped"],
        ),
        interruptions=tuple(
            InterruptionContext(
                start=at(i["start"]),
                end=at(i["end"]),
                minutes=i["minutes"],
                scheduled=i["scheduled"],
                emergency=i["emergency"],
                downtime=i["downtime"],
                unmonitored=i["unmonitored"],
                areas=tuple(i["areas"]),
                regions=tuple(i["regions"]),
                claim_deadline=date.fromisoformat(i["claim_deadline"]),
            )
            for i in entry["interruptions"]
        ),
        unmonitored_policy=entry["unmonitored_policy"],
        exclusions=tuple(
            ExclusionContext(
                start=at(e["start"]),
                end=at(e["end"]),
                reason=e["reason"],
                minutes=e["minutes"],
                id=e["id"],
                by=e["by"],
            )
            for e in entry["exclusions"]
        ),
        windows=tuple(
            WindowContext(
                start=at(w["start"]),
                end=at(w["end"]),
                kind=w["kind"],
                name=w["name"],
                announced_at=None if w["announced_at"] is None else at(w["announced_at"]),
            )
            for w in entry["windows"]
        ),
    )


def _decimal(value: str | float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
