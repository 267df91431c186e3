"""A district seeded through the real ingest path (``Storage.record_results``) for the page
tests: every vendor name, area, note and error message carries HTML that must be escaped.

Relative to ``now`` (the real clock, as the pages read it), on a 10-minute probing grid:

* ``classswift`` (Los Angeles, maintenance counts, 95 %): probed for 20 days, down from every
  site for 150 minutes 3 days ago; down from Atlanta only for 30 minutes a day ago (a regional
  advisory); up now.
* ``collab`` (New York, maintenance excluded): in an announced window now, down inside it from
  every site; another window in 2 days.
* ``schoolstatus`` (Chicago, 99.9 %): down from every site for the last 20 minutes, with an
  error message.
* ``itopia``: never probed (unknown, no data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from uptime.config import Config, load_config
from uptime.probing.jobs import stale_limits
from uptime.store.storage import Storage

REGIONS = ("chicago", "california", "atlanta")
EVIL = '<script>alert("{}")</script>'
STEP = timedelta(minutes=10)


@dataclass(frozen=True)
class Seeded:
    config: Config
    db: Path
    now: datetime
    began: datetime
    outage: Interval  #: classswift, every site
    advisory: Interval  #: classswift, Atlanta only
    window_now: Interval  #: collab's open window
    window_next: Interval
    down_since: datetime  #: schoolstatus


VENDORS = """\
regions:
  chicago: {{name: "Chicago, IL"}}
  california: {{name: "California"}}
  atlanta: {{name: "Atlanta, GA"}}
web: {{title: "District <i>services</i> status", refresh: 60s}}
vendors:
  classswift:
    name: 'ClassSwift {evil_name}'
    timezone: America/Los_Angeles
    monitors:
      - {{id: app, functional_area: 'Classroom {evil_area}', url: "http://127.0.0.1:9/",
         interval: 10m, timeout: 10s, critical: true}}
    sla: {{target_pct: 95, maintenance: counts}}
  collab:
    name: Class Collaborate
    timezone: America/New_York
    monitors:
      - {{id: web, functional_area: Hub, url: "http://127.0.0.1:9/", interval: 10m,
         timeout: 10s, critical: true}}
    sla: {{target_pct: 99.5, maintenance: excluded}}
  schoolstatus:
    name: SchoolStatus
    timezone: America/Chicago
    monitors:
      - {{id: api, functional_area: Messaging, url: "http://127.0.0.1:9/", interval: 10m,
         timeout: 10s, critical: true}}
    sla: {{target_pct: 99.9, maintenance: counts}}
  itopia:
    name: itopia CloudApps
    timezone: America/Denver
    monitors:
      - {{id: apps, functional_area: Apps, url: "http://127.0.0.1:9/", interval: 10m,
         timeout: 10s, critical: true}}
    sla: {{target_pct: 99, maintenance: counts}}
"""

WINDOWS = """\
collab:
  announced:
    - {{start: "{now_start}", end: "{now_end}", announced_at: "{announced}",
       note: 'Upgrade {evil_note}'}}
    - {{start: "{next_start}", end: "{next_end}", announced_at: "{announced}",
       note: Database upgrade}}
"""


def seed(tmp_path: Path, now: datetime | None = None) -> Seeded:
    """Write the config and the database under ``tmp_path`` (see the module's docstring)."""
    now = now or datetime.now(UTC)
    grid = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 10)
    began = grid - timedelta(days=20)
    outage = Interval(grid - timedelta(days=3), grid - timedelta(days=3) + timedelta(minutes=150))
    advisory = Interval(grid - timedelta(days=1), grid - timedelta(days=1, minutes=-30))
    window_now = Interval(grid - timedelta(minutes=30), grid + timedelta(minutes=90))
    window_next = Interval(grid + timedelta(days=2), grid + timedelta(days=2, hours=3))
    down_since = grid - timedelta(minutes=20)
    (tmp_path / "vendors.yaml").write_text(
        VENDORS.format(evil_name=EVIL.format("name"), evil_area=EVIL.format("area")),
        encoding="utf-8",
    )
    (tmp_path / "maintenance_windows.yaml").write_text(
        WINDOWS.format(
            now_start=window_now.start.isoformat(),
            now_end=window_now.end.isoformat(),
            next_start=window_next.start.isoformat(),
            next_end=window_next.end.isoformat(),
            announced=(grid - timedelta(days=30)).isoformat(),
            evil_note=EVIL.format("note"),
        ),
        encoding="utf-8",
    )
    config = load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml")
    down = {
        ("classswift", "app"): {r: [outage] for r in REGIONS} | {"atlanta": [outage, advisory]},
        ("collab", "web"): {r: [Interval(window_now.start, now)] for r in REGIONS},
        ("schoolstatus", "api"): {r: [Interval(down_since, now + STEP)] for r in REGIONS},
    }
    results = []
    at = began
    while at < now:
        for (vendor, monitor), regions in down.items():
            for region in REGIONS:
                failing = any(span.start <= at < span.end for span in regions[region])
                results.append(
                    ProbeResult(
                        vendor=vendor,
                        monitor=monitor,
                        region=region,
                        at=at,
                        ok=not failing,
                        latency=0.05,
                        status=503 if failing else 200,
                        error=FailureClass.STATUS if failing else None,
                        message=f"503 {EVIL.format('error')}" if failing else None,
                    )
                )
        at += STEP
    db = tmp_path / "uptime.db"
    storage = Storage(db)
    try:
        storage.record_results(results, stale_limits(config))
    finally:
        storage.close()
    return Seeded(config, db, now, began, outage, advisory, window_now, window_next, down_since)
