"""Shared by the API, OpenAPI and feed tests: two vendors whose names, areas and window notes
carry markup and iCalendar separators, maintenance around now, and three hours of probe
results written through the real ingest path (``Storage.record_results``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp.test_utils import TestServer

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from uptime.config import Config, load_config
from uptime.probing.jobs import stale_limits
from uptime.store.storage import Storage
from uptime.web.app import make_app
from uptime.web.ingest import RateLimit

REGIONS = ("chicago", "california", "atlanta")

#: Text that must come out escaped in every feed: markup, an entity, iCalendar separators,
#: a backslash and a newline.
HOSTILE_NAME = 'Acme <script>alert("x")</script> & Co; a, b \\ c'
HOSTILE_AREA = "Login <b>&amp;</b>, SSO; portal"
HOSTILE_NOTE = "DB <upgrade> & reboot; phase 1, part 2\nsecond line"
HOSTILE_WINDOW = "Weekly <patch> & reboot, phase;1"

#: The seeded interruption: every region sees ``acme``'s app down for 30 minutes.
DOWN_FROM = timedelta(minutes=120)
DOWN_UNTIL = timedelta(minutes=90)


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def write_config(tmp_path: Path, now: datetime) -> Config:
    """Vendors ``acme`` (New York, counts maintenance, a credit) and ``bravo`` (London,
    majority, excludes maintenance); ``acme`` has a weekly window, one announced with enough
    notice in 3 days and an emergency one (announced an hour ago) in 2 days; ``bravo`` has a
    window on each of London's 2026 DST change days."""
    regions = "".join(f"  {r}: {{name: {r.title()}}}\n" for r in REGIONS)
    vendors = f"""\
regions:
{regions}vendors:
  acme:
    name: {_q(HOSTILE_NAME)}
    timezone: America/New_York
    quorum: all
    monitors:
      - {{id: app, functional_area: {_q(HOSTILE_AREA)}, url: "http://127.0.0.1:9/",
         interval: 60s, timeout: 5s, critical: true}}
      - {{id: docs, functional_area: Docs, url: "http://127.0.0.1:9/docs",
         interval: 60s, timeout: 5s, critical: false}}
    sla:
      target_pct: 99.9
      maintenance: counts
      emergency_notice: 5 business days
      credit: {{kind: full_hours, percent_per_hour: 100}}
      fee: {{amount: "720.00", per: month, currency: USD}}
  bravo:
    name: Bravo
    timezone: Europe/London
    quorum: majority
    monitors:
      - {{id: web, functional_area: Web, url: "http://127.0.0.1:9/", interval: 60s,
         timeout: 5s, critical: true}}
    sla:
      target_pct: 99
      maintenance: excluded
"""
    soon = (now + timedelta(days=3)).replace(microsecond=0)
    urgent = (now + timedelta(days=2)).replace(microsecond=0)
    # acme's weekly window is two days from now on New York's clock, so never open now.
    weekday = (now.astimezone(ZoneInfo("America/New_York")) + timedelta(days=2)).isoweekday()
    windows = f"""\
acme:
  recurring:
    - {{name: {_q(HOSTILE_WINDOW)}, cron: "0 2 * * {weekday % 7}", duration: 4h,
       timezone: America/New_York}}
  announced:
    - {{start: "{soon.isoformat()}", end: "{(soon + timedelta(hours=2)).isoformat()}",
       announced_at: "{(soon - timedelta(days=20)).isoformat()}", note: {_q(HOSTILE_NOTE)}}}
    - {{start: "{urgent.isoformat()}", end: "{(urgent + timedelta(hours=1)).isoformat()}",
       announced_at: "{(now - timedelta(hours=1)).replace(microsecond=0).isoformat()}",
       note: Hotfix}}
bravo:
  recurring:
    # London's clocks go forward on 29 March 2026 and back on 25 October 2026.
    - {{name: Spring, cron: "0 0 29 3 *", duration: 4h, timezone: Europe/London}}
    - {{name: Autumn, cron: "0 0 25 10 *", duration: 4h, timezone: Europe/London}}
"""
    (tmp_path / "vendors.yaml").write_text(vendors, encoding="utf-8")
    (tmp_path / "maintenance_windows.yaml").write_text(windows, encoding="utf-8")
    return load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml")


def seed(config: Config, db: Path, now: datetime) -> Interval:
    """Three hours of one-minute results of every monitor from every region up to a minute
    ago: ``acme``'s app is down everywhere from ``now - DOWN_FROM`` to ``now - DOWN_UNTIL``
    and bravo's web is down in Atlanta alone (a regional advisory). Returns the outage."""
    start = (now - timedelta(hours=3)).replace(second=0, microsecond=0)
    outage = Interval(now - DOWN_FROM, now - DOWN_UNTIL)
    results = []
    at = start
    while at < now - timedelta(minutes=1):
        for vendor in config.vendors:
            for monitor in vendor.monitors:
                for region in monitor.regions:
                    down = (vendor.id, monitor.id) == ("acme", "app") and outage.start <= at < (
                        outage.end
                    )
                    down |= (vendor.id, region) == ("bravo", "atlanta") and outage.start <= at
                    results.append(
                        ProbeResult(
                            vendor=vendor.id,
                            monitor=monitor.id,
                            region=region,
                            at=at,
                            ok=not down,
                            latency=0.05,
                            status=503 if down else 200,
                            error=FailureClass.STATUS if down else None,
                            message="HTTP 503 <html>&" if down else None,
                        )
                    )
        at += timedelta(minutes=1)
    storage = Storage(db)
    try:
        storage.record_results(results, stale_limits(config))
    finally:
        storage.close()
    # The first failure and the first success after it are minute-aligned results.
    app = [r for r in results if r.vendor == "acme" and r.monitor == "app"]
    first_down = min(r.at for r in app if not r.ok)
    first_up = min(r.at for r in app if r.ok and r.at > first_down)
    return Interval(first_down, first_up)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Served:
    """A collector serving the seeded database on 127.0.0.1."""

    server: TestServer
    config: Config
    db: Path
    outage: Interval
    now: datetime

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


TOKENS = {r: f"{r}-token-0123456789abcdef" for r in REGIONS}

#: The reader's and the admin's tokens (finance figures).
READERS = {"reader": "reader-token-0123456789abcdef", "admin": "admin-token-0123456789abcdef"}


def reading(role: str = "reader") -> dict[str, str]:
    """The ``Authorization`` header of the reader's (or the admin's) token."""
    return {"Authorization": f"Bearer {READERS[role]}"}


async def serve(aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path) -> Served:
    now = utc_now()
    config = write_config(tmp_path, now)
    db = tmp_path / "uptime.db"
    outage = seed(config, db, now)
    # Fuzzers post far faster than an agent: the rate limit would answer most of them.
    app = make_app(
        config,
        db,
        probe_regions=(),
        tokens=TOKENS,
        readers=READERS,
        ingest_limit=RateLimit(per_second=1000.0, burst=100_000),
    )
    return Served(await aiohttp_server(app), config, db, outage, now)


async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET."""
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.content_type, await response.read()
