"""``uptime-ledger`` end to end: the real entry point in a child process, real files, real SQLite.

The numbers asserted here are worked by hand in the comments (and in docs/contract-rules.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest
from support_cli import line_of, uptime_ledger

from uptime.cli import build_parser
from uptime.config import load_config

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ROOT / "vendors.yaml"
MAINTENANCE = ROOT / "maintenance_windows.yaml"
SEED_VENDORS = ["classswift", "classcollaborate", "schoolstatus", "itopia", "clevr"]
CLASSSWIFT_AREAS = ["ClassSwift Hub", "Classroom app"]
ALL_REGIONS = ["atlanta", "california", "chicago"]


def shipped(*args: str | Path) -> list[str | Path]:
    """Global options naming the repository's vendors.yaml and maintenance_windows.yaml."""
    return ["--vendors", VENDORS, "--maintenance", MAINTENANCE, *args]


def write_csv(path: Path, rows: Sequence[str]) -> Path:
    path.write_text("vendor,region,start,end,note\n" + "".join(r + "\n" for r in rows))
    return path


def everywhere(start: str, end: str, note: str) -> list[str]:
    """One outage of ClassSwift seen by all three regions."""
    return [f"classswift,{region},{start},{end},{note}" for region in ALL_REGIONS]


def outage_rows(db: Path) -> list[tuple[str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            'select vendor, region, start, "end", note from outages order by start, region'
        ).fetchall()


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------
# --help


COMMANDS = sorted(
    next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_exits_0_with_an_example(command: str | None, tmp_path: Path) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    done = uptime_ledger(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "example" in done.stdout.lower()
    assert "uptime-ledger" in done.stdout


# --------------------------------------------------------------------------------------------
# check-config


def test_check_config_on_the_shipped_files_prints_every_vendor(tmp_path: Path) -> None:
    done = uptime_ledger(*shipped("check-config"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = load_config(VENDORS, MAINTENANCE)
    assert [v.id for v in config.vendors] == SEED_VENDORS
    for vendor in config.vendors:
        assert f"Vendor {vendor.id}: {vendor.name}\n" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("OK: ")


def test_output_to_a_reader_that_went_away_is_no_traceback(tmp_path: Path) -> None:
    # ``uptime-ledger check-config | head -1``: the pipe is closed before the output is written.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "uptime.cli", *map(str, shipped("check-config"))],
            cwd=tmp_path,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("token", "mode", "exit_code", "says"),
    [
        (None, None, 2, "atlanta.token: cannot read the token file (No such file"),
        ("short", 0o600, 2, "expected one token of at least 16 characters"),
        ("a" * 64, 0o644, 0, "warning: "),
        ("a" * 64, 0o600, 0, ""),
    ],
    ids=["missing", "too-short", "readable-by-others", "fine"],
)
def test_check_config_checks_the_token_files(
    tmp_path: Path, token: str | None, mode: int | None, exit_code: int, says: str
) -> None:
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        VENDORS.read_text().replace(
            'atlanta: {name: "Atlanta, GA"}',
            'atlanta: {name: "Atlanta, GA", token_file: atlanta.token}',
        )
    )
    assert "atlanta.token" in vendors.read_text()
    if token is not None and mode is not None:
        (tmp_path / "atlanta.token").write_text(token)
        (tmp_path / "atlanta.token").chmod(mode)
    done = uptime_ledger("--vendors", vendors, "--maintenance", MAINTENANCE, "check-config",
                         cwd=tmp_path)  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr
    if says.startswith("warning"):
        assert error_lines(done.stderr) == [
            f"uptime-ledger: warning: {vendors}:{line_of(vendors, 'atlanta.token')}: "
            "regions.atlanta.token_file: "
            f"{tmp_path / 'atlanta.token'} is readable by other users; restrict it: "
            f"chmod 600 {tmp_path / 'atlanta.token'}"
        ]
    elif says:
        assert says in done.stderr
    else:
        assert done.stderr == "" and "OK:" in done.stdout


def test_check_config_falls_back_to_the_embedded_defaults(tmp_path: Path) -> None:
    # No ./vendors.yaml here and no --vendors: the copy shipped inside the package is used.
    done = uptime_ledger("check-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^vendors: +\S*defaults[/\\]vendors\.yaml$", done.stdout, re.MULTILINE)
    for vendor_id in SEED_VENDORS:
        assert f"Vendor {vendor_id}: " in done.stdout


def test_bad_vendors_file_is_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    text = VENDORS.read_text(encoding="utf-8")
    assert text.count("      target_pct: 95\n") == 1
    bad = tmp_path / "vendors.yaml"
    bad.write_text(text.replace("      target_pct: 95\n", "      target_pct: abc\n"))
    line = text[: text.index("      target_pct: 95\n")].count("\n") + 1

    done = uptime_ledger(
        "--vendors", bad, "--maintenance", MAINTENANCE, "check-config", cwd=tmp_path
    )
    assert done.returncode != 0
    assert done.stdout == ""
    [message] = error_lines(done.stderr)
    assert f"{bad}:{line}: vendors.classswift.sla.target_pct: got 'abc'" in message
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------------------------
# maintenance


def test_maintenance_lists_class_collaborate_us_windows_across_dst(tmp_path: Path) -> None:
    done = uptime_ledger(
        *shipped("maintenance", "--vendor", "classcollaborate"),
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    stamp = r"(\d{4}-\d\d-\d\d \d\d:\d\d)"
    rows = re.findall(
        rf"^(\w+) +(.+?) +{stamp} (\w+) +{stamp} (\w+) +{stamp} +{stamp} +(\S+)$",
        done.stdout,
        re.MULTILINE,
    )
    # Thursdays 02:00-06:00 New York time: EST (UTC-5) before the 9 March change, EDT after.
    assert rows == [
        ("scheduled", "US and Canada", "2025-03-06 02:00", "EST", "2025-03-06 06:00", "EST",
         "2025-03-06 07:00", "2025-03-06 11:00", "240"),
        ("scheduled", "US and Canada", "2025-03-13 02:00", "EDT", "2025-03-13 06:00", "EDT",
         "2025-03-13 06:00", "2025-03-13 10:00", "240"),
        ("scheduled", "US and Canada", "2025-03-20 02:00", "EDT", "2025-03-20 06:00", "EDT",
         "2025-03-20 06:00", "2025-03-20 10:00", "240"),
        ("scheduled", "US and Canada", "2025-03-27 02:00", "EDT", "2025-03-27 06:00", "EDT",
         "2025-03-27 06:00", "2025-03-27 10:00", "240"),
    ]  # fmt: skip


def test_maintenance_unknown_vendor_is_one_line(tmp_path: Path) -> None:
    done = uptime_ledger(
        *shipped("maintenance", "--vendor", "nosuch", "--from", "2025-03-01", "--to", "2025-03-31"),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    [message] = error_lines(done.stderr)
    assert "nosuch" in message and "classcollaborate" in message


# --------------------------------------------------------------------------------------------
# import-outages


def test_import_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    csv = write_csv(
        tmp_path / "history.csv",
        [
            *everywhere("2025-02-10T10:00:00Z", "2025-02-10T12:30:00Z", "Login down"),
            "classswift,chicago,2025-02-12T02:00:00-08:00,2025-02-12T03:00:00-08:00,",
        ],
    )
    first = uptime_ledger(*shipped("--db", db, "import-outages", csv), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4 rows read, 4 new, 0 already imported" in first.stdout
    stored = outage_rows(db)
    assert len(stored) == 4
    # Stored in UTC whatever offset the file used.
    assert stored[-1][:3] == ("classswift", "chicago", "2025-02-12T10:00:00.000000+00:00")

    again = uptime_ledger(*shipped("--db", db, "import-outages", csv), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "4 rows read, 0 new, 4 already imported" in again.stdout
    assert outage_rows(db) == stored


def test_import_with_bad_rows_names_every_line_and_imports_nothing(tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    good = write_csv(
        tmp_path / "good.csv",
        everywhere("2025-02-10T10:00:00Z", "2025-02-10T12:30:00Z", "good file"),
    )
    assert uptime_ledger(*shipped("--db", db, "import-outages", good), cwd=tmp_path).returncode == 0
    before = outage_rows(db)

    bad = write_csv(
        tmp_path / "bad.csv",
        [
            "classswift,chicago,2025-02-14T10:00:00Z,2025-02-14T11:00:00Z,bad file",  # line 2
            "nosuchvendor,chicago,2025-02-14T10:00:00Z,2025-02-14T11:00:00Z,bad file",  # line 3
            "classswift,atlanta,2025-02-14T10:00:00Z,2025-02-14T11:00:00Z,bad file",  # line 4
            "classswift,california,2025-02-14T10:00:00,2025-02-14T11:00:00Z,bad file",  # line 5
            "classswift,chicago,0001-01-01T00:00:00+05:00,2025-02-14T11:00:00Z,bad file",  # 6
            "classswift,chicago,2025-02-14T10:00:00Z,9999-12-31T23:00:00-05:00,bad file",  # 7
        ],
    )
    done = uptime_ledger(*shipped("--db", db, "import-outages", bad), cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = error_lines(done.stderr)
    assert any(f"{bad}:3:" in line and "nosuchvendor" in line for line in lines), lines
    assert any(f"{bad}:5:" in line and "offset" in line for line in lines), lines
    for line_number, column in ((6, "start"), (7, "end")):
        assert any(
            f"{bad}:{line_number}: {column}:" in line and "is out of range" in line
            for line in lines
        ), lines
    assert not any(f"{bad}:2:" in line or f"{bad}:4:" in line for line in lines), lines
    assert outage_rows(db) == before
    assert not [row for row in outage_rows(db) if row[4] == "bad file"]


# --------------------------------------------------------------------------------------------
# report

# ClassSwift, February 2025, the contract example (docs/contract-rules.md) through the real CLI.
# T = 28 × 1,440 = 40,320 minutes.
#   M  240: an announced window 2025-02-05 06:00-10:00 UTC, announced 2025-01-15 (enough notice),
#           all three regions down throughout it (the down time observed inside counts).
#   E   60: an announced window 2025-02-14 06:00-07:00 UTC, announced 2025-02-13 00:00 UTC: less
#           than 5 business days' notice → emergency; all three regions down throughout it.
#   D 1900: all three regions down 2025-02-10 10:00-12:30 UTC (150) and
#           2025-02-20 00:00 UTC-2025-02-21 05:10 UTC (29 h 10 min = 1,750).
#   Chicago alone down 2025-02-12 10:00-11:00 UTC: below the `all` quorum, no interruption.
# A = (40,320 − 2,200) / 40,320 = 94.543651 %; 2,200 min = 36 full hours × (672 / 672) = 36.00.
FEBRUARY_WINDOWS = """\
classswift:
  announced:
    - {start: "2025-02-05T06:00:00Z", end: "2025-02-05T10:00:00Z",
       announced_at: "2025-01-15T17:00:00Z", note: Scheduled upgrade}
    - {start: "2025-02-14T06:00:00Z", end: "2025-02-14T07:00:00Z",
       announced_at: "2025-02-13T00:00:00Z", note: Emergency patch}
"""
HISTORY = [
    *everywhere("2025-02-05T06:00:00Z", "2025-02-05T10:00:00Z", "Upgrade"),
    *everywhere("2025-02-10T10:00:00Z", "2025-02-10T12:30:00Z", "Login down"),
    "classswift,chicago,2025-02-12T10:00:00Z,2025-02-12T11:00:00Z,Chicago only",
    *everywhere("2025-02-14T06:00:00Z", "2025-02-14T07:00:00Z", "Patch"),
    *everywhere("2025-02-20T00:00:00Z", "2025-02-21T05:10:00Z", "Long outage"),
    # March: 10 min 20 s, to see minutes printed to 2 decimals.
    *everywhere("2025-03-10T17:00:00Z", "2025-03-10T17:10:20Z", "Short"),
    # April: one region only.
    "classswift,atlanta,2025-04-08T15:00:00Z,2025-04-08T18:00:00Z,Atlanta only",
]

REPORT_KEYS = {"schema", "month", "generated_at", "vendors"}
VENDOR_KEYS = {
    "vendor", "name", "timezone", "period", "minutes", "maintenance", "availability_pct",
    "target_pct", "met", "credit", "interruptions",
    # added by issue 9 (DESIGN: fields may be added, none renamed or removed)
    "unmonitored_policy", "exclusions", "windows",
}  # fmt: skip
PERIOD_KEYS = {"start", "end"}
MINUTES_KEYS = {"total", "scheduled", "downtime", "emergency", "excluded", "unmonitored"}
CREDIT_KEYS = {
    "eligible", "reason", "hours", "amount", "currency",
    "kind", "percent_per_hour", "rounding", "scope", "monthly_fee", "hourly_fee", "band", "cap",
    "capped",
}  # fmt: skip
INTERRUPTION_KEYS = {
    "start", "end", "minutes", "scheduled", "emergency", "downtime", "areas", "regions",
    "claim_deadline", "unmonitored",
}  # fmt: skip


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the shipped vendors.yaml, the February windows and the imported history,
    read by the CLI as ./vendors.yaml, ./maintenance_windows.yaml and ./uptime.db."""
    here = tmp_path_factory.mktemp("ledger")
    (here / "vendors.yaml").write_text(VENDORS.read_text(encoding="utf-8"), encoding="utf-8")
    (here / "maintenance_windows.yaml").write_text(FEBRUARY_WINDOWS, encoding="utf-8")
    csv = write_csv(here / "history.csv", HISTORY)
    done = uptime_ledger("import-outages", csv, cwd=here)
    assert done.returncode == 0, done.stderr
    return here


def report(ledger: Path, month: str, tmp_path: Path) -> dict:
    out = tmp_path / "reports" / f"{month}.json"
    done = uptime_ledger("report", "--month", month, "--format", "json", "--out", out, cwd=ledger)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    return json.loads(out.read_text(encoding="utf-8"))


def check_shape(document: dict) -> None:
    """The DESIGN.md shape: exact key sets at every level and the types of every value."""
    assert set(document) == REPORT_KEYS
    assert document["schema"] == "uptime-ledger.report/1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", document["generated_at"])
    for vendor in document["vendors"]:
        assert set(vendor) == VENDOR_KEYS
        assert set(vendor["period"]) == PERIOD_KEYS
        assert set(vendor["minutes"]) == MINUTES_KEYS
        assert set(vendor["credit"]) == CREDIT_KEYS
        assert type(vendor["minutes"]["total"]) is int
        numbers = [v for k, v in vendor["minutes"].items() if k != "total"]
        for part in vendor["interruptions"]:
            assert set(part) == INTERRUPTION_KEYS
            numbers += [part[k] for k in ("minutes", "scheduled", "emergency", "downtime")]
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", part["claim_deadline"])
        for number in numbers:
            assert type(number) is float and round(number, 2) == number
        assert type(vendor["availability_pct"]) is float
        assert round(vendor["availability_pct"], 6) == vendor["availability_pct"]
        assert type(vendor["met"]) is bool
        amount = vendor["credit"]["amount"]
        assert isinstance(amount, str) and re.fullmatch(r"\d+\.\d\d", amount)


def interruption(
    start: str,
    end: str,
    minutes: float,
    deadline: str,
    *,
    scheduled: float = 0.0,
    emergency: float = 0.0,
    areas: list[str] = CLASSSWIFT_AREAS,
    regions: list[str] = ALL_REGIONS,
) -> dict:
    return {
        "start": start,
        "end": end,
        "minutes": minutes,
        "scheduled": scheduled,
        "emergency": emergency,
        "downtime": minutes - scheduled - emergency,
        "areas": areas,
        "regions": regions,
        "claim_deadline": deadline,
        "unmonitored": 0.0,
    }


def test_report_february_2025_classswift(ledger: Path, tmp_path: Path) -> None:
    document = report(ledger, "2025-02", tmp_path)
    check_shape(document)
    assert document["month"] == "2025-02"
    assert [v["vendor"] for v in document["vendors"]] == SEED_VENDORS
    swift = document["vendors"][0]
    assert {k: swift[k] for k in ("vendor", "name", "timezone", "period", "maintenance")} == {
        "vendor": "classswift",
        "name": "ClassSwift",
        "timezone": "America/Los_Angeles",
        "period": {"start": "2025-02-01T00:00:00-08:00", "end": "2025-03-01T00:00:00-08:00"},
        "maintenance": "counts",
    }
    assert swift["minutes"] == {
        "total": 40320,
        "scheduled": 240.0,
        "downtime": 1900.0,
        "emergency": 60.0,
        "excluded": 0.0,
        "unmonitored": 0.0,
    }
    assert swift["availability_pct"] == 94.543651
    assert (swift["target_pct"], swift["met"]) == (95.0, False)
    assert swift["credit"] == {
        "eligible": True,
        "reason": None,
        "hours": 36,
        "amount": "36.00",
        "currency": "USD",
        # how it was computed: 36 full hours × 672.00 / (28 × 24) per hour
        "kind": "full_hours",
        "percent_per_hour": 100,
        "rounding": "month",
        "scope": "all",
        "monthly_fee": "672.00",
        "hourly_fee": "1.00",
        "band": None,
        "cap": None,
        "capped": False,
    }
    # Claim deadlines: 5 US business days from the day after the end, on the Los Angeles clock;
    # Presidents' Day (Monday 17 February 2025) is not a business day.
    assert swift["interruptions"] == [
        # Ended Wed 5 Feb 02:00 PST: Thu 6, Fri 7, Mon 10, Tue 11, Wed 12.
        interruption(
            "2025-02-04T22:00:00-08:00", "2025-02-05T02:00:00-08:00", 240.0, "2025-02-12",
            scheduled=240.0,
        ),
        # Ended Mon 10 Feb 04:30 PST: Tue 11, Wed 12, Thu 13, Fri 14, (Mon 17), Tue 18.
        interruption("2025-02-10T02:00:00-08:00", "2025-02-10T04:30:00-08:00", 150.0, "2025-02-18"),
        # Ended 07:00 UTC Fri 14 Feb = Thu 13 Feb 23:00 PST: Fri 14, (Mon 17), Tue 18 ... Fri 21.
        interruption(
            "2025-02-13T22:00:00-08:00", "2025-02-13T23:00:00-08:00", 60.0, "2025-02-21",
            emergency=60.0,
        ),
        # Ended Thu 20 Feb 21:10 PST: Fri 21, Mon 24, Tue 25, Wed 26, Thu 27.
        interruption(
            "2025-02-19T16:00:00-08:00", "2025-02-20T21:10:00-08:00", 1750.0, "2025-02-27",
        ),
    ]  # fmt: skip

    # Vendors with no outage and no credit rule.
    collaborate = document["vendors"][1]
    assert collaborate["maintenance"] == "excluded"
    assert (collaborate["availability_pct"], collaborate["met"]) == (100.0, True)
    assert collaborate["interruptions"] == []
    assert collaborate["credit"] == {
        "eligible": True,
        "reason": "the contract defines no service credit",
        "hours": None,
        "amount": "0.00",
        "currency": None,
        "kind": "none",
        "percent_per_hour": None,
        "rounding": None,
        "scope": None,
        "monthly_fee": None,
        "hourly_fee": None,
        "band": None,
        "cap": None,
        "capped": False,
    }


def test_report_minutes_to_the_second_printed_to_2_decimals(ledger: Path, tmp_path: Path) -> None:
    document = report(ledger, "2025-03", tmp_path)
    check_shape(document)
    swift = document["vendors"][0]
    # 10 min 20 s = 10.3333 min → 10.33. March has 31 days even though Los Angeles loses an hour
    # on 9 March: T = 44,640; A = (44,640 − 31/3) / 44,640 = 99.976852 %.
    assert swift["period"] == {
        "start": "2025-03-01T00:00:00-08:00",
        "end": "2025-04-01T00:00:00-07:00",
    }
    assert swift["minutes"]["total"] == 44640
    assert swift["minutes"]["downtime"] == 10.33
    assert swift["availability_pct"] == 99.976852
    assert swift["credit"]["hours"] == 0
    assert swift["credit"]["reason"] == "availability target met"
    assert [p["minutes"] for p in swift["interruptions"]] == [10.33]


def test_report_one_region_down_is_no_interruption(ledger: Path, tmp_path: Path) -> None:
    document = report(ledger, "2025-04", tmp_path)
    check_shape(document)
    swift = document["vendors"][0]
    assert swift["interruptions"] == []
    assert swift["minutes"]["downtime"] == 0.0
    assert swift["availability_pct"] == 100.0


def test_report_to_stdout(ledger: Path) -> None:
    done = uptime_ledger("report", "--month", "2025-02", cwd=ledger)
    assert done.returncode == 0, done.stderr
    check_shape(json.loads(done.stdout))


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_report_file_mode_follows_the_umask(
    umask: int, mode: int, ledger: Path, tmp_path: Path
) -> None:
    # A report is handed to finance: it must be as readable as any file the user writes, not
    # left owner-only by the temporary file it was renamed from.
    out = tmp_path / f"{umask:o}.json"
    done = uptime_ledger(
        "report", "--month", "2025-02", "--out", out, cwd=ledger, preexec_fn=lambda: os.umask(umask)
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert _leftovers(tmp_path) == [out.name]


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_bad_month_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    done = uptime_ledger(
        *shipped("report", "--month", "2025-13", "--out", reports / "2025-13.json"), cwd=tmp_path
    )
    assert done.returncode == 2
    assert "'2025-13' is not a month; expected YYYY-MM" in done.stderr
    assert _leftovers(reports) == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--month", "\uff12\uff10\uff12\uff15-02", "is not a month; expected YYYY-MM"),
        ("--jobs", "\u00b2", "is not a count; expected 1 or more"),
        ("--jobs", "\u0663", "is not a count; expected 1 or more"),
    ],
    ids=["fullwidth-year", "superscript-two", "arabic-indic-three"],
)
def test_numbers_on_the_command_line_are_ascii_digits(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    month = [] if option == "--month" else ["--month", "2025-02"]
    done = uptime_ledger(*shipped("report", *month, option, value), cwd=tmp_path)
    assert done.returncode == 2
    assert f"argument {option}: {value!r} {message}" in done.stderr


def test_failed_report_leaves_the_previous_file_alone(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "2025-02.json"
    out.write_text("previous report\n")
    bad_vendors = tmp_path / "broken.yaml"
    bad_vendors.write_text("regions: {chicago: {name: Chicago}}\nvendors: [\n")
    done = uptime_ledger(
        "--vendors", bad_vendors, "--maintenance", MAINTENANCE,
        "report", "--month", "2025-02", "--out", out,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    [message] = error_lines(done.stderr)
    assert message.startswith(f"uptime-ledger: error: {bad_vendors}:")
    assert out.read_text() == "previous report\n"
    assert _leftovers(reports) == ["2025-02.json"]


def test_report_that_cannot_be_written_leaves_no_partial_file(ledger: Path, tmp_path: Path) -> None:
    # The failure happens at the last step (renaming the finished temporary file into place):
    # the temporary file must go, and the error must be one line like any other bad input.
    out = tmp_path / "2025-02.json"
    out.mkdir()
    done = uptime_ledger("report", "--month", "2025-02", "--out", out, cwd=ledger)
    assert done.returncode != 0
    assert _leftovers(tmp_path) == ["2025-02.json"]
    assert _leftovers(out) == []
    [message] = error_lines(done.stderr)
    assert message.startswith("uptime-ledger: error: ") and str(out) in message


def test_report_into_a_folder_that_cannot_be_made_is_one_line(ledger: Path, tmp_path: Path) -> None:
    # --out under a path whose "folder" is a file: creating the folder or the temporary file
    # fails before anything is written, and that is bad input like any other, not a traceback.
    blocker = tmp_path / "reports"
    blocker.write_text("a file, not a folder\n")
    out = blocker / "2025-02.json"
    done = uptime_ledger("report", "--month", "2025-02", "--out", out, cwd=ledger)
    assert done.returncode == 1, done.stderr
    [message] = error_lines(done.stderr)
    assert message.startswith(f"uptime-ledger: error: {out}: "), message
    assert "Traceback" not in done.stderr
    assert blocker.read_text() == "a file, not a folder\n"


def test_report_without_a_database_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.json"
    done = uptime_ledger(
        *shipped("--db", tmp_path / "missing.db", "report", "--month", "2025-02", "--out", out),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    [message] = error_lines(done.stderr)
    assert "missing.db" in message and "no such database" in message
    assert not out.exists()
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--month", "2025-02"],
        ["import-outages", "outages.csv"],
        ["run", "--port", "0"],
    ],
    ids=["report", "import-outages", "run"],
)
@pytest.mark.parametrize("what", ["not-sqlite", "directory"])
def test_unusable_database_is_one_line_not_a_traceback(
    command: list[str], what: str, tmp_path: Path
) -> None:
    db = tmp_path / "uptime.db"
    if what == "directory":
        db.mkdir()
    else:
        db.write_text("these are notes, not a database\n")
    write_csv(
        tmp_path / "outages.csv", everywhere("2025-02-10T10:00:00Z", "2025-02-10T11:00:00Z", "")
    )
    done = uptime_ledger(*shipped("--db", db, *command), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert error_lines(done.stderr)[-1].startswith(
        f"uptime-ledger: error: {db}: cannot be used as the uptime-ledger database ("
    )


def test_unusable_agent_spool_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    spool.write_text("not a database\n")
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123\n")
    token.chmod(0o600)
    done = uptime_ledger(
        *shipped("agent", "--region", "chicago", "--collector", "http://127.0.0.1:9"),
        *("--token-file", token, "--spool", spool),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert error_lines(done.stderr) == [
        f"uptime-ledger: error: {spool}: cannot be used as the agent's spool "
        "(file is not a database)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "--month", "0000-01"],
            "'0000-01' is out of range; expected a month from 1970-01",
        ),
        (["report", "--month", "9999-12"], "to 9899-12"),
        (
            ["maintenance", "--vendor", "classswift", "--from", "9999-12-01", "--to", "9999-12-31"],
            "'9999-12-01' is out of range; expected a date from 1970-01-01 to 9899-12-31",
        ),
    ],
    ids=["month-0", "month-9999", "dates-9999"],
)
def test_dates_beyond_what_can_be_computed_are_refused(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = uptime_ledger(*shipped(*args), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert message in done.stderr


def test_outages_in_the_future_are_refused_and_far_past_months_report(tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    csv = write_csv(
        tmp_path / "late.csv",
        everywhere("1970-01-29T10:00:00Z", "1970-01-29T12:30:00Z", "long ago")
        + everywhere("2089-12-29T10:00:00Z", "2089-12-29T12:30:00Z", "far"),
    )
    files = ["--vendors", VENDORS, "--maintenance", MAINTENANCE, "--db", db]
    done = uptime_ledger(*files, "import-outages", csv, cwd=tmp_path)
    assert done.returncode == 1
    assert error_lines(done.stderr)[-1] == "uptime-ledger: nothing was imported"
    problems = error_lines(done.stderr)[:-1]
    assert [p.split(": end:")[0] for p in problems] == [
        f"uptime-ledger: error: {csv}:{line}" for line in (5, 6, 7)
    ]
    assert all("2089-12-29T12:30:00Z is in the future" in p for p in problems)
    write_csv(csv, everywhere("1970-01-29T10:00:00Z", "1970-01-29T12:30:00Z", "long ago"))
    assert uptime_ledger(*files, "import-outages", csv, cwd=tmp_path).returncode == 0
    done = uptime_ledger(*files, "report", "--month", "1970-01", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["vendors"][0]["minutes"]["downtime"] == 150.0


def test_import_of_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        b"vendor,region,start,end,note\n"
        b"classswift,chicago,2025-02-10T10:00:00Z,2025-02-10T12:30:00Z,ok\n"
        b"classswift,atlanta,2025-02-10T10:00:00Z,2025-02-10T12:30:00Z,caf\xe9\n"
    )
    done = uptime_ledger(*shipped("--db", db, "import-outages", latin1), cwd=tmp_path)
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        f"uptime-ledger: error: {latin1}:3: not UTF-8 text (invalid continuation byte); "
        "expected a UTF-8 CSV file",
        "uptime-ledger: nothing was imported",
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            "",
            ":1: the file is empty; expected a header row vendor,region,start,end[,note] "
            "and one row per outage",
        ),
        (
            "vendor,vendor,region,start,end\n",
            ":1: header: column(s) vendor given twice; expected vendor,region,start,end[,note]",
        ),
    ],
    ids=["empty", "column-twice"],
)
def test_import_of_a_bad_header_says_what_is_wrong(content: str, says: str, tmp_path: Path) -> None:
    db = tmp_path / "uptime.db"
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    done = uptime_ledger(*shipped("--db", db, "import-outages", bad), cwd=tmp_path)
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        f"uptime-ledger: error: {bad}{says}",
        "uptime-ledger: nothing was imported",
    ]


def test_run_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = uptime_ledger(
            *shipped("--db", tmp_path / "uptime.db", "run", "--port", port), cwd=tmp_path
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"uptime-ledger: error: cannot listen on 127.0.0.1:{port}: ")


def test_run_says_where_its_status_page_and_metrics_are(tmp_path: Path) -> None:
    # A newcomer moving from the demo to run is told where to look, as the demo tells them.
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptime.cli"]
        + [str(a) for a in shipped("--db", tmp_path / "uptime.db", "run", "--port", "0")],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    # Bounded: a run that never says it is listening is stopped after 30 s (readline then ends).
    stopper = threading.Timer(30, proc.send_signal, [signal.SIGTERM])
    stopper.start()
    try:
        while len(lines) < 20 and not any("status page" in x for x in lines):
            if not (line := proc.stderr.readline()):
                break
            lines.append(line)
        found = re.search(
            r"status page (http://127\.0\.0\.1:\d+/), metrics (\S+/metrics)", "".join(lines)
        )
        assert found, "".join(lines)
        with urllib.request.urlopen(found[1], timeout=10) as page:
            assert page.headers["Content-Type"].startswith("text/html")
        with urllib.request.urlopen(found[2], timeout=10) as metrics:
            assert b"uptime_ledger_vendor_state" in metrics.read()
        # A header longer than aiohttp reads: a 400, and no traceback in the log for it.
        huge = urllib.request.Request(found[1], headers={"X-Long": "x" * 10_000})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(huge, timeout=10)
        assert refused.value.code == 400
    finally:
        stopper.cancel()
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "Traceback" not in rest and "Error handling request" not in rest, rest
