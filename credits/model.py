"""The contract's vocabulary as frozen values: policies, calendars, windows, interruptions.

``uptime/config/`` builds these from YAML (validated once); everything in ``credits/`` takes
them as arguments. Nothing here reads a file or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from credits.intervals import Interval


@dataclass(frozen=True)
class Span:
    """A length of time as a contract states it: ``4h`` (a ``delta``) or ``5 business days``.

    Exactly one of ``delta`` and ``business_days`` is set; ``text`` keeps what the file said.
    """

    text: str
    delta: timedelta | None = None
    business_days: int | None = None


@dataclass(frozen=True)
class BusinessCalendar:
    """Business days: Monday to Friday, minus the public holidays of ``holidays`` (a country
    code for the ``holidays`` package, observed dates included; ``None`` for no holidays),
    counted in the wall-clock dates of ``timezone``."""

    timezone: ZoneInfo
    holidays: str | None = "US"
    subdivision: str | None = None


class WindowKind(StrEnum):
    SCHEDULED = "scheduled"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class RecurringWindow:
    """A maintenance window repeating by ``cron`` in ``timezone``'s wall clock for ``duration``
    of wall-clock time; applies to vendors whose ``hosting`` matches (``None``: to all)."""

    name: str
    cron: str
    duration: timedelta
    timezone: ZoneInfo
    hosting: str | None = None


@dataclass(frozen=True)
class AnnouncedWindow:
    """A one-off window the vendor announced at ``announced_at`` for ``[start, end)``."""

    start: datetime
    end: datetime
    announced_at: datetime
    note: str = ""


@dataclass(frozen=True)
class Exclusion:
    """Time an operator removed from the downtime count, with the reason (force majeure, the
    district's own network...). ``id`` and ``by`` are set for exclusions recorded from the
    command line (``uptime-ledger exclude``): its number in the audit trail and who recorded
    it; ``None`` for those of maintenance_windows.yaml."""

    start: datetime
    end: datetime
    reason: str
    id: int | None = None
    by: str | None = None


@dataclass(frozen=True)
class VendorCalendar:
    """Everything ``maintenance_windows.yaml`` says about one vendor."""

    recurring: tuple[RecurringWindow, ...] = ()
    announced: tuple[AnnouncedWindow, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()


@dataclass(frozen=True)
class MaintenanceWindow:
    """One expanded window occurrence: UTC interval, kind, and where it came from."""

    interval: Interval
    kind: WindowKind
    name: str
    timezone: ZoneInfo = field(compare=False)
    source: Literal["recurring", "announced"] = "recurring"
    announced_at: datetime | None = None


@dataclass(frozen=True)
class Tier:
    """Credit band: availability below ``below_pct`` earns ``credit_pct`` of the monthly fee."""

    below_pct: Decimal
    credit_pct: Decimal


@dataclass(frozen=True)
class CreditPolicy:
    kind: Literal["none", "full_hours", "tiers"] = "none"
    rounding: Literal["month", "incident"] = "month"
    scope: Literal["all", "excess"] = "all"
    percent_per_hour: Decimal = Decimal(100)
    cap_pct_of_fee: Decimal | None = None
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True)
class Fee:
    amount: Decimal
    per: Literal["month", "year"] = "month"
    currency: str = "USD"


@dataclass(frozen=True)
class SlaPolicy:
    """One vendor's availability promise and what it pays when it is broken.

    ``announced_windows``: ``observed`` (only the down time seen inside an announced window
    counts, as for recurring windows) or ``declared`` (the whole window counts, for a contract
    that says so); see ``credits.availability``."""

    target_pct: Decimal
    maintenance: Literal["counts", "excluded"]
    emergency_notice: Span
    business_calendar: BusinessCalendar
    claim_within: Span
    unmonitored: Literal["as_up", "as_down", "exclude"] = "as_up"
    announced_windows: Literal["observed", "declared"] = "observed"
    credit: CreditPolicy = CreditPolicy()
    fee: Fee | None = None
    eligible: bool = True
    invoices_in_default: bool = False


QuorumRule = Literal["all", "majority"] | int


class Interruption(NamedTuple):
    """A vendor-level outage: when, which functional areas and which regions saw it.

    A named tuple rather than a dataclass: a month's report makes tens of thousands."""

    interval: Interval
    areas: tuple[str, ...]
    regions: tuple[str, ...]
