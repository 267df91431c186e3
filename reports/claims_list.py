"""The claims finance has to act on, listed from the months' figures (``uptime-ledger
claims``): the rules of what a claim is and its status are in :mod:`reports.claims`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reports.claims import Claim, claim_of, nearest_first
from reports.maintenance import text_table
from reports.runner import month_for_people, read_records_of
from uptime.config import Config
from uptime.store.finance import ClaimMark


def claims_table(claims: list[Claim]) -> str:
    """One line per claim, as given: vendor, month, amount, earliest deadline, status, and what
    the last mark recorded (ticket and date, amount credited, reason)."""
    rows = [("vendor", "month", "amount", "deadline", "status", "recorded")]
    for c in claims:
        amount = f"{c.amount} {c.currency or ''}".strip()
        deadline = f"{c.deadline:%a %Y-%m-%d}" if c.deadline else "-"
        rows.append((c.vendor, c.month, amount, deadline, c.status, _recorded(c.mark)))
    return text_table(rows)


def _recorded(mark: ClaimMark | None) -> str:
    if mark is None:
        return ""
    said = [f"by {mark.by} {mark.at:%Y-%m-%d}"]
    if mark.ticket:
        said.insert(0, f"ticket {mark.ticket}")
    if mark.on:
        said.insert(1, f"on {mark.on}")
    if mark.amount is not None:
        said.insert(0, f"credited {mark.amount}")
    if mark.reason:
        said.insert(0, f"reason: {mark.reason}")
    return ", ".join(said)


def recent_months(now: datetime, zone: ZoneInfo, count: int = 3) -> list[str]:
    """The month ``now`` falls in on ``zone``'s clock and the ``count`` - 1 before it, as
    ``YYYY-MM``, oldest first."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    labels = []
    for _ in range(count):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return labels[::-1]


def list_claims(
    config: Config,
    db_path: Path,
    now: datetime,
    month: tuple[int, int] | None = None,
    jobs: int = 1,
) -> tuple[list[Claim], list[str]]:
    """The claims as of ``now``, nearest deadline first, and the months looked at.

    Without ``month``: each vendor's current month and the two before it (in its own zone),
    and every month finance marked a claim of. A closed month's claims are its frozen figures
    (:func:`reports.runner.month_for_people`)."""
    records = read_records_of(db_path)
    order = {v.id: n for n, v in enumerate(config.vendors)}
    wanted: dict[str, set[str]] = {}
    if month is not None:
        wanted[f"{month[0]:04d}-{month[1]:02d}"] = set(order)
    else:
        for vendor in config.vendors:
            for label in recent_months(now, vendor.timezone):
                wanted.setdefault(label, set()).add(vendor.id)
        for vendor_id, label in records.marks:
            if vendor_id in order:
                wanted.setdefault(label, set()).add(vendor_id)
    claims = []
    for label in sorted(wanted):
        year, number = int(label[:4]), int(label[5:])
        vendors = sorted(wanted[label], key=order.__getitem__)
        context = month_for_people(config, db_path, year, number, now, jobs, vendors)
        for vendor in context.vendors:
            today = now.astimezone(ZoneInfo(vendor.timezone)).date()
            claim = claim_of(vendor, label, records.latest_mark(vendor.vendor, label), today)
            if claim is not None:
                claims.append(claim)
    return nearest_first(claims), sorted(wanted)
