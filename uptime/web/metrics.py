"""``GET /metrics``: the Prometheus exposition (docs/metrics.md lists every family).

Two kinds of metric, as client_python's docs suggest:

* the probe counter and latency histogram are the client's own ``Counter`` and ``Histogram``,
  fed by the recorder's watchers with every stored batch (local and remote agents alike);
* the state and month families are read at scrape time by :class:`LedgerCollector`: each
  vendor's state now (``uptime.web.status``) and its current month through ``app[MONTHS]``,
  which keeps a month's figures while they are still true.

Each app has its own registry (tests and benchmarks start several apps in one process). A
scrape reads the states on the writer thread, then builds the states, the months and the
exposition in one call on the months' thread, so the event loop, where probes run, only
hands the work over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from credits.month import Observations, VendorMonth
from probes.result import ProbeResult
from uptime.config import Config
from uptime.web.keys import CONFIG, MONTHS, RECORDER
from uptime.web.months import Months, month_of
from uptime.web.status import VendorNow, vendors_now

NAMESPACE = "uptime_ledger"

#: Probe latency buckets (seconds): a healthy HTTPS check takes 50–500 ms, a timeout 10 s.
#: Few, because every (vendor, monitor, region) exposes each of them.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGION_STATES = ("up", "down", "unknown")
VENDOR_STATES = ("up", "down", "maintenance", "unknown")
DOWNTIME_KINDS = ("scheduled", "emergency", "downtime", "excluded", "unmonitored")

Key = tuple[str, str, str]  #: (vendor, monitor, region)


class MonthFigures(NamedTuple):
    """The few numbers the month families show of one vendor-month (seconds, ratios)."""

    availability: float
    target: float
    total: float
    allowance: float  #: the counted seconds the month may hold and still meet the target
    remaining: float  #: allowance less the counted seconds: negative once overspent
    downtime: tuple[float, ...]  #: seconds of each of DOWNTIME_KINDS
    credit: float
    currency: str | None


def month_figures(month: VendorMonth, seen: Observations) -> MonthFigures:
    """What ``/metrics`` keeps of a vendor-month (``Months.get``'s ``make``)."""
    a, buckets = month.availability, month.availability.buckets
    allowance = a.denominator.total_seconds() * float(1 - a.target_pct / 100)
    return MonthFigures(
        availability=float(a.availability_pct / 100),
        target=float(a.target_pct / 100),
        total=a.total.total_seconds(),
        allowance=allowance,
        remaining=allowance - a.counted.total_seconds(),
        downtime=tuple(
            d.total_seconds()
            for d in (
                buckets.scheduled,
                buckets.emergency,
                buckets.downtime,
                buckets.excluded,
                a.unmonitored,
            )
        ),
        credit=float(month.credit.amount),
        currency=month.credit.currency,
    )


class ProbeMetrics:
    """The probe counter and histogram, and each monitor's last certificate expiry seen."""

    def __init__(self, registry: CollectorRegistry, config: Config) -> None:
        self.results = Counter(
            f"{NAMESPACE}_probe_results",
            "Probe results stored, by outcome: up, down (failed), degraded (ok but slower "
            "than the monitor's max_latency).",
            ("vendor", "monitor", "region", "result"),
            registry=registry,
        )
        self.duration = Histogram(
            f"{NAMESPACE}_probe_duration_seconds",
            "How long each stored probe took, whatever its outcome.",
            ("vendor", "monitor", "region"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        #: (vendor, monitor, region) → (when seen, certificate notAfter as a Unix time)
        self.certificates: dict[Key, tuple[datetime, float]] = {}
        self._children: dict[Key, tuple[Counter, Counter, Counter, Histogram]] = {}
        # Every configured series from the start at zero, so rate() sees the first results.
        for vendor in config.vendors:
            for monitor in vendor.monitors:
                for region in monitor.regions:
                    self._child((vendor.id, monitor.id, region))

    def _child(self, key: Key) -> tuple[Counter, Counter, Counter, Histogram]:
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                self.results.labels(*key, "up"),
                self.results.labels(*key, "down"),
                self.results.labels(*key, "degraded"),
                self.duration.labels(*key),
            )
        return child

    def watch(self, stored: Sequence[ProbeResult]) -> None:
        """Count a stored batch (a ``Recorder.watchers`` callback, on the event loop)."""
        for r in stored:
            key = (r.vendor, r.monitor, r.region)
            up, down, degraded, duration = self._child(key)
            (down if not r.ok else degraded if r.degraded else up).inc()
            duration.observe(r.latency)
            if r.cert_expires_at is not None:
                seen = self.certificates.get(key)
                if seen is None or seen[0] <= r.at:
                    self.certificates[key] = (r.at, r.cert_expires_at.timestamp())


def gauge(name: str, doc: str, labels: Iterable[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", doc, labels=list(labels))


class Scrape(NamedTuple):
    """What one scrape shows of the vendors: their state now and their current month."""

    vendors: list[VendorNow]
    months: list[MonthFigures]


class LedgerCollector:
    """The state, month, maintenance and certificate families of one scrape."""

    def __init__(self, probes: ProbeMetrics) -> None:
        self.probes = probes
        self.scrape: Scrape | None = None  #: set for the exposition being written

    def collect(self) -> Iterator[Metric]:
        if self.scrape is None:  # only Metrics.expose has a scrape to show
            return iter(())
        return self._families(self.scrape)

    def _families(self, scrape: Scrape) -> Iterator[Metric]:
        region = gauge(
            "region_state",
            "Each region's current view of a monitor: 1 for the current state (up, down, "
            "unknown: no fresh result), 0 for the others.",
            ("vendor", "monitor", "region", "state"),
        )
        vendor = gauge(
            "vendor_state",
            "Each vendor's state now by its quorum: 1 for the current state (up, down, "
            "maintenance, unknown), 0 for the others.",
            ("vendor", "state"),
        )
        active = gauge(
            "maintenance_active",
            "1 while one of the vendor's maintenance windows is open.",
            ["vendor"],
        )
        next_start = gauge(
            "maintenance_next_start_timestamp_seconds",
            "When the vendor's next maintenance window starts (Unix time); absent when none "
            "starts within 14 days.",
            ["vendor"],
        )
        for now in scrape.vendors:
            vid = now.vendor.id
            for monitor in now.monitors:
                for view in monitor.regions:
                    labels = (vid, monitor.monitor.id, view.region)
                    for state in REGION_STATES:
                        region.add_metric((*labels, state), 1.0 if view.state == state else 0.0)
            for state in VENDOR_STATES:
                vendor.add_metric((vid, state), 1.0 if now.state == state else 0.0)
            active.add_metric((vid,), 1.0 if now.active else 0.0)
            if now.next_start is not None:
                next_start.add_metric((vid,), now.next_start.timestamp())
        yield from (region, vendor, active, next_start)
        yield from self._months(scrape)
        certificates = gauge(
            "tls_certificate_expiry_timestamp_seconds",
            "When the TLS certificate a monitor's last HTTPS probe from a region saw expires "
            "(Unix time, its notAfter).",
            ("vendor", "monitor", "region"),
        )
        for key, (_, expires) in self.probes.certificates.items():
            certificates.add_metric(key, expires)
        yield certificates

    def _months(self, scrape: Scrape) -> Iterator[Metric]:
        month = "Current calendar month in the vendor's zone"
        availability = gauge(
            "month_availability_ratio",
            f"{month}: availability by the contract's formula, (T - counted) / T, 0-1.",
            ["vendor"],
        )
        target = gauge(
            "month_target_ratio",
            f"{month}: the contract's availability target, 0-1.",
            ["vendor"],
        )
        total = gauge(
            "month_total_seconds",
            f"{month}: T, its length as the contract counts it (days x 86400).",
            ["vendor"],
        )
        downtime = gauge(
            "month_downtime_seconds",
            f"{month}: down time so far by kind: scheduled (inside announced or recurring "
            "windows), emergency (inside short-notice windows), downtime (other), excluded "
            "(by an operator), unmonitored (no region could see).",
            ["vendor", "kind"],
        )
        allowance = gauge(
            "month_allowance_seconds",
            f"{month}: the counted down time the vendor may have and still meet its target, "
            "T x (1 - target).",
            ["vendor"],
        )
        remaining = gauge(
            "month_allowance_remaining_seconds",
            f"{month}: allowance less the counted down time so far; negative once overspent.",
            ["vendor"],
        )
        credit = gauge(
            "month_credit",
            f"{month}: the service credit accrued so far, in the fee's currency.",
            ["vendor", "currency"],
        )
        for now, figures in zip(scrape.vendors, scrape.months, strict=True):
            vid = (now.vendor.id,)
            availability.add_metric(vid, figures.availability)
            target.add_metric(vid, figures.target)
            total.add_metric(vid, figures.total)
            allowance.add_metric(vid, figures.allowance)
            remaining.add_metric(vid, figures.remaining)
            for kind, seconds in zip(DOWNTIME_KINDS, figures.downtime, strict=True):
                downtime.add_metric((*vid, kind), seconds)
            if figures.currency is not None:
                credit.add_metric((*vid, figures.currency), figures.credit)
        yield from (availability, target, total, downtime, allowance, remaining, credit)


class Metrics:
    """One app's registry: the probe metrics and the collector, and how to expose them."""

    def __init__(self, config: Config) -> None:
        # A ``_created`` series per counter and histogram would add a third to every scrape
        # and nothing our dashboards read. (The switch is the client's, for the process.)
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=False)
        self.probes = ProbeMetrics(self.registry, config)
        self.collector = LedgerCollector(self.probes)
        self.registry.register(self.collector)

    def expose(
        self, config: Config, months: Months, states: Sequence[dict[str, object]], now: datetime
    ) -> bytes:
        """The exposition at ``now`` (on the months' thread: it computes what it shows)."""
        vendors = vendors_now(config, states, now)
        wanted = [(v, *month_of(v, now)) for v in config.vendors]
        figures = months.made("metrics", month_figures, wanted, now)
        self.collector.scrape = Scrape(vendors, figures)
        try:
            return generate_latest(self.registry)
        finally:
            self.collector.scrape = None


METRICS = web.AppKey("metrics", Metrics)


async def get_metrics(request: web.Request) -> web.Response:
    app = request.app
    now = datetime.now(UTC)
    states = await app[RECORDER].states(now)
    months = app[MONTHS]
    body = await months.run(app[METRICS].expose, app[CONFIG], months, states, now)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


def add_metrics(app: web.Application) -> None:
    """Serve ``GET /metrics`` on ``app`` and count what its recorder stores."""
    metrics = Metrics(app[CONFIG])
    app[METRICS] = metrics
    app[RECORDER].watchers.append(metrics.probes.watch)
    app.router.add_get("/metrics", get_metrics)
