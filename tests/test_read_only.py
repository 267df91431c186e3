"""A report only reads the database (issue 7, item 5): it opens it read-only (SQLite
``mode=ro``), never creates or migrates it, and so works on a read-only copy."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database
from support_cli import uptime_ledger

from uptime.store.migrations import migrations

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["--vendors", ROOT / "vendors.yaml", "--maintenance", ROOT / "maintenance_windows.yaml"]
HISTORY = "".join(
    f"classswift,{region},2025-02-10T10:00:00Z,2025-02-10T12:30:00Z,old tool\n"
    for region in ("atlanta", "california", "chicago")
)
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _without_root_file_access() -> None:
    # Root ignores file permissions: drop the two capabilities that let it, so a read-only file
    # is read-only for this child too (they leave the bounding set, and exec drops them).
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``uptime-ledger ARGS``, for whom file permissions hold even when the tests run as root."""
    return uptime_ledger(
        *args, cwd=cwd, preexec_fn=_without_root_file_access if os.geteuid() == 0 else None
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("uptime-ledger: error:")]


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[Path]:
    """A database with imported history, copied into a directory that, like the copy, cannot
    be written."""
    (tmp_path / "history.csv").write_text("vendor,region,start,end,note\n" + HISTORY)
    done = cli(*SHIPPED, "--db", "uptime.db", "import-outages", "history.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(tmp_path / "uptime.db", copy / "uptime.db")
    (copy / "uptime.db").chmod(0o444)
    copy.chmod(0o555)
    try:
        yield copy / "uptime.db"
    finally:
        copy.chmod(0o755)


def test_a_report_reads_a_read_only_copy(read_only_copy: Path, tmp_path: Path) -> None:
    before = read_only_copy.read_bytes(), read_only_copy.stat().st_mtime_ns
    done = cli(*SHIPPED, "--db", read_only_copy, "report", "--month", "2025-02", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (classswift,) = (v for v in json.loads(done.stdout)["vendors"] if v["vendor"] == "classswift")
    assert classswift["minutes"]["downtime"] == 150.0
    assert (read_only_copy.read_bytes(), read_only_copy.stat().st_mtime_ns) == before
    assert sorted(os.listdir(read_only_copy.parent)) == ["uptime.db"]
    assert not stat.S_IMODE(read_only_copy.stat().st_mode) & 0o222


def test_a_report_on_a_database_in_use_sees_its_latest_writes(tmp_path: Path) -> None:
    # The writer keeps its connection (and so the WAL) open while the report reads.
    (tmp_path / "history.csv").write_text("vendor,region,start,end,note\n" + HISTORY)
    done = cli(*SHIPPED, "--db", "uptime.db", "import-outages", "history.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    writer = sqlite3.connect(tmp_path / "uptime.db")
    try:
        writer.execute(
            "insert into outages values ('classswift', 'chicago', "
            "'2025-02-11T10:00:00.000000+00:00', '2025-02-11T10:30:00.000000+00:00', '', '')"
        )
        writer.commit()
        assert (tmp_path / "uptime.db-wal").stat().st_size > 0
        done = cli(*SHIPPED, "--db", "uptime.db", "report", "--month", "2025-02", cwd=tmp_path)
    finally:
        writer.close()
    assert done.returncode == 0, done.stderr
    (classswift,) = (v for v in json.loads(done.stdout)["vendors"] if v["vendor"] == "classswift")
    # One site alone is no interruption, but the region's row was read: nothing else changed.
    assert classswift["minutes"]["downtime"] == 150.0


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_application(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("create table notes (text)")


def _older_uptime_ledger(path: Path) -> None:
    db = Database(path)
    migrations.apply(db, stop_before="m005_certificate_expiry")
    db.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_empty, "has no uptime-ledger tables"),
        (_other_application, "has no uptime-ledger tables"),
        (_older_uptime_ledger, "older uptime-ledger schema (lacks m005_certificate_expiry, "),
    ],
    ids=["empty-file", "other-application", "older-schema"],
)
def test_a_report_never_migrates_a_database(make: object, says: str, tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    make(db)  # type: ignore[operator]
    before = db.read_bytes()
    done = cli(*SHIPPED, "--db", db, "report", "--month", "2025-02", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [message] = error_lines(done.stderr)
    assert message.startswith(f"uptime-ledger: error: {db}: ") and says in message, message
    assert "uptime-ledger run" in message  # what brings it up to date
    assert db.read_bytes() == before
    assert done.stdout == ""


def test_a_report_without_a_database_creates_none(tmp_path: Path) -> None:
    done = cli(*SHIPPED, "--db", "missing.db", "report", "--month", "2025-02", cwd=tmp_path)
    assert done.returncode == 2
    [message] = error_lines(done.stderr)
    assert "missing.db: no such database" in message
    assert not (tmp_path / "missing.db").exists()


def test_a_copy_with_commits_left_in_its_wal_is_refused_not_misread(tmp_path: Path) -> None:
    # Copied while the writer had it open: the last import is only in uptime.db-wal, and the
    # directory is read-only, so SQLite cannot open the log to read it. Reading the database
    # file alone would silently miss that import.
    (tmp_path / "history.csv").write_text("vendor,region,start,end,note\n" + HISTORY)
    done = cli(*SHIPPED, "--db", "uptime.db", "import-outages", "history.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    writer = sqlite3.connect(tmp_path / "uptime.db")
    copy = tmp_path / "copy"
    copy.mkdir()
    try:
        writer.execute("pragma wal_autocheckpoint = 0")
        writer.execute("delete from outages")
        writer.commit()
        for name in ("uptime.db", "uptime.db-wal"):
            shutil.copy(tmp_path / name, copy / name)
    finally:
        writer.close()
    assert (copy / "uptime.db-wal").stat().st_size > 0
    copy.chmod(0o555)
    try:
        done = cli(
            *SHIPPED, "--db", copy / "uptime.db", "report", "--month", "2025-02", cwd=tmp_path
        )
    finally:
        copy.chmod(0o755)
    assert done.returncode == 1, done.stdout
    [message] = error_lines(done.stderr)
    assert f"{copy / 'uptime.db'}: cannot be read here: uptime.db-wal holds commits" in message
