"""Jobs: what to probe, from where and how often, derived once from the configuration."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from probes.result import ProbeTarget

if TYPE_CHECKING:
    pass


#: Vendor name of canary results (they never leave the scheduler).
CANARY_VENDOR = "_canary"


@dataclass(frozen=True, slots=True)
class Job:
    """One monitor probed from one region every ``interval`` seconds."""

    target: ProbeTarget
    region: str
    interval: float

    @property
    def offset(self) -> float:
        """This job's phase in ``[0, interval)``: stable across restarts and machines."""
        return phase_offset(self.target.vendor, self.target.monitor, self.region, self.interval)


def phase_offset(vendor: str, monitor: str, region: str, interval: float) -> float:
    """A deterministic, evenly spread offset in ``[0, interval)`` for one (monitor, region)."""
    digest = hashlib.blake2b(f"{vendor}\0{monitor}\0{region}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


def monitor_target(vendor_id: str, monitor: Any) -> ProbeTarget:
    """The probe target for a configured ``uptime.config.Monitor``."""
    return ProbeTarget(
        vendor=vendor_id,
        monitor=monitor.id,
        url=monitor.url,
        kind=monitor.kind,
        method=monitor.method,
        expect_status=tuple(monitor.expect.status),
        body_contains=monitor.expect.body_contains,
        max_latency=monitor.max_latency.total_seconds() if monitor.max_latency else None,
        max_redirects=monitor.max_redirects,
        timeout=monitor.timeout.total_seconds(),
    )


def config_jobs(config: Any, regions: Iterable[str] | None = None) -> list[Job]:
    """Every (monitor, region) of ``config`` whose region is in ``regions`` (default: all)."""
    wanted = set(config.region_ids if regions is None else regions)
    return [
        Job(monitor_target(vendor.id, monitor), region, monitor.interval.total_seconds())
        for vendor in config.vendors
        for monitor in vendor.monitors
        for region in monitor.regions
        if region in wanted
    ]


def stale_limits(config: Any) -> dict[tuple[str, str], timedelta]:
    """How long each monitor's region state is trusted without a result: 2 × interval + timeout."""
    return {
        (vendor.id, monitor.id): 2 * monitor.interval + monitor.timeout
        for vendor in config.vendors
        for monitor in vendor.monitors
    }


def canary_target(region: str, url: str, timeout: float) -> ProbeTarget:
    """The self-check target of a region: any answer with a status below 500 counts as up."""
    kind = "tcp" if urlsplit(url).scheme == "tcp" else "http"
    return ProbeTarget(
        vendor=CANARY_VENDOR,
        monitor=region,
        url=url,
        kind=kind,  # type: ignore[arg-type]
        expect_status=tuple(range(200, 500)),
        timeout=timeout,
    )
