"""A district seeded for the metrics tests: a month to date with every kind of down time.

Vendor ``acme`` is probed from three regions every 5 minutes over the last 10 hours, and all
three see it down three times: inside an emergency window and around it, inside a scheduled
window, and inside an operator exclusion; then nobody reports for an hour (unmonitored). It
misses its 99.9 % target, so it earns a credit. Vendor ``beta`` has never been probed and is in
a maintenance window now. Everything is placed relative to the real clock (the server's month
is the current one) in a zone whose month began 12 hours ago or more and still has hours to
run, so the history fits in the month whenever the tests run; the figures stop moving once it is
seeded (every region's last result is fresh, and up, for minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families
from support_api import reading

from credits.availability import month_period
from probes.result import FailureClass, ProbeResult
from uptime.config import Config, load_config
from uptime.probing.jobs import stale_limits
from uptime.store.storage import Storage
from uptime.web.months import month_of

REGIONS = ("chicago", "california", "atlanta")
TOKENS = {r: f"{r}-token-0123456789abcdef" for r in REGIONS}

#: The reader's token's header (finance figures: the credit and claim deadline families).
READING = reading()
STEP = timedelta(minutes=5)
HISTORY = timedelta(hours=10)
H = timedelta(hours=1)
#: Where every region sees acme down, as offsets before now.
DOWN = ((-9 * H, -7 * H), (-5 * H, -4.5 * H), (-3 * H, -2.5 * H))
#: Where no region reports.
SILENT = (-2 * H, -1 * H)

#: UTC, UTC+14 and UTC-12 (Etc/ signs are reversed).
ZONES = ("UTC", "Etc/GMT-14", "Etc/GMT+12")


@dataclass(frozen=True)
class Seeded:
    config: Config
    vendors: Path
    maintenance: Path
    db: Path
    now: datetime  #: when the history was written (it ends just before)
    month: str  #: YYYY-MM, acme's current month


def zone_for(now: datetime) -> ZoneInfo:
    """A zone (of ZONES) whose current month began at least 12 hours before ``now`` and ends
    at least 2 hours after it (one always does: UTC mid-month, UTC+14 on the 1st, UTC-12 on
    the last day)."""
    for key in ZONES:
        zone = ZoneInfo(key)
        local = now.astimezone(zone)
        period = month_period(local.year, local.month, zone)
        if now - period.start >= 12 * H and period.end - now >= 2 * H:
            return zone
    raise AssertionError(f"no zone of {ZONES} has a month around {now}")


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def seed(tmp_path: Path, now: datetime | None = None) -> Seeded:
    # whole seconds: the YAML's times are written to the second
    now = (datetime.now(UTC) if now is None else now).replace(microsecond=0)
    zone = zone_for(now)

    def at(offset: timedelta) -> str:
        return _iso(now + offset)

    regions = "".join(f'  {r}: {{name: "{r.title()}"}}\n' for r in REGIONS)
    monitor = """\
      - id: app
        functional_area: Classroom <app>
        url: https://{vendor}.example.invalid/
        interval: 5m
        timeout: 10s
        critical: true
"""
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        f"""\
regions:
{regions}vendors:
  acme:
    name: Acme & Co
    timezone: {zone.key}
    quorum: all
    monitors:
{monitor.format(vendor="acme")}    sla:
      target_pct: 99.9
      maintenance: counts
      emergency_notice: 5 business days
      credit: {{kind: full_hours, percent_per_hour: 100}}
      fee: {{amount: "720.00", per: month, currency: USD}}
  beta:
    name: Beta
    timezone: UTC
    quorum: all
    monitors:
{monitor.format(vendor="beta")}    sla:
      target_pct: 99.5
      maintenance: excluded
""",
        encoding="utf-8",
    )
    maintenance = tmp_path / "maintenance_windows.yaml"
    maintenance.write_text(
        f"""\
acme:
  announced:
    - {{start: "{at(-8 * H)}", end: "{at(-7.5 * H)}", announced_at: "{at(-8.2 * H)}", note: Hotfix}}
    - {{start: "{at(-5 * H)}", end: "{at(-4 * H)}", announced_at: "{at(-960 * H)}", note: Upgrade}}
    - {{start: "{at(48 * H)}", end: "{at(49 * H)}", announced_at: "{at(-24 * H)}", note: Next}}
  exclusions:
    - {{start: "{at(-3 * H)}", end: "{at(-2.5 * H)}", reason: district network}}
beta:
  announced:
    - {{start: "{at(-H)}", end: "{at(24 * H)}", announced_at: "{at(-960 * H)}", note: Move}}
""",
        encoding="utf-8",
    )
    config = load_config(vendors, maintenance)
    db = tmp_path / "uptime.db"
    storage = Storage(db)
    try:
        storage.record_results(history(now), stale_limits(config))
    finally:
        storage.close()
    year, month = month_of(config.vendor("acme"), now)
    return Seeded(config, vendors, maintenance, db, now, f"{year:04d}-{month:02d}")


def history(now: datetime) -> list[ProbeResult]:
    out = []
    offset = -HISTORY
    offsets = []
    while offset < timedelta(0):
        offsets.append(offset)
        offset += STEP
    offsets.append(timedelta(seconds=-30))
    for offset in offsets:
        if SILENT[0] < offset < SILENT[1]:
            continue
        ok = not any(start <= offset < end for start, end in DOWN)
        for region in REGIONS:
            out.append(
                ProbeResult(
                    vendor="acme",
                    monitor="app",
                    region=region,
                    at=now + offset,
                    ok=ok,
                    latency=0.2,
                    status=200 if ok else 503,
                    error=None if ok else FailureClass.STATUS,
                    message=None if ok else "HTTP 503",
                )
            )
    return out


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition: (name, labels) → value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(all_samples: Samples, name: str, **labels: str) -> float:
    return all_samples[(name, frozenset(labels.items()))]
