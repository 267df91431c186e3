"""A vendor as the engine sees it, without a configuration file: one critical monitor probed
from three regions, a full-hours credit on a $744 monthly fee (one dollar an hour in a 31-day
month), US business days in the vendor's zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from credits.model import BusinessCalendar, CreditPolicy, Fee, SlaPolicy, Span, VendorCalendar

REGIONS = ("atlanta", "california", "chicago")
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class StubMonitor:
    id: str = "app"
    functional_area: str = "Classroom app"
    critical: bool = True
    regions: tuple[str, ...] = REGIONS


@dataclass(frozen=True)
class StubVendor:
    target_pct: str = "99.9"
    unmonitored: str = "as_up"
    timezone: ZoneInfo = UTC_ZONE
    id: str = "v"
    name: str = "Vendor"
    quorum: str = "all"
    hosting: None = None
    calendar: VendorCalendar = field(default_factory=VendorCalendar)
    monitors: tuple[StubMonitor, ...] = (StubMonitor(),)

    @property
    def sla(self) -> SlaPolicy:
        return SlaPolicy(
            target_pct=Decimal(self.target_pct),
            maintenance="counts",
            emergency_notice=Span("5 business days", business_days=5),
            business_calendar=BusinessCalendar(timezone=self.timezone, holidays="US"),
            claim_within=Span("5 business days", business_days=5),
            credit=CreditPolicy(kind="full_hours", rounding="month", scope="all"),
            fee=Fee(Decimal("744.00")),
            unmonitored=self.unmonitored,  # type: ignore[arg-type]
        )
