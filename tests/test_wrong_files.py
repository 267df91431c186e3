"""A file given on the command line that is not what the command expects: the report written
through a link or into a pipe, never replacing it; a spool given as the database and the
database given as a spool refused; a latency no probe can have refused on the wire."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from support_cli import line_of, uptime_ledger

from uptime.errors import UsageError
from uptime.probing.spool import Spool
from uptime.probing.wire import MAX_LATENCY, WireError, decode_batch

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("--vendors", ROOT / "vendors.yaml", "--maintenance", ROOT / "maintenance_windows.yaml")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    csv = tmp_path / "history.csv"
    csv.write_text(
        "vendor,region,start,end\n"
        + "".join(
            f"classswift,{r},2025-02-10T10:00:00Z,2025-02-10T11:00:00Z\n"
            for r in ("chicago", "california", "atlanta")
        )
    )
    done = uptime_ledger(*SHIPPED, "import-outages", csv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def report_to(ledger: Path, out: Path) -> None:
    done = uptime_ledger(*SHIPPED, "report", "--month", "2025-02", "--out", out, cwd=ledger)
    assert done.returncode == 0, done.stderr


def test_a_report_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(
    ledger: Path,
) -> None:
    target = ledger / "kept" / "february.json"
    target.parent.mkdir()
    target.write_text("old")
    link = ledger / "latest.json"
    link.symlink_to(target)
    report_to(ledger, link)
    assert link.is_symlink() and link.resolve() == target
    assert json.loads(target.read_text())["month"] == "2025-02"


def test_a_report_into_a_pipe_is_written_through_it(ledger: Path) -> None:
    fifo = ledger / "report.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    report_to(ledger, fifo)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert json.loads(got[0])["month"] == "2025-02"
    assert fifo.is_fifo()  # still the pipe, not a file put in its place


def test_the_database_is_not_taken_for_a_spool_nor_a_spool_for_the_database(
    ledger: Path,
) -> None:
    with pytest.raises(UsageError, match=r"is not an agent's spool: it holds the tables .*outages"):
        Spool(ledger / "uptime.db", "chicago")
    spool = ledger / "chicago.spool.db"
    Spool(spool, "chicago").close()
    before = spool.read_bytes()
    csv = ledger / "history.csv"
    done = uptime_ledger(*SHIPPED, "--db", spool, "import-outages", csv, cwd=ledger)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"uptime-ledger: error: {spool}: is a remote agent's spool, not the uptime-ledger "
        "database; give --db the database file (default ./uptime.db)"
    ]
    assert spool.read_bytes() == before


@pytest.mark.parametrize("latency", [MAX_LATENCY + 1, 1e308])
def test_a_latency_no_probe_can_have_is_refused(latency: float) -> None:
    result = {"vendor": "v", "monitor": "m", "at": "2026-01-01T00:00:00Z", "ok": True,
              "latency": latency}  # fmt: skip
    body = {"agent": "chicago-1", "region": "chicago", "first_seq": 1, "results": [result]}
    with pytest.raises(WireError, match=r"results\[0\]\.latency: expected a number of seconds"):
        decode_batch(body)
    result["latency"] = MAX_LATENCY
    assert decode_batch(body).results[0].latency == MAX_LATENCY


@pytest.mark.parametrize("kind", ["device", "pipe", "large"])
def test_a_token_file_that_is_no_file_of_one_token_is_refused_at_once(
    tmp_path: Path, kind: str
) -> None:
    """``/dev/zero`` as a token file took 4.9 GB in 6 s, a pipe hung for ever."""
    if kind == "device":
        token = Path("/dev/zero")
    elif kind == "pipe":
        token = tmp_path / "token.pipe"
        os.mkfifo(token)
    else:
        token = tmp_path / "big.token"
        token.write_text("a" * 5000)
    token_line = f', token_file: "{token}"'
    vendors = tmp_path / "vendors.yaml"
    shipped = (ROOT / "vendors.yaml").read_text(encoding="utf-8")
    vendors.write_text(
        shipped.replace(
            'atlanta: {name: "Atlanta, GA"', 'atlanta: {name: "Atlanta, GA"' + token_line
        )
    )
    assert token_line in vendors.read_text()
    done = uptime_ledger(
        "--vendors", vendors, "--maintenance", ROOT / "maintenance_windows.yaml", "check-config",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    why = {"device": "is not a regular file", "pipe": "is not a regular file",
           "large": "is larger than 4096 bytes"}[kind]  # fmt: skip
    assert done.stderr.splitlines() == [
        f"uptime-ledger: error: {vendors}:{line_of(vendors, token_line)}: "
        f"regions.atlanta.token_file: {token}: the token file {why}"
        + ("; it should hold one token" if kind == "large" else "")
    ]
