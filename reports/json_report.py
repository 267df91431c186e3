"""The monthly report as JSON (``schema: uptime-ledger.report/1``), exactly as DESIGN.md shows.

Minutes are exact in the engine and printed to 2 decimals; availability to 6 decimals; money
is a ``Decimal`` string, never a float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from credits.availability import InterruptionPart
from credits.intervals import MINUTE
from credits.month import VendorMonth

SCHEMA = "uptime-ledger.report/1"


def decimal_places(value: Fraction, places: int) -> float:
    """An exact non-negative value rounded half-up to ``places`` decimals, as a JSON number
    (the nearest double, which prints with at most ``places`` decimals)."""
    scale = 10**places
    numerator, denominator = value.numerator * scale, value.denominator
    return ((2 * numerator + denominator) // (2 * denominator)) / scale


def minutes(duration: timedelta) -> float:
    """An exact length in minutes, rounded half-up to 2 decimals."""
    return ((200 * duration) // MINUTE + 1) // 2 / 100


def _local(instant: datetime, month: VendorMonth) -> str:
    return instant.astimezone(month.vendor.timezone).isoformat()


def _interruption(part: InterruptionPart, deadline: str, month: VendorMonth) -> dict[str, Any]:
    return {
        "start": _local(part.interval.start, month),
        "end": _local(part.interval.end, month),
        "minutes": minutes(part.interval.duration),
        "scheduled": minutes(part.buckets.scheduled),
        "emergency": minutes(part.buckets.emergency),
        "downtime": minutes(part.buckets.downtime),
        "areas": list(part.interruption.areas),
        "regions": list(part.interruption.regions),
        "claim_deadline": deadline,
    }


def vendor_json(month: VendorMonth) -> dict[str, Any]:
    """One vendor's entry of the report."""
    a = month.availability
    credit = month.credit
    return {
        "vendor": month.vendor.id,
        "name": month.vendor.name,
        "timezone": month.vendor.timezone.key,
        "period": {"start": _local(a.period.start, month), "end": _local(a.period.end, month)},
        "minutes": {
            "total": a.total // MINUTE,  # days × 1,440: always whole minutes
            "scheduled": minutes(a.buckets.scheduled),
            "downtime": minutes(a.buckets.downtime),
            "emergency": minutes(a.buckets.emergency),
            "excluded": minutes(a.buckets.excluded),
            "unmonitored": minutes(a.unmonitored),
        },
        "maintenance": a.maintenance,
        "availability_pct": decimal_places(a.availability_pct, 6),
        "target_pct": decimal_places(a.target_pct, 6),
        "met": a.met,
        "credit": {
            "eligible": credit.eligible,
            "reason": credit.reason,
            "hours": credit.hours,
            "amount": str(credit.amount),
            "currency": credit.currency,
        },
        "interruptions": [
            _interruption(part, deadline.isoformat(), month)
            for part, deadline in zip(a.parts, month.claim_deadlines, strict=True)
        ],
    }


def vendor_json_text(month: VendorMonth) -> str:
    """One vendor's entry of the report as JSON text, for :func:`report_text`."""
    return json.dumps(vendor_json(month), ensure_ascii=False)


def report_text(vendor_entries: Iterable[str], month: str, generated_at: datetime) -> str:
    """The whole report document for ``month`` (``YYYY-MM``) as JSON text on one line (``jq .``
    pretty-prints it), from each vendor's entry as :func:`vendor_json_text` gives it.

    Built from text so the vendors' entries can be rendered in other processes and joined here;
    the compact form keeps json's C encoder, which matters for a thousand vendors."""
    head = json.dumps(
        {
            "schema": SCHEMA,
            "month": month,
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "vendors": [],
        }
    )
    return f"{head[: -len('[]}')]}[{', '.join(vendor_entries)}]}}\n"
