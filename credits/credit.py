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
  (as AWS and Azure credit). Every band is at or below the target (the configuration refuses
  others), so a band pays only in a month that missed the target.

Whatever the kind, a month that met its target earns nothing ("availability target met").

Monthly fee = ``fee`` (per month) or ``fee`` / 12 (per year); hourly fee = monthly fee /
(days in the month × 24). ``cap_pct_of_fee`` caps the credit at that percent of the monthly
fee. A plan that is not eligible (ClassSwift Lite, Basic, promotional) or an account with
invoices in default (§4.4) earns 0.00 with the reason. Money is exact (``Fraction``) until the
end, then rounded half-up to cents once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from credits.availability import MonthAvailability
from credits.intervals import HOUR, ratio
from credits.model import Fee, SlaPolicy, Tier

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Credit:
    """The credit a month earns: whether the account may claim, why not, hours, amount, and
    how the amount was computed, for a report to write it out (finance checks the arithmetic):

    * ``monthly_fee`` — the fee for the month (a yearly fee / 12), exact; ``None`` without a fee;
    * ``hourly_fee`` — the monthly fee / the month's hours, exact (``full_hours`` only);
    * ``band`` — the tier the availability fell into (``tiers`` only, ``None`` when none);
    * ``cap`` — the most the contract pays in a month (``cap_pct_of_fee`` of the monthly fee),
      and ``capped``, whether the cap cut the amount.
    """

    eligible: bool
    reason: str | None
    hours: int | None
    amount: Decimal
    currency: str | None
    kind: str = "none"
    monthly_fee: Fraction | None = None
    hourly_fee: Fraction | None = None
    band: Tier | None = None
    cap: Fraction | None = None
    capped: bool = False


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
    # The hours the vendor may spend before it owes anything (exact: a Fraction).
    allowance: Fraction | int = 0
    if rule.scope == "excess":
        allowance = ratio(month.denominator, HOUR) * (1 - month.target_pct / 100)
    if rule.rounding == "month":
        return max(0, math.floor(ratio(month.counted, HOUR) - allowance))
    hours = 0
    for part in month.parts:  # in time order: the allowance is spent first
        counted = part.buckets.counted(month.maintenance)
        if allowance > 0:
            spent = min(allowance, ratio(counted, HOUR))
            allowance -= spent
            hours += math.floor(ratio(counted, HOUR) - spent)
        else:
            hours += counted // HOUR
    return hours


def tier_band(month: MonthAvailability, policy: SlaPolicy) -> Tier | None:
    """The ``tiers`` band the month falls into: the lowest band its availability is below
    (``None`` when it is below none)."""
    bands = [t for t in policy.credit.tiers if month.availability_pct < Fraction(t.below_pct)]
    return min(bands, key=lambda t: t.below_pct, default=None)


def tier_pct(month: MonthAvailability, policy: SlaPolicy) -> Fraction:
    """The ``tiers`` credit as a percent of the monthly fee: that of :func:`tier_band` (0 when
    the month is below no band)."""
    band = tier_band(month, policy)
    return Fraction(0) if band is None else Fraction(band.credit_pct)


def may_claim(policy: SlaPolicy) -> bool:
    """Whether the account can ever claim a credit under ``policy``: a credit rule with a fee,
    an eligible plan, no invoices in default. (A month's :class:`Credit` says the same as
    ``kind != "none" and eligible``.)"""
    return (
        policy.credit.kind != "none"
        and policy.fee is not None
        and policy.eligible
        and not policy.invoices_in_default
    )


def no_credit_reason(month: MonthAvailability, policy: SlaPolicy) -> str | None:
    """Why the month's credit is 0.00, or None when a credit is due."""
    if policy.credit.kind == "none" or policy.fee is None:
        return "the contract defines no service credit"
    if month.met:
        return "availability target met"
    if not policy.eligible:
        return "plan not eligible for service credits"
    if policy.invoices_in_default:
        return "invoices in default: no credit can be claimed"
    return None


def month_credit(month: MonthAvailability, policy: SlaPolicy) -> Credit:
    """The credit ``policy`` grants for ``month``, with the reason when it is 0.00.

    Nothing is paid for a month that met its target, whatever the kind. ``hours`` is reported
    for ``full_hours`` even when the account may not claim them."""
    rule, fee = policy.credit, policy.fee
    eligible = policy.eligible and not policy.invoices_in_default
    hours: int | None = None
    hourly_fee: Fraction | None = None
    band: Tier | None = None
    cap: Fraction | None = None
    amount = Fraction(0)
    if fee is not None and rule.kind == "full_hours":
        hours = credit_hours(month, policy)
        hourly_fee = monthly_fee(fee) / ratio(month.total, HOUR)
        amount = hours * Fraction(rule.percent_per_hour) / 100 * hourly_fee
    elif fee is not None and rule.kind == "tiers" and not month.met:
        band = tier_band(month, policy)
        amount = tier_pct(month, policy) / 100 * monthly_fee(fee)
    capped = False
    if fee is not None and rule.cap_pct_of_fee is not None:
        cap = monthly_fee(fee) * Fraction(rule.cap_pct_of_fee) / 100
        capped = amount > cap
        amount = min(amount, cap)
    return Credit(
        eligible=eligible,
        reason=no_credit_reason(month, policy),
        hours=hours,
        amount=to_cents(amount if eligible else Fraction(0)),
        currency=fee.currency if fee else None,
        kind=rule.kind if fee is not None else "none",
        monthly_fee=monthly_fee(fee) if fee is not None else None,
        hourly_fee=hourly_fee,
        band=band,
        cap=cap,
        capped=capped,
    )
