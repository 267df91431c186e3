"""``uptime-ledger demo``: the scenario's vendors simulated on 127.0.0.1, their history stored,
last month's report made, then probed live and served like ``run`` until SIGINT or SIGTERM.

The configuration (and, without a database path, the database) lives in a temporary folder
removed on the way out, so the demo leaves nothing behind but what it was told to keep.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reports.runner import RENDERERS, report
from uptime.config import Config
from uptime.demo.history import write_history
from uptime.demo.scenario import HISTORY, SHOWS, Scenario
from uptime.demo.simulator import (
    Simulator,
    listening_socket,
    regional_jobs,
    serving,
    timeline_script,
)
from uptime.probing.jobs import config_jobs
from uptime.web.app import make_app
from uptime.web.months import month_of, months_back
from uptime.web.serve import serve


@dataclass(frozen=True)
class Started:
    """What a started demo tells its user: where it listens, what it simulates and last
    month's report in every format (file name → bytes, not written yet)."""

    address: str
    simulator: str
    config: Config
    month: tuple[int, int]
    reports: dict[str, bytes]
    stored: int


def last_month(config: Config, now: datetime) -> tuple[int, int]:
    """The latest calendar month that is over on every vendor's clock."""
    year, month = min(month_of(v, now) for v in config.vendors)
    return months_back(year, month, 2)[0]


def month_reports(
    config: Config, db: Path, year: int, month: int, now: datetime
) -> dict[str, bytes]:
    """The month's report in every format there is a renderer for but PDF (which needs the pdf
    extra and Chromium; the HTML is the same page), by file name."""
    return {
        f"{year:04d}-{month:02d}.{name}": report(config, db, year, month, format=name, now=now)
        for name in RENDERERS
        if name != "pdf"
    }


async def run_demo(
    host: str,
    port: int,
    db: Path | None,
    ready: Callable[[Started], None],
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the demo until SIGINT/SIGTERM (or ``stop``); ``ready`` is called once it listens.
    ``db`` None: a database in the temporary folder. A signal while the history is being
    written stops the demo once that step is done (nothing is left half-done)."""
    now = datetime.now(UTC)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await _run(host, port, db, ready, stop, now)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _run(
    host: str,
    port: int,
    db: Path | None,
    ready: Callable[[Started], None],
    stop: asyncio.Event,
    now: datetime,
) -> None:
    with tempfile.TemporaryDirectory(prefix="uptime-ledger-demo-") as folder:
        db = db or Path(folder) / "demo.db"
        sock = listening_socket()
        simulator_url = "http://{}:{}".format(*sock.getsockname())
        scenario = Scenario.starting(now, simulator_url)
        config = scenario.write(Path(folder))
        timeline = scenario.timeline(config)
        async with serving(Simulator(timeline_script(timeline)).app(), sock):
            stored = await asyncio.to_thread(write_history, db, config, timeline, now, HISTORY)
            year, month = last_month(config, now)
            reports = await asyncio.to_thread(month_reports, config, db, year, month, now)
            if stop.is_set():
                return
            app = make_app(config, db, jobs=regional_jobs(config_jobs(config)))

            def listening(address: str) -> None:
                ready(Started(address, simulator_url, config, (year, month), reports, stored))

            await serve(app, host, port, ready=listening, stop=stop)


def describe(started: Started, reports: list[Path]) -> list[str]:
    """What the demo prints once it listens: where to look, and what there is to see."""
    config, base = started.config, started.address.rstrip("/")
    intervals = sorted({m.interval.total_seconds() for v in config.vendors for m in v.monitors})
    year, month = started.month
    lines = [
        f"uptime-ledger demo: {len(config.vendors)} simulated vendors at {started.simulator}, "
        f"probed every {intervals[0]:g}-{intervals[-1]:g} s from {', '.join(config.region_ids)} "
        f"(all in this process); {started.stored:,} results of the last "
        f"{HISTORY.days} days stored",
        f"  status page  {base}/",
        f"  metrics      {base}/metrics",
        f"  status API   {base}/api/v1/status",
        *(f"  report       {path} ({year:04d}-{month:02d})" for path in reports),
        "what it shows:",
        *(f"  {v.name} ({v.id}): {SHOWS[v.id]}" for v in config.vendors),
        "stop it with Ctrl-C",
    ]
    return lines
