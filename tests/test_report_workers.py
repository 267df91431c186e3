"""The report computed by forked worker processes is the report computed in one process: the
pool wraps the pipeline from outside (each worker sends back its vendors' contexts; the renderer
sees the whole month)."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credits.intervals import Interval
from credits.month import VendorMonth
from probes.result import FailureClass, ProbeResult
from reports import runner
from reports.context import VendorContext, vendor_context
from reports.runner import VENDORS_PER_WORKER, Month, WorkerDied, each_vendor
from uptime.config import Config, load_config
from uptime.sources import Source, database_sources
from uptime.store.storage import OutageRow, Storage

REGIONS = ("atlanta", "california", "chicago")
VENDORS = 3 * VENDORS_PER_WORKER + 7  # enough for three workers, in slices of unequal size
ZONES = ("America/Los_Angeles", "America/New_York", "UTC", "Australia/Sydney")
NOW = datetime(2025, 4, 2, tzinfo=UTC)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")


def write_config(directory: Path) -> Config:
    lines = ["regions:", *(f"  {r}: {{name: {r}}}" for r in REGIONS), "vendors:"]
    for n in range(VENDORS):
        lines += [
            f"  v{n:03d}:",
            f"    name: Vendor {n}",
            f"    timezone: {ZONES[n % len(ZONES)]}",
            "    monitors:",
            "      - {id: app, functional_area: App, url: 'https://app.example.invalid/',"
            " interval: 60s, timeout: 10s, critical: true}",
            "    sla:",
            f"      target_pct: {99 + n % 10 / 10}",
            "      maintenance: counts",
            "      credit: {kind: full_hours, rounding: incident, percent_per_hour: 100}",
            "      fee: {amount: '744.00', per: month, currency: USD}",
        ]
    (directory / "vendors.yaml").write_text("\n".join(lines) + "\n")
    (directory / "maintenance_windows.yaml").write_text("{}\n")
    return load_config(directory / "vendors.yaml", directory / "maintenance_windows.yaml")


def fill_database(db: Path) -> None:
    """Imported outages for three vendors in four, and probe results for one in five: sparse
    (stale, so unknown, two minutes after each), with failures seen from every site, the last
    one still open at the end of March, and nothing before the first results (blind)."""
    rows = []
    results = []
    for n in range(VENDORS):
        vendor = f"v{n:03d}"
        start = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=n % 50, minutes=n)
        for k in range(n % 4):
            at = start + timedelta(days=9 * k)
            rows.extend(
                OutageRow(vendor, r, Interval(at, at + timedelta(hours=3))) for r in REGIONS
            )
        if n % 5 == 0:
            first = datetime(2025, 3, 10, tzinfo=UTC) + timedelta(minutes=n)
            last = datetime(2025, 3, 31, 23, tzinfo=UTC)
            for k, region in enumerate(REGIONS):
                for at, ok in ((first, True), (first + timedelta(minutes=10 + k), False)):
                    results.append(result(vendor, region, at, ok))
                results.append(result(vendor, region, first + timedelta(minutes=40), True))
                results.append(result(vendor, region, last, False))
    storage = Storage(db)
    try:
        storage.add_outages(rows, imported_at=NOW)
        stale = {(f"v{n:03d}", "app"): timedelta(seconds=130) for n in range(VENDORS)}
        storage.record_results(sorted(results, key=lambda r: r.at), stale)
    finally:
        storage.close()


def result(vendor: str, region: str, at: datetime, ok: bool) -> ProbeResult:
    return ProbeResult(
        vendor,
        "app",
        region,
        at,
        ok,
        0.05,
        status=200 if ok else 503,
        error=None if ok else FailureClass.STATUS,
    )


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Month]:
    directory = tmp_path_factory.mktemp("workers")
    config = write_config(directory)
    fill_database(directory / "uptime.db")
    return directory / "uptime.db", Month(config, 2025, 3, NOW)


def sources(db: Path) -> Callable[[], list[Source]]:
    return functools.partial(database_sources, db)


def with_pid(month: VendorMonth) -> tuple[int, VendorContext]:
    return os.getpid(), vendor_context(month)


def test_workers_render_every_vendor_in_order_as_one_process_does(
    month: tuple[Path, Month],
) -> None:
    db, inputs = month
    alone = each_vendor(inputs, sources(db), with_pid, jobs=1)
    shared = each_vendor(inputs, sources(db), with_pid, jobs=3)
    assert {pid for pid, _ in alone} == {os.getpid()}
    # The first vendor is computed here before forking; the rest by this process and two
    # forked ones, three in all.
    pids = {pid for pid, _ in shared[1:]}
    assert os.getpid() in pids and len(pids - {os.getpid()}) == 2
    assert [made for _, made in shared] == [made for _, made in alone]
    entries = [made for _, made in shared]
    assert [e.vendor for e in entries] == [f"v{n:03d}" for n in range(VENDORS)]
    assert sum(len(e.interruptions) for e in entries) > VENDORS
    # What the probes saw reached the workers: stale (unknown) between the sparse results.
    probed = [e for e in entries if int(e.vendor[1:]) % 5 == 0]
    assert all(e.minutes.unmonitored > 9 * 24 * 60 for e in probed)
    assert all(e.minutes.unmonitored == 0 for e in entries if e not in probed)


def niceness(month: VendorMonth) -> int:
    return os.nice(0)


def test_workers_yield_the_cpu_to_a_busy_monitor(month: tuple[Path, Month]) -> None:
    db, inputs = month
    here = os.nice(0)
    rendered = each_vendor(inputs, sources(db), niceness, jobs=2)
    # This process computes the first vendor and its share as it would alone (with --jobs 1);
    # the forked worker, the rest, at a lower priority.
    share = (VENDORS - 1) // 2
    assert set(rendered[: 1 + share]) == {here}
    assert set(rendered[1 + share :]) == {min(here + 5, 19)}


def test_jobs_beyond_the_vendors_worth_a_worker_use_fewer_processes(
    month: tuple[Path, Month],
) -> None:
    db, inputs = month
    rendered = each_vendor(inputs, sources(db), with_pid, jobs=64)
    assert len({pid for pid, _ in rendered[1:]}) == VENDORS // VENDORS_PER_WORKER


class Refused(Exception):
    pass


def fail_on_v150(month: VendorMonth) -> VendorContext:
    if month.vendor.id == "v150":
        raise Refused(f"cannot render {month.vendor.id}")
    return vendor_context(month)


def test_an_error_in_a_worker_is_raised_here(month: tuple[Path, Month]) -> None:
    db, inputs = month
    with pytest.raises(Refused, match="cannot render v150"):
        each_vendor(inputs, sources(db), fail_on_v150, jobs=2)


def test_report_command_gives_the_same_bytes_with_any_jobs(month: tuple[Path, Month]) -> None:
    directory = month[0].parent
    texts = []
    for jobs in ("1", "2"):
        out = directory / f"report-{jobs}.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "uptime.cli",
                "--db",
                "uptime.db",
                "report",
                "--month",
                "2025-03",
                "--jobs",
                jobs,
                "--out",
                str(out),
            ],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        document = json.loads(out.read_text())
        document.pop("generated_at")
        texts.append(document)
    assert texts[0] == texts[1]
    assert [v["vendor"] for v in texts[0]["vendors"]] == [f"v{n:03d}" for n in range(VENDORS)]


def test_jobs_must_be_a_positive_count(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uptime.cli", "report", "--month", "2025-03", "--jobs", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "'0' is not a count; expected 1 or more" in done.stderr


def die_on_v150(month: VendorMonth) -> VendorContext:
    if month.vendor.id == "v150":
        os._exit(9)  # as if the kernel had killed the worker
    return vendor_context(month)


def test_a_worker_that_dies_fails_the_report_instead_of_hanging(
    month: tuple[Path, Month],
) -> None:
    db, inputs = month

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("each_vendor still waiting 60 s after a worker died")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(BrokenProcessPool):
            each_vendor(inputs, sources(db), die_on_v150, jobs=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_the_report_says_a_worker_died_and_writes_nothing(
    month: tuple[Path, Month], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, inputs = month
    monkeypatch.setattr(runner, "vendor_context", die_on_v150)
    with pytest.raises(WorkerDied, match="a report worker process died") as raised:
        runner.report(inputs.config, db, 2025, 3, jobs=2, now=NOW)
    assert raised.value.outcome == "nothing was written"
