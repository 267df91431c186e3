"""Jobs: what to probe, from where and how often, derived once from the configuration."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from probes.result import ProbeTarget
from uptime.config import Probing

#: Vendor name of canary results (they never leave the scheduler).
CANARY_VENDOR = "_canary"

#: Seconds past its timeout after which the scheduler cuts off a check that ignores it.
PROBE_GRACE = 0.25


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


def slots_if_all_hang(jobs: Iterable[Job], probing: Probing) -> int:
    """How many of ``probing.concurrency``'s probe slots ``jobs`` (one scheduler's) would hold
    on average if every target hung until its timeout while its failure is confirmed: each
    attempt holds a slot for the timeout, ``1 + retries`` attempts per interval."""
    attempts = 1 + probing.retries
    return math.ceil(
        sum(
            attempts * min(job.target.timeout + PROBE_GRACE, job.interval) / job.interval
            for job in jobs
        )
    )


def slot_warning(jobs: Iterable[Job], probing: Probing, who: str) -> str | None:
    """A warning when hanging targets could take all of the probe slots of ``who``'s
    scheduler (probing ``jobs``): the other probes would then start late
    (docs/reliability.md, "Hostile targets"); None while the slots suffice."""
    needed = slots_if_all_hang(jobs, probing)
    if needed <= probing.concurrency:
        return None
    return (
        f"probing.concurrency: {who} would need about {needed} probe slots if every monitor "
        f"hung until its timeout (failures being confirmed), more than the "
        f"{probing.concurrency} configured: the other probes would then start late; raise "
        f"probing.concurrency to {needed} or more"
    )


def slot_warnings(config: Any) -> list[str]:
    """:func:`slot_warning` for each scheduler: ``run``'s in-process regions together, each
    remote agent's region alone."""
    local = tuple(r.id for r in config.regions if not r.remote)
    groups = [(local, f"run's in-process region(s) {', '.join(local)}")] if local else []
    groups += [((r.id,), f"the agent of region {r.id}") for r in config.regions if r.remote]
    found = [slot_warning(config_jobs(config, ids), config.probing, who) for ids, who in groups]
    return [f"{config.vendors_path}: {line}" for line in found if line is not None]


def confirmation_limit(probing: Probing, timeout: timedelta) -> timedelta:
    """The longest a failure can take to confirm, from its first attempt's start to the end of
    its last retry: the retries are spread over ``retry_within``, or run back to back when each
    attempt hangs until its timeout (every attempt cut off at ``timeout`` + ``PROBE_GRACE``)."""
    attempt = timeout + timedelta(seconds=PROBE_GRACE)
    return max(probing.retry_within, probing.retries * attempt) + attempt


def stale_after(interval: timedelta, timeout: timedelta, probing: Probing) -> timedelta:
    """How long a region's state is trusted without a new result (docs/timing.md).

    2 × interval + timeout: the next tick's probe, its timeout, and one more interval of slack.
    While a failure is being confirmed its job reports nothing, so the limit is at least one
    interval plus the confirmation: a confirmed (or contradicted) failure never opens a blind gap.
    """
    return interval + max(interval + timeout, confirmation_limit(probing, timeout))


def stale_limits(config: Any) -> dict[tuple[str, str], timedelta]:
    """How long each monitor's region state is trusted without a result (:func:`stale_after`)."""
    return {
        (vendor.id, monitor.id): stale_after(monitor.interval, monitor.timeout, config.probing)
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
