"""The configuration values: frozen dataclasses, each default written once, here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from credits.calendar import vendor_windows
from credits.intervals import Interval
from credits.model import (
    MaintenanceWindow,
    QuorumRule,
    SlaPolicy,
    VendorCalendar,
)
from uptime.config.errors import UnknownVendorError
from uptime.errors import UsageError

# --------------------------------------------------------------------------------------------
# The configuration values


@dataclass(frozen=True, slots=True)
class Region:
    """A probe site.

    ``canary`` is the URL the site's agent probes to check its own network (None: no
    self-check); ``token_file`` holds the bearer token the collector expects from the site's
    remote agent, or the environment variable ``token_env`` does (neither: the collector
    probes the region itself, in-process).
    """

    id: str
    name: str
    canary: str | None = None
    token_file: Path | None = None
    token_env: str | None = None

    @property
    def remote(self) -> bool:
        """Whether a remote agent probes the region (it has a token), not ``run`` itself."""
        return self.token_file is not None or self.token_env is not None


@dataclass(frozen=True, slots=True)
class Probing:
    """How the scheduler probes (``probing:`` in vendors.yaml; every key optional)."""

    retries: int = 2
    retry_within: timedelta = timedelta(seconds=5)
    concurrency: int = 200
    #: how long plain successes are kept raw (their counts and latencies stay in the rollups)
    retention: timedelta = timedelta(hours=48)
    #: how long failed, degraded and state-changing results are kept, as a claim's evidence
    evidence_retention: timedelta = timedelta(days=400)
    batch: int = 500
    flush_every: timedelta = timedelta(seconds=1)
    reuse_connections: bool = False
    #: how far past the collector's clock a result may be stamped (a probe site's clock off by
    #: more is refused at ingest; a result ahead by less holds its region's state that long)
    max_clock_skew: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Web:
    """The status page (``web:`` in vendors.yaml; every key optional)."""

    title: str = "District services status"
    #: how often the status page reloads itself (and how fresh the figures it shows are)
    refresh: timedelta = timedelta(seconds=60)
    #: files holding the bearer tokens that may read finance figures (credits, claim
    #: deadlines, fees); the admin's may too (no HTTP route writes: finance writes are CLI-only)
    reader_token_file: Path | None = None
    admin_token_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Reports:
    """The monthly reports ``run`` writes (``reports:`` in vendors.yaml; every key optional)."""

    #: where the report files go; a relative path is relative to the current directory of
    #: ``run`` (as ``--db`` is)
    dir: Path = Path("reports")
    #: a 5-field cron read on each vendor's own clock: last month's report is written once its
    #: first occurrence after the month's end has come in every vendor's zone
    schedule: str = "0 6 1 * *"


@dataclass(frozen=True, slots=True)
class Expect:
    """What an HTTP check must see to count as up."""

    status: tuple[int, ...] = (200,)
    body_contains: str | None = None


@dataclass(frozen=True, slots=True)
class Monitor:
    """One endpoint of a vendor, tied to a functional area of the service.

    ``regions`` are the probe sites that check it; the loader fills in every configured region
    when the file names none.
    """

    id: str
    functional_area: str
    url: str
    interval: timedelta
    timeout: timedelta
    expect: Expect
    critical: bool
    kind: Literal["http", "tcp"] = "http"
    method: str = "GET"
    max_latency: timedelta | None = None
    max_redirects: int = 5
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AffectedUser:
    """A user a claim names as affected by the downtime (ClassSwift §4.4)."""

    username: str
    email: str


@dataclass(frozen=True, slots=True)
class ClaimContact:
    """What a claim packet sends and to whom (``sla.claim`` in vendors.yaml): the vendor's
    address for claims and the users the downtime affected. Not part of the contract's
    figures: changing it never moves a closed month."""

    send_to: str
    affected_users: tuple[AffectedUser, ...] = ()


@dataclass(frozen=True, slots=True)
class Vendor:
    """One vendor: its monitors, its contract (``sla``) and its maintenance calendar."""

    id: str
    name: str
    timezone: ZoneInfo
    quorum: QuorumRule
    monitors: tuple[Monitor, ...]
    sla: SlaPolicy
    hosting: str | None = None
    calendar: VendorCalendar = field(default_factory=VendorCalendar)
    claim: ClaimContact | None = None

    def windows(self, period: Interval) -> list[MaintenanceWindow]:
        """The vendor's maintenance windows overlapping ``period``, in order of start, each
        scheduled or emergency by its notice (:func:`credits.calendar.vendor_windows`)."""
        sla = self.sla
        return vendor_windows(
            self.calendar, self.hosting, sla.emergency_notice, sla.business_calendar, period
        )


@dataclass(frozen=True, slots=True)
class Config:
    """Everything both files resolve to, in file order."""

    regions: tuple[Region, ...]
    vendors: tuple[Vendor, ...]
    vendors_path: Path
    maintenance_path: Path
    probing: Probing = field(default_factory=Probing)
    web: Web = field(default_factory=Web)
    reports: Reports = field(default_factory=Reports)

    @property
    def region_ids(self) -> tuple[str, ...]:
        """The configured region ids, in file order."""
        return tuple(r.id for r in self.regions)

    @property
    def vendor_ids(self) -> tuple[str, ...]:
        """The configured vendor ids, in file order."""
        return tuple(v.id for v in self.vendors)

    def probed_regions(self) -> dict[str, tuple[str, ...]]:
        """Each vendor's id → the regions probing at least one of its monitors, in file order
        (an outage imported from another region could never count)."""
        return {
            v.id: tuple(r for r in self.region_ids if any(r in m.regions for m in v.monitors))
            for v in self.vendors
        }

    def region(self, region_id: str) -> Region:
        """The region with this id (``UsageError`` naming the known ids otherwise)."""
        for region in self.regions:
            if region.id == region_id:
                return region
        raise UsageError(f"unknown region {region_id!r}; regions: {', '.join(self.region_ids)}")

    def vendor(self, vendor_id: str) -> Vendor:
        """The vendor with this id; ``UnknownVendorError`` lists the known ids."""
        for vendor in self.vendors:
            if vendor.id == vendor_id:
                return vendor
        raise UnknownVendorError(vendor_id, self.vendor_ids)
