"""Shared by the scheduler, collector and accuracy tests: a small config, local targets."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from uptime.config import Config, Probing, load_config
from uptime.demo.simulator import Simulator
from uptime.demo.timeline import Answer
from uptime.probing.jobs import Job, config_jobs

REGIONS = ("chicago", "california", "atlanta")
TOKENS = {r: f"{r}-token-0123456789abcdef" for r in REGIONS}

#: Quick confirmation, so a 1 s interval is not swamped by retries.
FAST = Probing(
    retries=1,
    retry_within=timedelta(milliseconds=200),
    concurrency=50,
    batch=100,
    flush_every=timedelta(milliseconds=200),
)


def write_config(
    tmp_path: Path,
    url: str,
    *,
    monitors: int = 1,
    interval: str = "1s",
    timeout: str = "1s",
    region_extra: dict[str, str] | None = None,
    quorum: str = "all",
) -> Config:
    """One vendor ``sim`` with ``monitors`` critical monitors ``m0``, ``m1``... at ``url``."""
    region_extra = region_extra or {}
    regions = "".join(f'  {r}: {{name: "{r.title()}"{region_extra.get(r, "")}}}\n' for r in REGIONS)
    monitor_yaml = "".join(
        f"""\
      - id: m{i}
        functional_area: Area {i}
        url: {url}
        interval: {interval}
        timeout: {timeout}
        critical: true
"""
        for i in range(monitors)
    )
    vendors = f"""\
regions:
{regions}vendors:
  sim:
    name: Simulated vendor
    timezone: UTC
    quorum: {quorum}
    monitors:
{monitor_yaml}    sla:
      target_pct: 99
      maintenance: counts
"""
    (tmp_path / "vendors.yaml").write_text(vendors, encoding="utf-8")
    (tmp_path / "maintenance_windows.yaml").write_text("", encoding="utf-8")
    return load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml")


def per_region(jobs: list[Job], urls: dict[str, str]) -> list[Job]:
    """Point each region's jobs at its own target (one network here; three in real life)."""
    return [replace(j, target=replace(j.target, url=urls[j.region])) for j in jobs]


def region_jobs(config: Config, urls: dict[str, str]) -> list[Job]:
    return per_region(config_jobs(config), urls)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Timeline(Simulator):
    """A target whose answer follows a script: ``down`` maps a path to [start, end) offsets
    in seconds from ``t0`` when it answers 503; otherwise 200."""

    def __init__(self, down: dict[str, list[tuple[float, float]]], t0: float | None = None):
        super().__init__(self._answer)
        self.down = down
        self.t0 = time.time() if t0 is None else t0

    def is_down(self, path: str, at: float) -> bool:
        offset = at - self.t0
        return any(start <= offset < end for start, end in self.down.get(path, ()))

    def _answer(self, path: str, region: str | None, at: datetime) -> Answer:
        return "down" if self.is_down(path, at.timestamp()) else "up"


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float, step: float = 0.05
) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
