"""Claims: which vendor-months finance should file, by when, and what became of them.

A vendor-month is a claim when the account may claim credits under its contract (a credit
rule, an eligible plan, no invoices in default) and either a credit is due or an interruption
that counts still has an open ticket deadline: ClassSwift asks for a ticket within five
business days of each interruption's end, before anyone knows whether the month will miss its
target, so an open deadline is listed even while the credit is still 0.00.

Status, from what finance recorded (``uptime-ledger claims mark``) and the date:

* ``submitted``, ``accepted``, ``rejected`` — the last mark recorded;
* ``due`` — nothing recorded, and a ticket deadline is still open (or a credit is due and no
  deadline has passed);
* ``overdue`` — nothing recorded, and every ticket deadline has passed.

Deadlines are dates on the business calendar; a deadline is open through the end of its day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from reports.context import InterruptionContext, VendorContext
from reports.maintenance import text_table
from reports.runner import month_for_people, read_records_of
from uptime.config import Config
from uptime.store.finance import ClaimMark


class Claim(NamedTuple):
    """One vendor-month finance has to act on (or has acted on)."""

    vendor: str
    name: str
    month: str
    amount: Decimal
    currency: str | None
    #: the earliest ticket deadline still open, else the earliest one (passed)
    deadline: date | None
    status: str
    #: every interruption's deadline that counts, in time order
    deadlines: tuple[date, ...]
    mark: ClaimMark | None


def counts(interruption: InterruptionContext, maintenance: str) -> bool:
    """Whether an interruption has minutes that lower availability (so it can be claimed)."""
    counted = interruption.downtime + interruption.emergency
    if maintenance == "counts":
        counted += interruption.scheduled
    return counted > 0


def claimable(vendor: VendorContext) -> bool:
    """Whether the account may claim credits from this vendor at all, as the month's figures
    say it (:func:`credits.credit.may_claim` of its contract: a frozen month has only these)."""
    return vendor.credit.kind != "none" and vendor.credit.eligible


def claim_of(
    vendor: VendorContext, month: str, mark: ClaimMark | None, today: date
) -> Claim | None:
    """``vendor``'s claim for ``month`` as of ``today`` (in the vendor's zone), or ``None`` when
    there is nothing to claim and nothing was recorded."""
    if not claimable(vendor) and mark is None:
        return None
    deadlines = tuple(
        i.claim_deadline for i in vendor.interruptions if counts(i, vendor.maintenance)
    )
    still_open = [d for d in deadlines if d >= today]
    amount = vendor.credit.amount
    if mark is None and amount <= 0 and not still_open:
        return None
    deadline = min(still_open) if still_open else min(deadlines, default=None)
    if mark is not None:
        status = mark.status
    elif still_open or deadline is None:
        status = "due"
    else:
        status = "overdue"
    return Claim(
        vendor.vendor,
        vendor.name,
        month,
        amount,
        vendor.credit.currency,
        deadline,
        status,
        deadlines,
        mark,
    )


def nearest_first(claims: list[Claim]) -> list[Claim]:
    """Claims with the nearest deadline first (those without a deadline last), then by month
    and vendor."""
    return sorted(
        claims, key=lambda c: (c.deadline is None, c.deadline or date.max, c.month, c.vendor)
    )


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
