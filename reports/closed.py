"""A closed month as a report shows it: its frozen figures, and what has changed since.

Closing a month (``uptime-ledger close``, :mod:`reports.closing`) stores its JSON report and
the SHA-256 of those bytes. From then on every format of that month renders the frozen report
(:func:`closed_context`), so its figures never move; a fresh computation of the month from the
inputs as they are now is compared with it, and whatever differs (results that arrived late,
for instance) is listed as a change since the close, never folded into the figures.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from reports import json_report
from reports.context import Closed, MonthContext, VendorContext
from uptime.config import Vendor
from uptime.store.finance import MonthClose


def fingerprint(vendor: Vendor) -> str:
    """A digest of everything in ``vendor``'s configuration that its figures depend on: zone,
    quorum, hosting, monitors' areas, criticality and regions, contract, calendar. Equal
    fingerprints mean a configuration change cannot have moved a closed month; a different one
    means the month must be computed again to know."""
    monitors = tuple((m.id, m.functional_area, m.critical, m.regions) for m in vendor.monitors)
    parts = (
        vendor.timezone.key,
        vendor.quorum,
        vendor.hosting,
        monitors,
        vendor.sla,
        vendor.calendar,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def figures(vendor: VendorContext) -> dict[str, Any]:
    """A vendor's entry of the report without its display name: what a close freezes (a
    renamed vendor has the same figures)."""
    entry = json_report.vendor_json(vendor)
    del entry["name"]
    return entry


def vendor_changes(frozen: VendorContext, fresh: VendorContext) -> str | None:
    """One line saying how ``fresh`` differs from the ``frozen`` figures of a vendor, or
    ``None`` when they are equal."""
    if figures(frozen) == figures(fresh):
        return None
    said = []
    if frozen.availability_pct != fresh.availability_pct:
        said.append(f"availability {frozen.availability_pct} % → {fresh.availability_pct} %")
    for bucket in ("scheduled", "downtime", "emergency", "excluded", "unmonitored"):
        before, after = getattr(frozen.minutes, bucket), getattr(fresh.minutes, bucket)
        if before != after:
            said.append(f"{bucket} {before} → {after} min")
    if frozen.credit.amount != fresh.credit.amount:
        currency = f" {fresh.credit.currency}" if fresh.credit.currency else ""
        said.append(f"credit {frozen.credit.amount} → {fresh.credit.amount}{currency}")
    if len(frozen.interruptions) != len(fresh.interruptions):
        said.append(f"{len(frozen.interruptions)} → {len(fresh.interruptions)} interruptions")
    return f"{frozen.vendor}: {', '.join(said) or 'details of its interruptions or windows differ'}"


def changes_since_close(frozen: MonthContext, fresh: MonthContext) -> tuple[str, ...]:
    """What a computation now finds different from the frozen report, one line per vendor."""
    now = {v.vendor: v for v in fresh.vendors}
    lines = []
    for vendor in frozen.vendors:
        if vendor.vendor not in now:
            lines.append(f"{vendor.vendor}: no longer configured")
            continue
        line = vendor_changes(vendor, now.pop(vendor.vendor))
        if line:
            lines.append(line)
    lines += [f"{vendor}: configured after the close, not in the closed figures" for vendor in now]
    return tuple(lines)


def closed_context(
    frozen: bytes, close: MonthClose, fresh: MonthContext | None, printed_at: datetime
) -> MonthContext:
    """The month as its frozen report holds it, marked closed, with the changes a ``fresh``
    computation finds (none when ``fresh`` is ``None``)."""
    month = json_report.parse(frozen)
    return replace(
        month,
        closed=Closed(close.closed_at, close.by, close.sha256),
        changes_since_close=() if fresh is None else changes_since_close(month, fresh),
        printed_at=printed_at,
    )


def only_vendors(month: MonthContext, vendors: set[str]) -> MonthContext:
    """The month with only ``vendors``' entries (and their changes since a close)."""
    return replace(
        month,
        vendors=tuple(v for v in month.vendors if v.vendor in vendors),
        changes_since_close=tuple(
            line for line in month.changes_since_close if line.split(":", 1)[0] in vendors
        ),
    )
