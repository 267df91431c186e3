"""The monthly report as CSV, for the spreadsheet: the JSON report's figures, flattened.

Two shapes (``--rows``): ``vendors`` (the default), one row per vendor-month, and
``interruptions``, one row per interruption. Every column is documented in docs/csv.md; its
name is the JSON key it comes from, flattened (``minutes.total`` → ``total_min``,
``credit.amount`` → ``credit_amount``), and its value is the JSON value written as text:

* minutes and percentages as JSON prints them (``150.0``, ``94.543651``), money as the
  ``Decimal``'s plain text (``36.00``), never a float and never with a thousands separator;
* times ISO 8601 with their UTC offset, on the vendor's clock (a spreadsheet keeps them as
  text, so no time is shifted to the machine's zone), dates ``YYYY-MM-DD``;
* ``true``/``false`` for booleans, an empty cell for JSON ``null``, lists joined with ``; ``.

The file is UTF-8 with a byte-order mark (so a spreadsheet opened by double-click reads accented
vendor names right; Python reads it with ``encoding="utf-8-sig"``), a header row and CRLF line
ends (RFC 4180). Free text (vendor names, reasons, areas) that a spreadsheet would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with
``'``; numbers are never touched, as no number column holds free text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from reports.context import MonthContext, VendorContext

Cell = str | int | float | bool | Decimal | date | datetime | None

#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text(value: str | None) -> str:
    """Free text as a cell a spreadsheet shows as text, never evaluates: one starting like a
    formula gets a leading ``'``."""
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: Cell) -> str:
    """A figure, time or flag as the JSON report writes it, as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # what json.dumps writes: 150.0, 10.33
    return str(value)


def earliest_deadline(vendor: VendorContext) -> date | None:
    """The first claim deadline of the vendor's month, ``None`` without interruptions."""
    return min((i.claim_deadline for i in vendor.interruptions), default=None)


#: ``--rows vendors``: column → its value for one vendor of a month.
VENDOR_COLUMNS: dict[str, Callable[[MonthContext, VendorContext], str]] = {
    "month": lambda m, v: m.label,
    "vendor": lambda m, v: text(v.vendor),
    "name": lambda m, v: text(v.name),
    "timezone": lambda m, v: v.timezone,
    "period_start": lambda m, v: cell(v.period_start),
    "period_end": lambda m, v: cell(v.period_end),
    "total_min": lambda m, v: cell(v.minutes.total),
    "scheduled_min": lambda m, v: cell(v.minutes.scheduled),
    "downtime_min": lambda m, v: cell(v.minutes.downtime),
    "emergency_min": lambda m, v: cell(v.minutes.emergency),
    "excluded_min": lambda m, v: cell(v.minutes.excluded),
    "unmonitored_min": lambda m, v: cell(v.minutes.unmonitored),
    "maintenance": lambda m, v: v.maintenance,
    "unmonitored_policy": lambda m, v: v.unmonitored_policy,
    "availability_pct": lambda m, v: cell(v.availability_pct),
    "target_pct": lambda m, v: cell(v.target_pct),
    "met": lambda m, v: cell(v.met),
    "credit_eligible": lambda m, v: cell(v.credit.eligible),
    "credit_reason": lambda m, v: text(v.credit.reason),
    "credit_hours": lambda m, v: cell(v.credit.hours),
    "credit_amount": lambda m, v: cell(v.credit.amount),
    "currency": lambda m, v: cell(v.credit.currency),
    "credit_kind": lambda m, v: v.credit.kind,
    "credit_percent_per_hour": lambda m, v: cell(v.credit.percent_per_hour),
    "credit_rounding": lambda m, v: cell(v.credit.rounding),
    "credit_scope": lambda m, v: cell(v.credit.scope),
    "credit_monthly_fee": lambda m, v: cell(v.credit.monthly_fee),
    "credit_hourly_fee": lambda m, v: cell(v.credit.hourly_fee),
    "credit_band_below_pct": lambda m, v: cell(v.credit.band and v.credit.band.below_pct),
    "credit_band_credit_pct": lambda m, v: cell(v.credit.band and v.credit.band.credit_pct),
    "credit_cap": lambda m, v: cell(v.credit.cap),
    "credit_capped": lambda m, v: cell(v.credit.capped),
    "interruptions": lambda m, v: cell(len(v.interruptions)),
    "exclusions": lambda m, v: cell(len(v.exclusions)),
    "windows": lambda m, v: cell(len(v.windows)),
    "earliest_claim_deadline": lambda m, v: cell(earliest_deadline(v)),
    "generated_at": lambda m, v: m.generated_at.isoformat(timespec="seconds"),
    "closed": lambda m, v: cell(m.closed is not None),
    "closed_at": lambda m, v: cell(m.closed and m.closed.closed_at.isoformat(timespec="seconds")),
    "sha256": lambda m, v: cell(m.closed and m.closed.sha256),
}

#: ``--rows interruptions``: the columns of one interruption, after its vendor's.
INTERRUPTION_COLUMNS = (
    "month",
    "vendor",
    "name",
    "timezone",
    "start",
    "end",
    "start_utc",
    "end_utc",
    "minutes",
    "scheduled_min",
    "emergency_min",
    "downtime_min",
    "unmonitored_min",
    "areas",
    "regions",
    "claim_deadline",
)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def render_vendors(month: MonthContext) -> bytes:
    """One row per vendor-month (``--rows vendors``), in configuration order."""
    columns = tuple(VENDOR_COLUMNS.values())
    return _table(tuple(VENDOR_COLUMNS), ([c(month, v) for c in columns] for v in month.vendors))


def render_interruptions(month: MonthContext) -> bytes:
    """One row per interruption (``--rows interruptions``): vendors in configuration order,
    each one's interruptions in time order."""
    # 30,000 rows for a thousand vendors: the vendor's cells are made once for its rows, and
    # each interruption's are written as cell() would write their types (times isoformat,
    # minutes repr), without its dispatch: 0.89 s became 0.49 s (docs/benchmarks.md).
    rows = []
    for v in month.vendors:
        vendor = (month.label, text(v.vendor), text(v.name), v.timezone)
        rows.extend(
            (
                *vendor,
                i.start.isoformat(),
                i.end.isoformat(),
                i.start.astimezone(UTC).isoformat(),
                i.end.astimezone(UTC).isoformat(),
                repr(i.minutes),
                repr(i.scheduled),
                repr(i.emergency),
                repr(i.downtime),
                repr(i.unmonitored),
                text("; ".join(i.areas)),
                "; ".join(i.regions),
                i.claim_deadline.isoformat(),
            )
            for i in v.interruptions
        )
    return _table(INTERRUPTION_COLUMNS, rows)


#: ``--rows`` → renderer.
ROWS: dict[str, Callable[[MonthContext], bytes]] = {
    "vendors": render_vendors,
    "interruptions": render_interruptions,
}

#: The default shape, as every renderer is called: the whole month in, bytes out.
render = render_vendors
