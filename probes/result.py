"""Value objects a probe takes in (`ProbeTarget`) and hands out (`ProbeResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from probes.evidence import short


class FailureClass(StrEnum):
    """Why a probe failed; one class per layer, so a report can say where it broke."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    STATUS = "status"
    BODY = "body"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One endpoint to probe. `url` is http(s)://… for kind "http", tcp://host:port for "tcp"."""

    vendor: str
    monitor: str
    url: str
    kind: Literal["http", "tcp"]
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    body_contains: str | None = None
    max_latency: float | None = None
    max_redirects: int = 5
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One check's outcome, as seen from one region.

    `at` is when the probe started (aware, UTC); `latency` is seconds for the whole probe.
    `degraded` means ok but slower than the target's `max_latency`. `message` is short
    evidence (at most 200 characters, see `evidence.short`), set on failure and on degraded results.
    """

    vendor: str
    monitor: str
    region: str
    at: datetime
    ok: bool
    latency: float
    status: int | None = None
    error: FailureClass | None = None
    message: str | None = None
    degraded: bool = False
    cert_expires_at: datetime | None = None


def outcome(
    target: ProbeTarget,
    region: str,
    at: datetime,
    latency: float,
    error: FailureClass | None,
    message: str | None,
    *,
    status: int | None = None,
    cert_expires_at: datetime | None = None,
) -> ProbeResult:
    """The result of one check of any kind: ok unless ``error``; an ok result slower than the
    target's ``max_latency`` is degraded, with the latency as its evidence."""
    degraded = error is None and target.max_latency is not None and latency > target.max_latency
    if degraded:
        message = f"slow: {latency:.3f}s > {target.max_latency:g}s"
    return ProbeResult(
        vendor=target.vendor,
        monitor=target.monitor,
        region=region,
        at=at,
        ok=error is None,
        latency=latency,
        status=status,
        error=error,
        message=short(message) if message else None,
        degraded=degraded,
        cert_expires_at=cert_expires_at,
    )
