"""Imported outage history stays what it is once probing starts (issue 7, item 5, 1st bullet).

A district imports last year's outages, then runs the monitor: a past month's figures must not
change. An imported row is what a site saw, so it is never masked by blindness; and time before a
region's first result is blind only from when probing of that monitor began.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support_cli import uptime_ledger
from support_engine import StubVendor

from credits.intervals import MINUTE, Interval, ratio
from credits.month import Observations, vendor_month

POLICIES = ("as_up", "exclude", "as_down")
REGIONS = ("atlanta", "california", "chicago")
#: Two hours of January 2025 seen down from every site, in another tool's history.
HISTORY = "".join(
    f"{vendor},{region},2025-01-15T10:00:00Z,2025-01-15T12:00:00Z,old tool\n"
    for vendor in POLICIES
    for region in REGIONS
)


def vendors_yaml(url: str) -> str:
    lines = ["regions:", *(f"  {r}: {{name: {r}}}" for r in REGIONS), "vendors:"]
    for policy in POLICIES:
        lines += [
            f"  {policy}:",
            f"    name: Vendor {policy}",
            "    timezone: UTC",
            "    monitors:",
            f"      - {{id: app, functional_area: App, url: '{url}', interval: 1s, timeout: 1s,"
            " critical: true}",
            "    sla:",
            "      target_pct: 99.9",
            "      maintenance: counts",
            f"      unmonitored: {policy}",
            "      credit: {kind: full_hours, rounding: month, percent_per_hour: 100}",
            "      fee: {amount: '744.00', per: month, currency: USD}",
        ]
    return "\n".join(lines) + "\n"


class _Up(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def vendor_site() -> Iterator[str]:
    """A local vendor that answers 200 to everything."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Up)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def january(cwd: Path) -> dict[str, dict]:
    done = uptime_ledger("report", "--month", "2025-01", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return {v["vendor"]: v for v in json.loads(done.stdout)["vendors"]}


def probed_regions(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {region for (region,) in conn.execute("select region from first_seen")}


def run_until_every_region_reported(cwd: Path, db: Path) -> None:
    """``uptime-ledger run`` until each region's first result is stored, then SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptime.cli", "run", "--port", "0", "--no-uvloop"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and probed_regions(db) == set(REGIONS):
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert probed_regions(db) == set(REGIONS), stderr


def test_probing_later_does_not_change_an_imported_month(vendor_site: str, tmp_path: Path) -> None:
    (tmp_path / "vendors.yaml").write_text(vendors_yaml(vendor_site))
    (tmp_path / "maintenance_windows.yaml").write_text("{}\n")
    (tmp_path / "history.csv").write_text("vendor,region,start,end,note\n" + HISTORY)
    done = uptime_ledger("import-outages", "history.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    before = january(tmp_path)
    for policy in POLICIES:
        figures = before[policy]
        assert figures["minutes"]["downtime"] == 120.0, policy
        assert figures["minutes"]["unmonitored"] == 0.0, policy
        assert [(i["start"], i["end"]) for i in figures["interruptions"]] == [
            ("2025-01-15T10:00:00+00:00", "2025-01-15T12:00:00+00:00")
        ]
        # 44,640 minutes in January: (44640 − 120) / 44640.
        assert figures["availability_pct"] == 99.731183
        assert figures["credit"]["hours"] == 2 and figures["credit"]["amount"] == "2.00"

    run_until_every_region_reported(tmp_path, tmp_path / "uptime.db")

    after = january(tmp_path)
    summary = {p: (v["minutes"], v["availability_pct"], v["credit"]) for p, v in after.items()}
    assert summary == {
        p: (v["minutes"], v["availability_pct"], v["credit"]) for p, v in before.items()
    }
    assert after == before


# The engine alone ----------------------------------------------------------------------------


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


IMPORTED = Interval(t("2025-01-15T10:00"), t("2025-01-15T12:00"))
EVERY_SITE = {region: [IMPORTED] for region in REGIONS}


def january_of(
    vendor: StubVendor,
    first_results: dict[str, dict[str, datetime]] | None = None,
    now: datetime | None = None,
) -> tuple[list[Interval], Fraction, Fraction]:
    observed = Observations(reported_down=EVERY_SITE, first_results=first_results or {})
    month = vendor_month(vendor, 2025, 1, observed, now)
    a = month.availability
    return (
        [p.interval for p in a.parts],
        ratio(a.buckets.downtime, MINUTE),
        ratio(a.unmonitored, MINUTE),
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_probing_that_began_after_the_month_leaves_it_alone(policy: str) -> None:
    vendor = StubVendor(unmonitored=policy)
    began = t("2026-12-01T09:00")
    probed = january_of(
        vendor, {"app": {region: began for region in REGIONS}}, began + timedelta(seconds=5)
    )
    assert probed == january_of(vendor) == ([IMPORTED], 120, 0)


@pytest.mark.parametrize("policy", POLICIES)
def test_regions_not_yet_reporting_are_blind_only_once_probing_began(policy: str) -> None:
    # Chicago's first result came on the 10th; the other sites' on the 20th. Before the 10th
    # nobody was probing: nothing is blind, and the imported outage on the 15th, which every
    # site saw, is counted whole, with every site (a blind site's own report is not masked).
    first_results = {
        "app": {
            "chicago": t("2025-01-10T00:00"),
            "atlanta": t("2025-01-20T00:00"),
            "california": t("2025-01-20T00:00"),
        }
    }
    observed = Observations(reported_down=EVERY_SITE, first_results=first_results)
    month = vendor_month(StubVendor(unmonitored=policy), 2025, 1, observed, t("2025-02-01T00:00"))
    (part,) = month.availability.parts
    assert part.interval == IMPORTED and part.interruption.regions == REGIONS
    assert ratio(month.availability.buckets.downtime, MINUTE) == 120
    assert not month.availability.unmonitored  # chicago could see from the 10th


def test_an_imported_outage_is_never_masked_by_blind_time() -> None:
    # Every site blind from 10:00 to 12:00 (the collector was down), while the old tool saw
    # the vendor down from 10:30 to 11:30 from every site: that hour is downtime, the rest of
    # the blind time unmonitored.
    blind = Interval(t("2025-01-15T10:00"), t("2025-01-15T12:00"))
    seen = Interval(t("2025-01-15T10:30"), t("2025-01-15T11:30"))
    observed = Observations(
        unknown={"app": {region: [blind] for region in REGIONS}},
        reported_down={region: [seen] for region in REGIONS},
    )
    month = vendor_month(StubVendor(), 2025, 1, observed)
    assert [p.interval for p in month.availability.parts] == [seen]
    assert ratio(month.availability.buckets.downtime, MINUTE) == 60
    assert ratio(month.availability.unmonitored, MINUTE) == 60
