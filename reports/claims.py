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

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from reports.context import InterruptionContext, VendorContext
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
