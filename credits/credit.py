"""Service credits: what a missed month pays back, in exact money.

Kinds of credit (``sla.credit.kind``):

* ``none`` — the contract promises no credit; the month is still measured and reported.
* ``full_hours`` — ClassSwift SLA §4.3: once availability is below target, ``percent_per_hour``
  % of the hourly fee "for every full hour of un-Availability". ``rounding: month`` floors the
  month's counted minutes to whole hours; ``rounding: incident`` floors each interruption
  separately (a 95-minute outage is one hour). ``scope: all`` counts every counted hour;
  ``scope: excess`` only the hours beyond the allowance T × (1 − target), consumed by the
  interruptions in time order when rounding per incident.
* ``tiers`` — a percent of the monthly fee for the lowest band the availability falls below
  (as AWS and Azure credit).

Monthly fee = ``fee`` (per month) or ``fee`` / 12 (per year); hourly fee = monthly fee /
(days in the month × 24). ``cap_pct_of_fee`` caps the credit at that percent of the monthly
fee. A plan that is not eligible (ClassSwift Lite, Basic, promotional) or an account with
invoices in default (§4.4) earns 0.00 with the reason. Money is exact (``Fraction``) until the
end, then rounded half-up to cents once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from credits.availability import MonthAvailability
from credits.model import Fee, SlaPolicy

CENT = Decimal("0.01")
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class Credit:
    """The credit a month earns: whether the account may claim, why not, hours, amount."""

    eligible: bool
    reason: str | None
    hours: int | None
    amount: Decimal
    currency: str | None


def monthly_fee(fee: Fee) -> Fraction:
    """The fee for one month: the amount itself, or a yearly amount divided by 12."""
    amount = Fraction(fee.amount)
    return amount / 12 if fee.per == "year" else amount


def to_cents(amount: Fraction) -> Decimal:
    """Round an exact amount half-up to cents, once."""
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(amount.numerator) / Decimal(amount.denominator)
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def credit_hours(month: MonthAvailability, policy: SlaPolicy) -> int:
    """Full hours of un-availability the ``full_hours`` credit pays for (0 when the target is
    met); see the module docstring for ``rounding`` and ``scope``."""
    if month.met:
        return 0
    rule = policy.credit
    allowance = month.denominator_us * (1 - month.target_pct / 100) if rule.scope == "excess" else 0
    if rule.rounding == "month":
        return max(0, (month.counted_us - allowance) // HOUR_US)
    hours = 0
    remaining = allowance
    for part in sorted(month.parts, key=lambda p: p.interval.start):
        counted = part.counted_us(month.maintenance)
        used = min(remaining, counted)
        remaining -= used
        hours += (counted - used) // HOUR_US
    return hours


def month_credit(month: MonthAvailability, policy: SlaPolicy) -> Credit:
    """The credit ``policy`` grants for ``month``, with the reason when it is 0.00."""
    rule = policy.credit
    currency = policy.fee.currency if policy.fee else None
    eligible = policy.eligible and not policy.invoices_in_default
    reason: str | None = None
    hours: int | None = None
    amount = Fraction(0)
    if rule.kind == "none" or policy.fee is None:
        reason = "the contract defines no service credit"
    elif rule.kind == "full_hours":
        hours = credit_hours(month, policy)
        fee = monthly_fee(policy.fee)
        amount = hours * (Fraction(rule.percent_per_hour) / 100) * fee / (month.days * 24)
    else:
        below = sorted(
            (t for t in rule.tiers if month.availability_pct < Fraction(t.below_pct)),
            key=lambda t: t.below_pct,
        )
        if below:
            amount = monthly_fee(policy.fee) * Fraction(below[0].credit_pct) / 100
    if rule.kind != "none" and policy.fee is not None:
        if rule.cap_pct_of_fee is not None:
            amount = min(amount, monthly_fee(policy.fee) * Fraction(rule.cap_pct_of_fee) / 100)
        if month.met:
            reason = "availability target met"
        elif not policy.eligible:
            reason = "plan not eligible for service credits"
        elif policy.invoices_in_default:
            reason = "invoices in default: no credit can be claimed"
    if not eligible:
        amount = Fraction(0)
    return Credit(
        eligible=eligible, reason=reason, hours=hours, amount=to_cents(amount), currency=currency
    )
