"""Wiring for reports: fetch a month's data from storage and run the contract engine."""

from __future__ import annotations

from datetime import timedelta

from credits.availability import month_period
from credits.intervals import Interval
from credits.ledger import VendorMonth, vendor_month
from uptime.config import Config
from uptime.storage import WHOLE_VENDOR, Storage


def compute_month(config: Config, storage: Storage, year: int, month: int) -> list[VendorMonth]:
    """Every configured vendor's ``year``-``month``, in configuration order."""
    periods = [month_period(year, month, v.timezone) for v in config.vendors]
    if not periods:
        return []
    # One query for all vendors: their months differ only by time zone offsets.
    span = Interval(
        min(p.start for p in periods) - timedelta(days=1),
        max(p.end for p in periods) + timedelta(days=1),
    )
    down = storage.down_intervals(span)
    months = []
    for vendor in config.vendors:
        seen = down.get(vendor.id, {})
        vendor_wide = seen.get(WHOLE_VENDOR, {})
        months.append(vendor_month(vendor, year, month, seen, vendor_wide_down=vendor_wide))
    return months
