"""Closing a month: its figures freeze, changes that would move them are refused, the audit trail
records who did what and shows tampering; exclusions and maintenance from the command line.

Everything goes through the real ``uptime-ledger`` entry point in a child process and a real
SQLite file, as finance staff would use it; the library is called directly only to compute the
month afresh and compare it with the frozen report.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from reports import json_report
from reports.closed import closed_context
from reports.runner import month_context
from tests.support_cli import uptime_ledger
from uptime.config import load_config
from uptime.probing.jobs import stale_limits
from uptime.store.database import open_read_only
from uptime.store.finance import months_touched, read_records, recorded_config
from uptime.store.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
REGIONS = ("chicago", "california", "atlanta")


def everywhere(start: str, end: str, note: str = "") -> list[str]:
    return [f"classswift,{region},{start},{end},{note}" for region in REGIONS]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("vendor,region,start,end,note\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A district folder: the shipped vendors.yaml, no windows, and October 2026's history (a
    150-minute ClassSwift outage on 10 October), read as ./vendors.yaml and ./uptime.db."""
    (tmp_path / "vendors.yaml").write_text((ROOT / "vendors.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "maintenance_windows.yaml").write_text("{}\n", encoding="utf-8")
    history = everywhere("2026-10-10T10:00:00Z", "2026-10-10T12:30:00Z", "Login down")
    done = uptime_ledger("import-outages", write_csv(tmp_path / "oct.csv", history), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def ok(*args: str | Path, cwd: Path) -> str:
    done = uptime_ledger(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(*args: str | Path, cwd: Path, exit_code: int = 1) -> str:
    done = uptime_ledger(*args, cwd=cwd)
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


def report_bytes(ledger: Path, month: str, *extra: str) -> bytes:
    out = ledger / f"{month}{'-'.join(extra)}.json"
    ok("report", "--month", month, "--format", "json", *extra, "--out", out, cwd=ledger)
    return out.read_bytes()


def swift(document: bytes) -> dict:
    return json.loads(document)["vendors"][0]


def count(ledger: Path, sql: str) -> int:
    with sqlite3.connect(ledger / "uptime.db") as conn:
        return conn.execute(sql).fetchone()[0]


def stored_close(ledger: Path, month: str) -> tuple[str, bytes]:
    with sqlite3.connect(ledger / "uptime.db") as conn:
        sha, report = conn.execute(
            "select sha256, report from closed_reports where month = ? order by seq desc", [month]
        ).fetchone()
    return sha, report


def fresh_computation(ledger: Path, year: int, month: int) -> bytes:
    """The month computed again from the database and configuration as they are now, read as
    of its close: equal to the frozen report exactly when nothing it depends on changed."""
    config = load_config(ledger / "vendors.yaml", ledger / "maintenance_windows.yaml")
    db = open_read_only(ledger / "uptime.db")
    try:
        records = read_records(db)
    finally:
        db.close()
    close = records.closes[f"{year:04d}-{month:02d}"]
    config = recorded_config(config, records)
    return json_report.render(
        month_context(config, ledger / "uptime.db", year, month, close.closed_at)
    )


def test_a_closed_month_refuses_every_change_and_keeps_its_hash(ledger: Path) -> None:
    before = report_bytes(ledger, "2026-10")
    assert swift(before)["minutes"]["downtime"] == 150.0

    said = ok("close", "--month", "2026-10", "--by", "ana", cwd=ledger)
    sha, frozen = stored_close(ledger, "2026-10")
    assert f"closed 2026-10: report frozen, sha256 {sha}" in said
    assert hashlib.sha256(frozen).hexdigest() == sha
    # The month's JSON is the frozen bytes themselves: finance can check them with sha256sum.
    assert report_bytes(ledger, "2026-10") == frozen

    outages = count(ledger, "select count(*) from outages")
    late = write_csv(
        ledger / "late.csv", everywhere("2026-10-20T10:00:00Z", "2026-10-20T11:00:00Z", "late")
    )
    error = refused("import-outages", late, cwd=ledger)
    assert "2026-10 is closed (by ana on " in error
    assert "late.csv: the outage classswift,chicago,2026-10-20T10:00:00+00:00" in error
    assert "uptime-ledger close --month 2026-10 --reopen --reason TEXT" in error
    assert "nothing was changed" in error
    assert count(ledger, "select count(*) from outages") == outages

    # Importing rows already there changes nothing, so it is not refused.
    assert "0 new, 3 already imported" in ok("import-outages", ledger / "oct.csv", cwd=ledger)

    exclusion = ("--vendor", "classswift", "--reason", "district network")
    error = refused(
        "exclude", *exclusion, "--from", "2026-10-10T03:00:00-07:00",
        "--to", "2026-10-10T04:00:00-07:00", cwd=ledger,
    )  # fmt: skip
    assert "2026-10 is closed" in error and "this exclusion would change classswift's" in error
    # Ending in November on the Los Angeles clock still touches October.
    refused(
        "exclude", *exclusion, "--from", "2026-10-31T23:00:00-07:00",
        "--to", "2026-11-01T01:00:00-07:00", cwd=ledger,
    )  # fmt: skip
    error = refused(
        "maintenance", "add", "--vendor", "classswift", "--start", "2026-10-20T22:00:00-07:00",
        "--end", "2026-10-21T01:00:00-07:00", "--announced-at", "2026-10-01T09:00:00-07:00",
        "--note", "Upgrade", cwd=ledger,
    )  # fmt: skip
    assert "this maintenance window would change classswift's figures" in error
    assert count(ledger, "select count(*) from audit_events") == 1  # the close alone

    # November is open: an exclusion there is recorded.
    said = ok(
        "exclude", *exclusion, "--by", "ana", "--from", "2026-11-03T09:00:00-08:00",
        "--to", "2026-11-03T10:00:00-08:00", cwd=ledger,
    )  # fmt: skip
    assert said.startswith("recorded exclusion 2 for classswift: 2026-11-03 09:00 to ")

    # Nothing October depends on moved: computed again, it is the frozen report byte for byte.
    assert fresh_computation(ledger, 2026, 10) == frozen

    error = refused("close", "--month", "2026-10", "--reopen", cwd=ledger, exit_code=2)
    assert "--reason" in error
    said = ok(
        "close", "--month", "2026-10", "--reopen", "--reason", "vendor disputes the outage",
        "--by", "bo", cwd=ledger,
    )  # fmt: skip
    assert said.startswith(f"reopened 2026-10 (it was closed by ana, sha256 {sha})")
    ok(
        "exclude", *exclusion, "--by", "bo", "--from", "2026-10-10T03:00:00-07:00",
        "--to", "2026-10-10T04:00:00-07:00", cwd=ledger,
    )  # fmt: skip
    reopened = swift(report_bytes(ledger, "2026-10"))
    assert (reopened["minutes"]["downtime"], reopened["minutes"]["excluded"]) == (90.0, 60.0)
    assert reopened["exclusions"] == [
        {
            "start": "2026-10-10T03:00:00-07:00",
            "end": "2026-10-10T04:00:00-07:00",
            "reason": "district network",
            "minutes": 60.0,
            "id": 4,
            "by": "bo",
        }
    ]

    trail = ok("audit", "--month", "2026-10", cwd=ledger)
    lines = [" ".join(line.split()) for line in trail.splitlines()]
    assert [line.split()[0] for line in lines[1:]] == ["1", "3", "4"]  # 2 is November's
    assert "ana month closed - 2026-10" in lines[1] and sha in lines[1]
    assert "bo month reopened - 2026-10" in lines[2] and "vendor disputes the outage" in lines[2]
    assert "bo exclusion recorded classswift" in lines[3]
    assert "intact: 4 events" in ok("audit", "--verify", cwd=ledger)


def test_the_audit_trail_is_append_only_and_shows_tampering(ledger: Path) -> None:
    ok("close", "--month", "2026-10", "--by", "ana", cwd=ledger)
    ok(
        "exclude", "--vendor", "classswift", "--from", "2026-11-03T09:00:00-08:00",
        "--to", "2026-11-03T10:00:00-08:00", "--reason", "district network", cwd=ledger,
    )  # fmt: skip
    ok("close", "--month", "2026-11", cwd=ledger)
    assert "intact: 3 events" in ok("audit", "--verify", cwd=ledger)

    db = ledger / "uptime.db"
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("update audit_events set by = 'mallory' where seq = 1")
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("delete from audit_events where seq = 2")

    # Someone who drops the guard and edits the file is caught by the chain.
    with sqlite3.connect(db) as conn:
        conn.execute("drop trigger audit_events_no_update")
        conn.execute(
            "update audit_events set detail = replace(detail, 'district', 'vendor') where seq = 2"
        )
    error = refused("audit", "--verify", cwd=ledger)
    assert "the audit trail is broken: event 2 (exclude) was changed after it was written" in error


def test_a_changed_frozen_report_breaks_the_chain(ledger: Path) -> None:
    ok("close", "--month", "2026-10", cwd=ledger)
    with sqlite3.connect(ledger / "uptime.db") as conn:
        conn.execute("drop trigger closed_reports_no_update")
        conn.execute("update closed_reports set report = replace(report, '150.0', '15.0')")
    error = refused("audit", "--verify", cwd=ledger)
    assert "the frozen report of 2026-10 was changed after its close" in error


EXCLUSION_IN = """\
classswift:
  exclusions:
    - {start: "%s", end: "%s", reason: district network}
"""


def test_a_configuration_change_that_would_move_a_closed_month_is_refused(ledger: Path) -> None:
    ok("close", "--month", "2026-10", cwd=ledger)
    frozen = report_bytes(ledger, "2026-10")
    windows = ledger / "maintenance_windows.yaml"

    windows.write_text(EXCLUSION_IN % ("2026-10-10T10:00:00Z", "2026-10-10T11:00:00Z"), "utf-8")
    for command in (("report", "--month", "2026-11"), ("check-config",)):
        error = refused(*command, cwd=ledger)
        assert "2026-10 is closed" in error
        assert "the configuration of classswift changed since and would change its figures" in error

    # A change that moves nothing in October (an exclusion in November) is accepted.
    windows.write_text(EXCLUSION_IN % ("2026-11-10T10:00:00Z", "2026-11-10T11:00:00Z"), "utf-8")
    assert report_bytes(ledger, "2026-10") == frozen
    vendors = ledger / "vendors.yaml"
    text = vendors.read_text("utf-8")
    vendors.write_text(text.replace("target_pct: 95", "target_pct: 99.9", 1), "utf-8")
    assert "2026-10 is closed" in refused("report", "--month", "2026-10", cwd=ledger)


def late_batch(config_dir: Path) -> None:
    """What an agent that was cut off sends after October was closed: its October results, an
    hour of ClassSwift's app down everywhere on 20 October."""
    config = load_config(config_dir / "vendors.yaml", config_dir / "maintenance_windows.yaml")
    vendor = config.vendor("classswift")
    start = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    results = []
    for minute in range(180):
        at = start + timedelta(minutes=minute)
        down = 60 <= minute < 120
        for monitor in vendor.monitors:
            for region in monitor.regions:
                results.append(
                    ProbeResult(
                        vendor.id, monitor.id, region, at, not down, 0.05,
                        status=503 if down else 200,
                        error=FailureClass.STATUS if down else None,
                        message="HTTP 503" if down else None,
                    )
                )  # fmt: skip
    storage = Storage(config_dir / "uptime.db")
    try:
        storage.record_results(results, stale_limits(config))
    finally:
        storage.close()


def test_late_results_are_kept_out_of_a_closed_month_and_listed(ledger: Path) -> None:
    ok("close", "--month", "2026-10", cwd=ledger)
    sha, frozen = stored_close(ledger, "2026-10")
    late_batch(ledger)
    # Stored, but the closed figures do not move ...
    assert count(ledger, "select count(*) from results where at like '2026-10-20%'") > 0
    assert report_bytes(ledger, "2026-10") == frozen
    assert hashlib.sha256(report_bytes(ledger, "2026-10")).hexdigest() == sha
    # ... and a report of the month lists what a computation now finds different.
    db = open_read_only(ledger / "uptime.db")
    try:
        close = read_records(db).closes["2026-10"]
    finally:
        db.close()
    fresh = month_context(
        load_config(ledger / "vendors.yaml", ledger / "maintenance_windows.yaml"),
        ledger / "uptime.db",
        2026,
        10,
        close.closed_at,
    )
    month = closed_context(frozen, close, fresh, printed_at=datetime.now(UTC))
    assert month.closed is not None and month.closed.sha256 == sha
    assert len(month.changes_since_close) == 1
    change = month.changes_since_close[0]
    assert change.startswith("classswift: availability ")
    assert "downtime 150.0 → 210.0 min" in change
    assert "1 → 2 interruptions" in change


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        (("close", "--month", "2026-12"), 1, "2026-12 has not ended everywhere yet"),
        (("close", "--month", "2026-09", "--reopen", "--reason", "x"), 1, "2026-09 is not closed"),
        (("exclude", "--vendor", "classswift"), 2, "exclude needs --from, --to, --reason"),
        (
            ("exclude", "--vendor", "classswift", "--from", "2026-11-03T10:00:00Z",
             "--to", "2026-11-03T09:00:00Z", "--reason", "x"),
            2,
            "--to 2026-11-03T09:00:00+00:00 is not after --from",
        ),
        (
            ("exclude", "--vendor", "classswift", "--from", "2026-11-03T10:00:00",
             "--to", "2026-11-03T11:00:00Z", "--reason", "x"),
            2,
            "has no UTC offset",
        ),
        (
            ("exclude", "--vendor", "nobody", "--from", "2026-11-03T09:00:00Z",
             "--to", "2026-11-03T10:00:00Z", "--reason", "x"),
            2,
            "nobody",
        ),
        (
            ("exclude", "--vendor", "classswift", "--from", "2026-11-03T09:00:00Z",
             "--to", "2026-11-03T10:00:00Z", "--reason", "   "),
            2,
            "--reason is empty",
        ),
        (
            ("exclude", "--vendor", "classswift", "--from", "2026-11-03T09:00:00Z",
             "--to", "2026-11-03T10:00:00Z", "--reason", "network \x1b[31m down"),
            2,
            "--reason holds a control character",
        ),
        (("exclude", "--undo", "7", "--reason", "x"), 2, "no recorded exclusion 7"),
        (("exclude", "--undo", "7"), 2, "needs --reason"),
        (("maintenance",), 2, "maintenance needs --vendor, --from, --to"),
        (
            ("maintenance", "add", "--vendor", "classswift", "--start", "2026-12-05T22:00:00Z",
             "--end", "2026-12-05T21:00:00Z", "--announced-at", "2026-11-20T09:00:00Z"),
            2,
            "is not after --start",
        ),
    ],
    ids=[
        "month-not-over", "reopen-open-month", "exclude-missing", "exclude-reversed",
        "exclude-no-offset", "exclude-unknown-vendor", "exclude-blank-reason",
        "exclude-control-character", "undo-unknown",
        "undo-no-reason", "maintenance-missing", "window-reversed",
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_line_and_changes_nothing(
    ledger: Path, args: tuple[str, ...], exit_code: int, says: str
) -> None:
    error = refused(*args, cwd=ledger, exit_code=exit_code)
    assert says in error
    assert count(ledger, "select count(*) from audit_events") == 0


def test_closing_twice_is_refused(ledger: Path) -> None:
    ok("close", "--month", "2026-10", cwd=ledger)
    assert "it is already closed" in refused("close", "--month", "2026-10", cwd=ledger)


def test_undoing_an_exclusion_keeps_its_history(ledger: Path) -> None:
    ok(
        "exclude", "--vendor", "classswift", "--from", "2026-10-10T03:00:00-07:00",
        "--to", "2026-10-10T04:00:00-07:00", "--reason", "district network", "--by", "ana",
        cwd=ledger,
    )  # fmt: skip
    assert swift(report_bytes(ledger, "2026-10"))["minutes"]["excluded"] == 60.0
    said = ok("exclude", "--undo", "1", "--reason", "it was the vendor", "--by", "bo", cwd=ledger)
    assert said.startswith("undid exclusion 1 of classswift (district network)")
    after = swift(report_bytes(ledger, "2026-10"))
    assert (after["minutes"]["excluded"], after["exclusions"]) == (0.0, [])
    listing = ok("exclude", "--list", cwd=ledger)
    assert "2026-10-10 03:00 PDT" in listing and "2026-10-10 10:00" in listing
    assert "undone by bo on " in listing and ": it was the vendor" in listing
    assert "already undone by bo" in refused(
        "exclude", "--undo", "1", "--reason", "again", cwd=ledger, exit_code=2
    )


ANNOUNCED_IN_YAML = """\
classswift:
  announced:
    - {start: "2026-10-10T02:00:00-07:00", end: "2026-10-10T06:00:00-07:00",
       announced_at: "2026-10-08T09:00:00-07:00", note: Emergency patch}
"""


def test_a_window_added_from_the_command_line_counts_as_the_yaml_one(
    ledger: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    said = ok(
        "maintenance", "add", "--vendor", "classswift", "--start", "2026-10-10T02:00:00-07:00",
        "--end", "2026-10-10T06:00:00-07:00", "--announced-at", "2026-10-08T09:00:00-07:00",
        "--note", "Emergency patch", "--by", "ana", cwd=ledger,
    )  # fmt: skip
    # Two days' notice is less than ClassSwift's five business days.
    assert said.startswith("recorded maintenance window 1 for classswift: 2026-10-10 02:00 to ")
    assert "emergency (by the contract's notice rule, 5 business days); by ana" in said
    from_cli = swift(report_bytes(ledger, "2026-10"))

    yaml = tmp_path_factory.mktemp("yaml")
    (yaml / "vendors.yaml").write_text((ledger / "vendors.yaml").read_text("utf-8"), "utf-8")
    (yaml / "maintenance_windows.yaml").write_text(ANNOUNCED_IN_YAML, "utf-8")
    ok("import-outages", ledger / "oct.csv", cwd=yaml)
    from_yaml = swift(report_bytes(yaml, "2026-10"))
    assert from_cli == from_yaml
    assert from_cli["minutes"]["emergency"] == 150.0
    assert "maintenance window added" in ok("audit", cwd=ledger)
    # The calendar listing shows it with the file's windows.
    listing = ok(
        "maintenance", "--vendor", "classswift", "--from", "2026-10-01", "--to", "2026-10-31",
        cwd=ledger,
    )  # fmt: skip
    assert "emergency" in listing and "Emergency patch" in listing
    # The kind said is the window's own: the same span announced a month ahead is scheduled.
    said = ok(
        "maintenance", "add", "--vendor", "classswift", "--start", "2026-10-10T02:00:00-07:00",
        "--end", "2026-10-10T06:00:00-07:00", "--announced-at", "2026-09-01T09:00:00-07:00",
        cwd=ledger,
    )  # fmt: skip
    assert ": scheduled (by the contract's notice rule" in said


def test_an_exclusion_across_the_fall_back_night_counts_elapsed_time(ledger: Path) -> None:
    # 1 November 2026: Los Angeles goes from 01:59 PDT back to 01:00 PST. 00:30 PDT to
    # 02:30 PST is three hours of real time, although the wall clock moved two.
    ok(
        "import-outages",
        write_csv(ledger / "nov.csv", everywhere("2026-11-01T07:00:00Z", "2026-11-01T11:00:00Z")),
        cwd=ledger,
    )
    ok(
        "exclude", "--vendor", "classswift", "--from", "2026-11-01T00:30:00-07:00",
        "--to", "2026-11-01T02:30:00-08:00", "--reason", "district network", cwd=ledger,
    )  # fmt: skip
    november = swift(report_bytes(ledger, "2026-11"))
    assert (november["minutes"]["excluded"], november["minutes"]["downtime"]) == (180.0, 60.0)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2026-10-31T23:00:00-07:00", "2026-11-01T00:00:00-07:00", ["2026-10"]),
        ("2026-10-31T23:00:00-07:00", "2026-11-01T00:00:01-07:00", ["2026-10", "2026-11"]),
        ("2026-12-31T23:00:00-08:00", "2027-01-01T01:00:00-08:00", ["2026-12", "2027-01"]),
        ("2024-02-29T00:00:00-08:00", "2024-03-01T00:00:00-08:00", ["2024-02"]),
        ("2026-11-01T08:00:00+00:00", "2026-11-01T09:00:00+00:00", ["2026-11"]),
    ],
    ids=["ends-at-midnight", "a-second-past", "new-year", "leap-day", "utc-input"],
)
def test_months_touched_are_taken_on_the_vendor_clock(
    start: str, end: str, months: list[str]
) -> None:
    span = Interval(datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert months_touched(span, LOS_ANGELES) == months


def test_a_database_from_before_closes_existed_still_starts(ledger: Path) -> None:
    # As a database written by the previous version: no audit trail yet. The commands that
    # check closed months must not refuse it (its writer is what upgrades it).
    with sqlite3.connect(ledger / "uptime.db") as conn:
        conn.execute("drop table audit_events")
        conn.execute("drop table closed_reports")
        conn.execute("delete from _sqlite_migrations where name = 'm007_audit_trail'")
    assert "OK:" in ok("check-config", cwd=ledger)
    assert "older uptime-ledger schema" in refused("report", "--month", "2026-10", cwd=ledger)
    ok("import-outages", ledger / "oct.csv", cwd=ledger)  # a writer: brings it up to date
    assert swift(report_bytes(ledger, "2026-10"))["minutes"]["downtime"] == 150.0


def test_a_damaged_or_missing_frozen_report_is_never_printed_as_the_closed_figures(
    ledger: Path,
) -> None:
    ok("close", "--month", "2026-10", cwd=ledger)
    with sqlite3.connect(ledger / "uptime.db") as conn:
        conn.execute("drop trigger closed_reports_no_update")
        conn.execute("update closed_reports set report = replace(report, '150.0', '15.0')")
    error = refused("report", "--month", "2026-10", cwd=ledger)
    assert "the audit trail is broken: the frozen report of 2026-10 was changed" in error
    # Whatever reads it directly (the web, claims) refuses it too.
    from uptime.store.finance import FrozenReportDamaged, closed_report

    db = open_read_only(ledger / "uptime.db")
    try:
        with pytest.raises(FrozenReportDamaged, match="does not match the SHA-256"):
            closed_report(db, read_records(db).closes["2026-10"])
    finally:
        db.close()
    with sqlite3.connect(ledger / "uptime.db") as conn:
        conn.execute("drop trigger closed_reports_no_delete")
        conn.execute("delete from closed_reports")
    assert "the frozen report of 2026-10 (event 1) is missing" in refused(
        "audit", "--verify", cwd=ledger
    )
    assert "(event 1) is missing" in refused("report", "--month", "2026-10", cwd=ledger)
    # and nothing more is recorded into a broken trail
    error = refused(
        "exclude", "--vendor", "classswift", "--from", "2026-11-03T09:00:00-08:00",
        "--to", "2026-11-03T10:00:00-08:00", "--reason", "x", cwd=ledger,
    )  # fmt: skip
    assert "the audit trail is broken" in error


def test_a_close_refuses_when_something_was_recorded_while_it_computed(ledger: Path) -> None:
    from uptime.store.finance import InputsMoved, inputs_version, record_close
    from uptime.store.storage import open_writable

    db = open_writable(ledger / "uptime.db")
    try:
        version = inputs_version(db)
        # An exclusion recorded by someone else while the month was being computed ...
        ok(
            "exclude", "--vendor", "classswift", "--from", "2026-10-10T03:00:00-07:00",
            "--to", "2026-10-10T04:00:00-07:00", "--reason", "district network", cwd=ledger,
        )  # fmt: skip
        with pytest.raises(InputsMoved, match="changed while it was being closed"):
            record_close(db, "2026-10", b"{}", "0" * 64, {}, "ana", datetime.now(UTC), version)
    finally:
        db.close()
    assert count(ledger, "select count(*) from closed_reports") == 0
    assert "closed 2026-10" in ok("close", "--month", "2026-10", cwd=ledger)


def test_audit_of_a_month_shows_the_undoing_of_its_exclusions(ledger: Path) -> None:
    ok(
        "exclude", "--vendor", "classswift", "--from", "2026-10-10T03:00:00-07:00",
        "--to", "2026-10-10T04:00:00-07:00", "--reason", "district network", cwd=ledger,
    )  # fmt: skip
    ok("exclude", "--undo", "1", "--reason", "it was the vendor", cwd=ledger)
    october = ok("audit", "--month", "2026-10", cwd=ledger)
    assert "exclusion undone" in october and "it was the vendor" in october
    assert "the audit trail is empty" in ok("audit", "--month", "2026-11", cwd=ledger)
    assert "last hash " in ok("audit", "--verify", cwd=ledger)


@pytest.mark.parametrize(
    "args",
    [
        ("close", "--month", "2026-10"),
        ("exclude", "--list"),
        ("exclude", "--vendor", "classswift", "--from", "2026-10-10T03:00:00-07:00",
         "--to", "2026-10-10T04:00:00-07:00", "--reason", "x"),
    ],
    ids=["close", "exclude-list", "exclude"],
)  # fmt: skip
def test_a_mistyped_database_is_not_started_as_a_new_ledger(
    ledger: Path, args: tuple[str, ...]
) -> None:
    error = refused("--db", "typo.db", *args, cwd=ledger, exit_code=2)
    assert "typo.db: no such database" in error
    assert not (ledger / "typo.db").exists()
