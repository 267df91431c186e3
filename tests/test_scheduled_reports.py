"""Scheduled monthly reports: when a month falls due on every vendor's clock (east and west of
UTC, DST), the files a running server writes (the same bytes as ``uptime-ledger report``), the
catch-up at start of a real ``uptime-ledger run`` process, and the ``reports:`` section."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from support_cli import uptime_ledger

from reports.runner import report
from reports.scheduled import claim_months, due_at, due_month, formats, next_due
from uptime.config import ConfigError, load_config
from uptime.web.app import make_app

ServerFactory = Callable[..., Awaitable[TestServer]]


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def district(tmp_path: Path, reports: str = "") -> Path:
    """Two vendors, one east of UTC (Tokyo) and one west (Los Angeles), probed only by remote
    agents (so ``run`` probes nothing here), with a credit each."""
    for region in ("chicago", "atlanta"):
        (tmp_path / f"{region}.token").write_text(f"{region}-token-0123456789abcdef\n")
    monitor = """\
      - id: app
        functional_area: App
        url: http://127.0.0.1:9/
        interval: 60s
        timeout: 5s
        critical: true
"""
    sla = """\
      target_pct: 99.9
      maintenance: counts
      credit: {kind: full_hours, percent_per_hour: 100}
      fee: {amount: "720.00", per: month, currency: USD}
"""
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        f"""\
regions:
  chicago: {{name: Chicago, token_file: chicago.token}}
  atlanta: {{name: Atlanta, token_file: atlanta.token}}
{reports}vendors:
  east:
    name: East
    timezone: Asia/Tokyo
    monitors:
{monitor}    sla:
{sla}  west:
    name: West
    timezone: America/Los_Angeles
    monitors:
{monitor}    sla:
{sla}""",
        encoding="utf-8",
    )
    (tmp_path / "maintenance_windows.yaml").write_text("{}\n", encoding="utf-8")
    return vendors


def import_outages(tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    """``uptime-ledger import-outages`` of (vendor, start, end) seen from every region."""
    lines = ["vendor,region,start,end,note"]
    lines += [f"{v},{r},{s},{e},test" for v, s, e in rows for r in ("chicago", "atlanta")]
    (tmp_path / "outages.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = uptime_ledger("import-outages", "outages.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


# When a month is due -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "year", "month", "due"),
    [
        # 06:00 on the 1st: Tokyo's comes first (21:00 UTC the day before), Los Angeles' last
        ("0 6 1 * *", 2026, 2, "2026-03-01T06:00:00-08:00"),
        # after the spring change: Los Angeles on PDT
        ("0 6 1 * *", 2026, 3, "2026-04-01T06:00:00-07:00"),
        # December to January: the year turns
        ("0 6 1 * *", 2026, 12, "2027-01-01T06:00:00-08:00"),
        # midnight exactly at the month's end is its own first occurrence
        ("0 0 1 * *", 2025, 2, "2025-03-01T00:00:00-08:00"),
        # a wall time the spring change skips in Los Angeles (8 March 2026, 02:30): the moment
        # the clocks jump past it, 03:00 PDT
        ("30 2 8 3 *", 2026, 2, "2026-03-08T03:00:00-07:00"),
        # every day at 07:15: the first one after the month's end
        ("15 7 * * *", 2024, 2, "2024-03-01T07:15:00-08:00"),
        # a Monday schedule: 2 March 2026 is the first Monday after February
        ("0 9 * * mon", 2026, 2, "2026-03-02T09:00:00-08:00"),
    ],
    ids=["1st-0600", "after-dst", "year-turns", "midnight", "skipped-hour", "daily", "monday"],
)
def test_a_month_is_due_at_the_latest_zones_occurrence(
    tmp_path: Path, schedule: str, year: int, month: int, due: str
) -> None:
    config = load_config(district(tmp_path), tmp_path / "maintenance_windows.yaml")
    assert due_at(schedule, config.vendors, year, month) == u(due)
    east_only = [config.vendor("east")]
    # Tokyo alone is due 17 (16 in summer) hours earlier, on its own clock
    assert due_at(schedule, east_only, year, month) < u(due)


def test_due_month_and_next_due_around_the_due_time(tmp_path: Path) -> None:
    config = load_config(district(tmp_path), tmp_path / "maintenance_windows.yaml")
    due = u("2026-03-01T06:00:00-08:00")
    before, after = due - timedelta(seconds=1), due
    # a second before, Tokyo's 1 March 06:00 has come but Los Angeles' has not: January
    assert due_month("0 6 1 * *", config.vendors, before)[:2] == (2026, 1)
    assert next_due("0 6 1 * *", config.vendors, before) == (2026, 2, due)
    assert due_month("0 6 1 * *", config.vendors, after) == (2026, 2, due)
    assert next_due("0 6 1 * *", config.vendors, after)[:2] == (2026, 3)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('reports: {schedule: "0 6 1 *"}\n', "reports.schedule: got '0 6 1 *'"),
        ('reports: {schedule: "0 6 30 2 *"}\n', "fires at least once a year"),
        ('reports: {schedule: "61 6 1 * *"}\n', "reports.schedule"),
        ("reports: {dir: 7}\n", "reports.dir"),
        ("reports: {dirs: out}\n", "reports.dirs"),
    ],
    ids=["four-fields", "never-fires", "bad-minute", "dir-not-text", "unknown-key"],
)
def test_a_bad_reports_section_is_one_clear_error(
    tmp_path: Path, section: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)) as error:
        load_config(district(tmp_path, section), tmp_path / "maintenance_windows.yaml")
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(f"{tmp_path / 'vendors.yaml'}:4: ")


def test_the_reports_section_defaults_and_values(tmp_path: Path) -> None:
    default = load_config(district(tmp_path), tmp_path / "maintenance_windows.yaml").reports
    assert (default.dir, default.schedule) == (Path("reports"), "0 6 1 * *")
    given = load_config(
        district(tmp_path, 'reports: {dir: out/monthly, schedule: "30  7 2 * *"}\n'),
        tmp_path / "maintenance_windows.yaml",
    ).reports
    assert (given.dir, given.schedule) == (Path("out/monthly"), "30 7 2 * *")


# A running server writes them ----------------------------------------------------------------


async def wait_for_files(paths: list[Path], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"not written within {seconds}s: {paths}"
        await asyncio.sleep(0.1)


def generated_at(document: bytes) -> datetime:
    return datetime.fromisoformat(json.loads(document)["generated_at"])


def cli_report(tmp_path: Path, month: str, format: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "uptime.cli", "report", "--month", month, "--format", format],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_schedule_fires_and_catches_up_on_every_vendors_clock(
    aiohttp_server: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # reports.dir is relative to the server's current directory
    config = load_config(district(tmp_path, "reports: {dir: out}\n"), "maintenance_windows.yaml")
    # October 2026 in Tokyo ends 15:00 UTC on the 31st, in Los Angeles 07:00 UTC on 1 November
    import_outages(
        tmp_path,
        [
            ("east", "2026-09-10T01:00:00+09:00", "2026-09-10T04:00:00+09:00"),
            ("west", "2026-09-20T10:00:00-07:00", "2026-09-20T11:30:00-07:00"),
            ("east", "2026-10-31T22:00:00+09:00", "2026-11-01T02:00:00+09:00"),  # into November
            ("west", "2026-10-31T22:00:00-07:00", "2026-11-01T01:00:00-07:00"),
        ],
    )
    october_due = due_at(config.reports.schedule, config.vendors, 2026, 10)
    assert october_due == u("2026-11-01T06:00:00-08:00")  # after the fall-back, PST
    # The server's clock runs at the real rate, starting 8 s before October falls due.
    offset = october_due - timedelta(seconds=8) - datetime.now(UTC)
    app = make_app(
        config,
        tmp_path / "uptime.db",
        probe_regions=(),
        reports=True,
        clock=lambda: datetime.now(UTC) + offset,
    )
    await aiohttp_server(app)
    out = tmp_path / "out"
    september = [out / f"2026-09.{f}" for f in formats()]
    october = [out / f"2026-10.{f}" for f in formats()]
    assert [p.name for p in september][:1] == ["2026-09.json"]

    # at start: September was due (1 October 06:00 in Los Angeles) and is missing
    await wait_for_files(september, 30)
    assert not any(p.exists() for p in october), "October was written before it was due"
    # then October, once 1 November 06:00 has come in Los Angeles too
    await wait_for_files(october, 40)
    written_at = datetime.now(UTC) + offset
    assert written_at >= october_due

    for path in september + october:
        year, month = (int(part) for part in path.stem.split("-"))
        document = path.read_bytes()
        json_document = (out / f"{path.stem}.json").read_bytes()
        at = generated_at(json_document)
        assert (
            report(config, tmp_path / "uptime.db", year, month, format=path.suffix[1:], now=at)
            == document
        )
    october_json = json.loads((out / "2026-10.json").read_bytes())
    assert generated_at((out / "2026-10.json").read_bytes()) >= october_due.replace(microsecond=0)
    minutes = {v["vendor"]: v["minutes"]["downtime"] for v in october_json["vendors"]}
    assert minutes == {"east": 120.0, "west": 120.0}  # each month's part, on its own clock
    # the same bytes as `uptime-ledger report`, but for the moment each was made
    cli = json.loads(cli_report(tmp_path, "2026-10", "json"))
    assert {**cli, "generated_at": None} == {**october_json, "generated_at": None}
    # nothing half-written is left beside them
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in september + october)


# A real `run` process ------------------------------------------------------------------------


def test_run_writes_the_missing_report_at_start_and_logs_it(tmp_path: Path) -> None:
    """``uptime-ledger run`` started after last month fell due writes it at start; a closed
    month's JSON is exactly what ``uptime-ledger report`` prints (its frozen bytes)."""
    config = load_config(district(tmp_path), tmp_path / "maintenance_windows.yaml")
    due = due_month(config.reports.schedule, config.vendors, datetime.now(UTC))
    assert due is not None
    start = datetime(due.year, due.month, 3, 10, tzinfo=UTC).isoformat()
    end = datetime(due.year, due.month, 3, 12, 30, tzinfo=UTC).isoformat()
    import_outages(tmp_path, [("east", start, end), ("west", start, end)])
    closed = uptime_ledger("close", "--month", due.label, "--by", "finance", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr

    paths = [tmp_path / "reports" / f"{due.label}.{f}" for f in formats()]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptime.cli", "run", "--port", "0", "--no-uvloop"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not all(p.exists() for p in paths) and proc.poll() is None:
            assert time.monotonic() < deadline, "the report was not written within 60 s"
            time.sleep(0.2)
        time.sleep(0.5)  # the log line follows the rename
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    for path in paths:
        document = path.read_bytes()
        if path.suffix == ".json":
            assert document == cli_report(tmp_path, due.label, "json")
        digest = hashlib.sha256(document).hexdigest()
        assert f"wrote the report of {due.label}: reports/{path.name} (sha256 {digest})" in stderr
    # the west vendor's 150 minutes, and the east's, in the frozen figures
    figures = json.loads(paths[0].read_bytes())
    assert [v["minutes"]["downtime"] for v in figures["vendors"]] == [150.0, 150.0]
    assert "last month's report goes to reports/ on schedule '0 6 1 * *'" in stderr


SHIPPED = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("vendor", "now", "months"),
    [
        # ClassSwift: 5 business days from the day after an interruption ending at midnight on
        # 30 November (the day of its last minute): Tue 1 ... Mon 7 December 2026.
        ("classswift", "2026-12-01T12:00:00-08:00", [(2026, 11), (2026, 12)]),
        ("classswift", "2026-12-07T23:59:00-08:00", [(2026, 11), (2026, 12)]),
        ("classswift", "2026-12-08T00:00:00-08:00", [(2026, 12)]),
        # January: New Year's Day is no business day, so the previous month stays open longer.
        ("classswift", "2027-01-08T12:00:00-08:00", [(2026, 12), (2027, 1)]),
        ("classswift", "2027-01-09T12:00:00-08:00", [(2027, 1)]),
        # Class Collaborate's contract has no credit: no claim is ever open.
        ("classcollaborate", "2026-12-01T12:00:00-05:00", []),
    ],
    ids=["first-day", "last-open-day", "closed-again", "after-new-year", "later", "no-credit"],
)
def test_claim_months_are_the_ones_with_a_deadline_still_open(
    vendor: str, now: str, months: list[tuple[int, int]]
) -> None:
    config = load_config(
        SHIPPED / "vendors.yaml", SHIPPED / "uptime/config/defaults/maintenance_windows.yaml"
    )
    assert claim_months(config.vendor(vendor), datetime.fromisoformat(now)) == months


#: A collector's part in a report: a worker from ``report_worker`` busy with a report that
#: forks a worker of its own (as reports.runner does), both pids written to argv[1].
BUSY_PARENT = """
import sys, time
from uptime.web.scheduled import report_worker
busy = '''
import multiprocessing, os, time
child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(600,))
child.start()
with open(PIDS + ".part", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.rename(PIDS + ".part", PIDS)
time.sleep(600)
'''
worker = report_worker()
worker.submit(exec, busy, {"PIDS": sys.argv[1]})
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """A process that exists and is no zombie (an orphan's reaper may be slow to reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (the spawned worker, multiprocessing's resource tracker,
    the worker's own forked worker), from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        above = todo.pop()
        below = [child for child, parent in parents.items() if parent == above]
        found.update(below)
        todo += below
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_report_worker_ends_when_the_collector_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, "-c", BUSY_PARENT, str(pids)])
    try:
        deadline = time.monotonic() + 60
        while not pids.exists():
            assert parent.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.1)
        worker, forked = map(int, pids.read_text().split())
        below = descendants(parent.pid)
        assert {worker, forked} <= below
    finally:
        parent.kill()  # SIGKILL: no cleanup of its own runs
        parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while left := {pid for pid in below if alive(pid)}:
        if time.monotonic() > deadline:
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"still running 30 s after their parent was killed: {sorted(left)}")
        time.sleep(0.1)
