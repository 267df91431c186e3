"""Wiring for reports: fetch a month's data from storage and run the contract engine."""

from __future__ import annotations

from datetime import datetime, timedelta

from credits.availability import month_period
from credits.intervals import Interval
from credits.ledger import VendorMonth, vendor_month
from uptime.config import Config
from uptime.storage import WHOLE_VENDOR, Storage


def compute_month(
    config: Config, storage: Storage, year: int, month: int, now: datetime
) -> list[VendorMonth]:
    """Every configured vendor's ``year``-``month``, in configuration order, from imported
    outages and probe state intervals (read as of ``now``)."""
    periods = [month_period(year, month, v.timezone) for v in config.vendors]
    if not periods:
        return []
    # One query for all vendors: their months differ only by time zone offsets.
    span = Interval(
        min(p.start for p in periods) - timedelta(days=1),
        max(p.end for p in periods) + timedelta(days=1),
    )
    imported = storage.imported_outages(span)
    down, unknown = storage.state_views(span, now)
    first_seen: dict[str, dict[tuple[str, str], datetime]] = {}
    for (vendor_id, monitor, region), at in storage.first_seen.items():
        first_seen.setdefault(vendor_id, {})[monitor, region] = at
    return [
        vendor_month(
            vendor,
            year,
            month,
            down.get(vendor.id, {}),
            unknown.get(vendor.id, {}),
            vendor_wide_down=imported.get(vendor.id, {}).get(WHOLE_VENDOR, {}),
            first_seen=first_seen.get(vendor.id),
            observed_until=now,
        )
        for vendor in config.vendors
    ]
