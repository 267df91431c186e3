"""The demo's district: seven simulated vendors, their contracts, their maintenance calendar and
their scripted timeline.

Most of the script repeats on the calendar (a bad day every month, a weekly window that
overruns, an emergency window every month), so the history a restart adds agrees with what
was written before. What the demo must show whenever it starts (a window open now that will
overrun, an emergency window announced for later today, a service flapping, a regional fault)
is placed relative to ``anchor``, the start of the hour the demo started in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from credits.intervals import HOUR, LATEST, MINUTE, Interval
from uptime.config import Config, load_config
from uptime.demo.simulator import endpoint_path
from uptime.demo.timeline import Pattern, Timeline, during, every, monthly, once

REGIONS = {
    "chicago": {"name": "Chicago, IL"},
    "california": {"name": "California"},
    "atlanta": {"name": "Atlanta, GA"},
}

#: How far back the history goes, and how far ahead the calendar lists windows.
HISTORY = timedelta(days=90)
AHEAD = timedelta(days=15)

#: The regional fault: what only this site sees.
FAULTY_REGION = "atlanta"

#: The vendor with a bad day every month, and when (its zone's wall clock).
BAD_DAY, BAD_DAY_AT, BAD_DAY_LENGTH = 12, time(8, 0), timedelta(hours=6, minutes=30)
#: The weekly window that overruns, and by how much.
OVERRUN = timedelta(minutes=30)
#: The emergency window of every month: the 20th, announced the day before.
EMERGENCY_DAY, EMERGENCY_AT, EMERGENCY_LENGTH = 20, time(21, 0), timedelta(hours=2)

#: What the demo shows, vendor by vendor.
SHOWS = {
    "gradebook": "healthy (one 12-minute outage on the 5th of each month, within its target); "
    "its Report cards monitor (not critical) flaps every 4 minutes",
    "library": "healthy, slow for 30 minutes every day at 18:00 UTC (degraded, not down)",
    "busroutes": "healthy all along",
    "messaging": "a regional fault: Atlanta alone sees it down (since two days ago, and 5 hours "
    "on the 8th of each month): a regional advisory, never counted",
    "classroom": "a 6.5-hour outage on the 12th of each month: misses its 99.5 % target and "
    "earns a credit (100 % of the hourly fee per full hour)",
    "video": "weekly maintenance (Thursday 02:00-04:00 New York) that overruns by 30 minutes, "
    "and an announced window open now that will overrun too",
    "helpdesk": "emergency maintenance (announced a day ahead, its contract asks for 5 "
    "business days) on the 20th of each month, and one due in 2 to 3 hours, announced with "
    "4 hours' notice",
}


def _monitor(monitor_id: str, area: str, url: str, interval: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": monitor_id,
        "functional_area": area,
        "url": url,
        "interval": interval,
        "timeout": "3s",
        "critical": True,
        **extra,
    }


def _sla(target: float, **extra: Any) -> dict[str, Any]:
    return {"target_pct": target, "maintenance": "counts", **extra}


@dataclass(frozen=True)
class Scenario:
    """The district the demo shows, around ``anchor``, served by the simulator at
    ``base_url``."""

    anchor: datetime
    base_url: str

    @classmethod
    def starting(cls, now: datetime, base_url: str) -> Scenario:
        """The scenario of a demo started at ``now``."""
        return cls(now.replace(minute=0, second=0, microsecond=0), base_url)

    def url(self, vendor: str, monitor: str) -> str:
        return self.base_url + endpoint_path(vendor, monitor)

    def vendors(self) -> dict[str, Any]:
        """vendors.yaml, as data."""
        url = self.url
        return {
            "regions": REGIONS,
            "probing": {"retries": 1, "retry_within": "2s", "batch": 100, "flush_every": "1s"},
            "web": {"title": "uptime-ledger demo: simulated district services", "refresh": "10s"},
            "vendors": {
                "gradebook": {
                    "name": "Gradebook",
                    "timezone": "America/Chicago",
                    "monitors": [
                        _monitor("app", "Grades", url("gradebook", "app"), "5s"),
                        _monitor(
                            "reports",
                            "Report cards",
                            url("gradebook", "reports"),
                            "5s",
                            critical=False,
                        ),
                    ],
                    "sla": _sla(99.9),
                },
                "library": {
                    "name": "Library catalogue",
                    "timezone": "America/New_York",
                    "monitors": [
                        _monitor(
                            "search", "Search", url("library", "search"), "10s", max_latency="1s"
                        )
                    ],
                    "sla": _sla(99.5),
                },
                "busroutes": {
                    "name": "Bus routes",
                    "timezone": "America/Denver",
                    "monitors": [_monitor("map", "Route map", url("busroutes", "map"), "10s")],
                    "sla": _sla(99.5),
                },
                "messaging": {
                    "name": "Parent messaging",
                    "timezone": "America/New_York",
                    "quorum": "all",
                    "monitors": [_monitor("send", "Messages", url("messaging", "send"), "5s")],
                    "sla": _sla(99.9),
                },
                "classroom": {
                    "name": "Classroom app",
                    "timezone": "America/Los_Angeles",
                    "monitors": [_monitor("app", "Classroom app", url("classroom", "app"), "5s")],
                    "sla": _sla(
                        99.5,
                        emergency_notice="5 business days",
                        business_calendar={"holidays": "US", "timezone": "America/Los_Angeles"},
                        credit={
                            "kind": "full_hours",
                            "rounding": "month",
                            "scope": "all",
                            "percent_per_hour": 100,
                        },
                        fee={"amount": "720.00", "per": "month", "currency": "USD"},
                        claim_within="5 business days",
                    ),
                },
                "video": {
                    "name": "Video sessions",
                    "timezone": "America/New_York",
                    "hosting": "us",
                    "monitors": [_monitor("sessions", "Sessions", url("video", "sessions"), "5s")],
                    "sla": _sla(99.5, maintenance="excluded", emergency_notice="2 business days"),
                },
                "helpdesk": {
                    "name": "Help desk",
                    "timezone": "America/Chicago",
                    "monitors": [_monitor("tickets", "Tickets", url("helpdesk", "tickets"), "10s")],
                    "sla": _sla(99.5, emergency_notice="5 business days"),
                },
            },
        }

    def maintenance(self) -> dict[str, Any]:
        """maintenance_windows.yaml, as data."""
        a = self.anchor
        return {
            "video": {
                "recurring": [
                    {
                        "name": "Weekly maintenance",
                        "cron": "0 2 * * thu",
                        "duration": "2h",
                        "timezone": "America/New_York",
                        "hosting": "us",
                    }
                ],
                "announced": [
                    _announced(a - 30 * MINUTE, a + 90 * MINUTE, a - timedelta(days=10), "Upgrade")
                ],
            },
            "helpdesk": {
                "announced": [
                    *self._emergencies("America/Chicago"),
                    _announced(a + 3 * HOUR, a + 4 * HOUR, a - HOUR, "Urgent security patch"),
                ]
            },
        }

    def _emergencies(self, zone_name: str) -> Iterator[dict[str, str]]:
        zone = ZoneInfo(zone_name)
        first = (self.anchor - HISTORY).astimezone(zone)
        last = (self.anchor + AHEAD).astimezone(zone)
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            start = datetime.combine(date(year, month, EMERGENCY_DAY), EMERGENCY_AT, tzinfo=zone)
            yield _announced(
                start, start + EMERGENCY_LENGTH, start - timedelta(days=1), "Database repair"
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def write(self, folder: Path) -> Config:
        """Write both files into ``folder`` and load them as any configuration is loaded."""
        vendors, windows = folder / "vendors.yaml", folder / "maintenance_windows.yaml"
        vendors.write_text(yaml.safe_dump(self.vendors(), sort_keys=False), encoding="utf-8")
        windows.write_text(yaml.safe_dump(self.maintenance(), sort_keys=False), encoding="utf-8")
        return load_config(vendors, windows)

    def timeline(self, config: Config) -> Timeline:
        """What every endpoint of ``config`` (this scenario's) answers, and when."""
        a = self.anchor
        central, pacific = ZoneInfo("America/Chicago"), ZoneInfo("America/Los_Angeles")
        daily = datetime(2000, 1, 1, 18, tzinfo=UTC)
        patterns: dict[tuple[str, str], list[Pattern]] = {
            ("gradebook", "app"): [monthly("down", 5, time(10, 0), 12 * MINUTE, central)],
            ("gradebook", "reports"): [every("down", 4 * MINUTE, MINUTE, since=a - HOUR)],
            ("library", "search"): [every("slow", timedelta(days=1), 30 * MINUTE, since=daily)],
            ("messaging", "send"): [
                once("down", Interval(a - timedelta(days=2), LATEST), [FAULTY_REGION]),
                monthly(
                    "down", 8, time(9, 0), 5 * HOUR, ZoneInfo("America/New_York"), [FAULTY_REGION]
                ),
            ],
            ("classroom", "app"): [monthly("down", BAD_DAY, BAD_DAY_AT, BAD_DAY_LENGTH, pacific)],
            ("video", "sessions"): [during(config.vendor("video").windows, OVERRUN)],
            ("helpdesk", "tickets"): [during(config.vendor("helpdesk").windows)],
        }
        return Timeline(patterns)


def _announced(start: datetime, end: datetime, announced_at: datetime, note: str) -> dict[str, str]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "announced_at": announced_at.isoformat(),
        "note": note,
    }
