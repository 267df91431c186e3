"""The monthly report as JSON (``schema: uptime-ledger.report/1``), exactly as DESIGN.md shows.

It prints the month's context (:mod:`reports.context`) as it is: minutes (rounded there to 2
decimals) and percentages (6 decimals) as JSON numbers, money as a ``Decimal`` string, never a
float, times as ISO 8601 on the vendor's wall clock.
"""

from __future__ import annotations

import json
from typing import Any

from reports.context import InterruptionContext, MonthContext, VendorContext

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
        },
        "interruptions": [_interruption(i) for i in vendor.interruptions],
    }


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
    }
