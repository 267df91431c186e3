"""The month as people read it: plain values that every report format renders as they are.

The engine (:class:`credits.month.VendorMonth`) keeps exact timedeltas, fractions and UTC
instants. People read rounded figures, times on the vendor's wall clock and in UTC, deadlines
and reasons. This module makes those values once, so the JSON report, and the CSV, HTML, PDF
and claim packets after it, print the same figures without deriving them again: a renderer
takes a :class:`MonthContext` and returns bytes.

Values (docs/report-json.md):

* minutes are exact to the second in the engine and rounded half-up here to 2 decimals,
  percentages to 6; each is the ``float`` nearest the rounded decimal, so it prints as that
  decimal (``10.33``, ``150.0``). Money is not a float: the ``Decimal`` the engine rounded to
  cents once.
* times are aware datetimes on the vendor's wall clock: each carries its UTC offset, so
  it is at once the local time people read and the exact instant (``.astimezone(UTC)``).
  Python subtracts two times of one zone on the wall clock (across a DST change that is not
  the time elapsed): lengths are the ``minutes`` figures, or the difference of the UTC
  readings. Claim deadlines are dates on the business calendar.

A month of a thousand vendors holds tens of thousands of interruptions, and worker processes
send their vendors' contexts back to the one that renders: so the context holds only these
plain values, a few per interruption, in named tuples (immutable like a frozen dataclass, but
built and pickled as one tuple rather than field by field: a third of the cost of the context).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

from credits.availability import excluded_by
from credits.intervals import MINUTE
from credits.month import VendorMonth

if TYPE_CHECKING:
    from uptime.store.finance import ClaimMark


class Minutes(NamedTuple):
    """The month's buckets in minutes (docs/contract-rules.md): T, M, D, E, excluded and
    unmonitored."""

    total: int
    scheduled: float
    downtime: float
    emergency: float
    excluded: float
    unmonitored: float


class Band(NamedTuple):
    """A ``tiers`` band: availability below ``below_pct`` earns ``credit_pct`` of the fee."""

    below_pct: Decimal
    credit_pct: Decimal


class CreditContext(NamedTuple):
    """The month's service credit: whether the account may claim, why nothing is due (``None``
    when a credit is due), full hours paid for (``None`` for kinds that count none), amount;
    and how it was computed: the contract's rule (``kind``, ``percent_per_hour``, ``rounding``,
    ``scope``), the monthly and hourly fee, the band, the cap and whether it cut the amount.
    Fees are exact decimals when they have at most 6 places, else rounded to 6."""

    eligible: bool
    reason: str | None
    hours: int | None
    amount: Decimal
    currency: str | None
    kind: str = "none"
    percent_per_hour: Decimal | None = None
    rounding: str | None = None
    scope: str | None = None
    monthly_fee: Decimal | None = None
    hourly_fee: Decimal | None = None
    band: Band | None = None
    cap: Decimal | None = None
    capped: bool = False


class ExclusionContext(NamedTuple):
    """An exclusion overlapping the month: its whole span on the vendor's clock, the reason, the
    down minutes it removed from the month, and for one recorded from the command line its id
    and who recorded it (``None`` for maintenance_windows.yaml)."""

    start: datetime
    end: datetime
    reason: str
    minutes: float
    id: int | None
    by: str | None


class InterruptionContext(NamedTuple):
    """One interruption's part inside the month, its buckets in minutes, what was affected, and
    the last day to claim it."""

    start: datetime
    end: datetime
    minutes: float
    scheduled: float
    emergency: float
    downtime: float
    unmonitored: float  #: of ``minutes``, what no site could see (counted as down: as_down)
    areas: tuple[str, ...]
    regions: tuple[str, ...]
    claim_deadline: date


class VendorContext(NamedTuple):
    """One vendor's month as a report shows it."""

    vendor: str
    name: str
    timezone: str
    period_start: datetime
    period_end: datetime
    minutes: Minutes
    maintenance: str
    availability_pct: float
    target_pct: float
    met: bool
    credit: CreditContext
    interruptions: tuple[InterruptionContext, ...]
    unmonitored_policy: str = "as_up"
    exclusions: tuple[ExclusionContext, ...] = ()
    windows: tuple[WindowContext, ...] = ()


class WindowContext(NamedTuple):
    """A maintenance window overlapping the month, on the vendor's clock: whole span, kind
    (``scheduled`` or ``emergency``), name (a recurring window's, an announced one's note),
    and for an announced window when it was announced (``None`` for recurring)."""

    start: datetime
    end: datetime
    kind: str
    name: str
    announced_at: datetime | None


class Closed(NamedTuple):
    """A closed month: when, by whom, and the SHA-256 of its frozen JSON report."""

    closed_at: datetime
    by: str
    sha256: str


@dataclass(frozen=True)
class MonthContext:
    """A month's report: every vendor in configuration order, as read at ``generated_at``
    (UTC)."""

    year: int
    month: int
    generated_at: datetime
    vendors: tuple[VendorContext, ...]
    #: set when the month is closed: its figures are the frozen report's
    closed: Closed | None = None
    #: for a closed month, what a fresh computation now finds different (late results), one
    #: line each
    changes_since_close: tuple[str, ...] = ()
    #: when the document is printed, for what is overdue (default: ``generated_at``; a closed
    #: month's figures were read at the close, but it may be printed later)
    printed_at: datetime | None = None
    #: what finance last recorded of each vendor's claim for the month, by vendor id
    marks: Mapping[str, ClaimMark] = field(default_factory=dict)

    @property
    def as_of(self) -> datetime:
        """The moment deadlines are judged against: ``printed_at``, else ``generated_at``."""
        return self.printed_at or self.generated_at

    @property
    def label(self) -> str:
        """The month as ``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"


#: Half of the rounding step of ``minutes``: half a hundredth of a minute, 0.3 s.
HALF_HUNDREDTH = MINUTE / 200


def minutes(duration: timedelta) -> float:
    """An exact length in minutes, rounded half-up to 2 decimals."""
    # floor(d / step + 1/2) with step = 2 half-steps, in one exact timedelta division
    return (duration // HALF_HUNDREDTH + 1) // 2 / 100


def percent(value: Fraction) -> float:
    """An exact non-negative percentage rounded half-up to 6 decimals."""
    numerator, denominator = value.numerator * 1_000_000, value.denominator
    return ((2 * numerator + denominator) // (2 * denominator)) / 1_000_000


#: How many decimal places a fee keeps before it is rounded (an hourly fee rarely ends).
FEE_PLACES = 6


def fee_decimal(value: Fraction) -> Decimal:
    """An exact amount as a decimal: exact when it ends within 6 places, else rounded half-up
    to 6; at least 2 places (``672.00``, ``0.933333``)."""
    scaled = value * 10**FEE_PLACES
    units = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    text = Decimal(units).scaleb(-FEE_PLACES).normalize()
    return text.quantize(Decimal("0.01")) if -text.as_tuple().exponent < 2 else text  # type: ignore[operator]


def credit_context(month: VendorMonth) -> CreditContext:
    """The month's credit with how it was computed."""
    credit, rule = month.credit, month.vendor.sla.credit
    kind = credit.kind
    return CreditContext(
        eligible=credit.eligible,
        reason=credit.reason,
        hours=credit.hours,
        amount=credit.amount,
        currency=credit.currency,
        kind=kind,
        percent_per_hour=rule.percent_per_hour if kind == "full_hours" else None,
        rounding=rule.rounding if kind == "full_hours" else None,
        scope=rule.scope if kind == "full_hours" else None,
        monthly_fee=None if credit.monthly_fee is None else fee_decimal(credit.monthly_fee),
        hourly_fee=None if credit.hourly_fee is None else fee_decimal(credit.hourly_fee),
        band=None if credit.band is None else Band(credit.band.below_pct, credit.band.credit_pct),
        cap=None if credit.cap is None else fee_decimal(credit.cap),
        capped=credit.capped,
    )


def exclusion_contexts(month: VendorMonth) -> tuple[ExclusionContext, ...]:
    """The vendor's exclusions that overlap the month, in order of start, with the down
    minutes each removed."""
    a, zone = month.availability, month.vendor.timezone
    overlapping = sorted(
        (
            e
            for e in month.vendor.calendar.exclusions
            if e.start < a.period.end and e.end > a.period.start
        ),
        key=lambda e: (e.start, e.end),
    )
    return tuple(
        ExclusionContext(
            start=e.start.astimezone(zone),
            end=e.end.astimezone(zone),
            reason=e.reason,
            minutes=minutes(excluded_by(e, a.parts)),
            id=e.id,
            by=e.by,
        )
        for e in overlapping
    )


def vendor_context(month: VendorMonth) -> VendorContext:
    """What people read of one vendor's month."""
    a, zone = month.availability, month.vendor.timezone
    interruptions = tuple(
        InterruptionContext(
            start=part.interval.start.astimezone(zone),
            end=part.interval.end.astimezone(zone),
            minutes=minutes(part.interval.duration),
            scheduled=minutes(part.buckets.scheduled),
            emergency=minutes(part.buckets.emergency),
            downtime=minutes(part.buckets.downtime),
            unmonitored=minutes(part.unmonitored),
            areas=part.interruption.areas,
            regions=part.interruption.regions,
            claim_deadline=deadline,
        )
        for part, deadline in zip(a.parts, month.claim_deadlines, strict=True)
    )
    return VendorContext(
        vendor=month.vendor.id,
        name=month.vendor.name,
        timezone=zone.key,
        period_start=a.period.start.astimezone(zone),
        period_end=a.period.end.astimezone(zone),
        minutes=Minutes(
            total=a.total // MINUTE,  # days × 1,440: always whole minutes
            scheduled=minutes(a.buckets.scheduled),
            downtime=minutes(a.buckets.downtime),
            emergency=minutes(a.buckets.emergency),
            excluded=minutes(a.buckets.excluded),
            unmonitored=minutes(a.unmonitored),
        ),
        maintenance=a.maintenance,
        availability_pct=percent(a.availability_pct),
        target_pct=percent(a.target_pct),
        met=a.met,
        credit=credit_context(month),
        interruptions=interruptions,
        unmonitored_policy=a.unmonitored_policy,
        exclusions=exclusion_contexts(month),
        windows=tuple(
            WindowContext(
                start=w.interval.start.astimezone(zone),
                end=w.interval.end.astimezone(zone),
                kind=w.kind.value,
                name=w.name,
                announced_at=None if w.announced_at is None else w.announced_at.astimezone(zone),
            )
            for w in month.windows
        ),
    )
