"""Claims: which vendor-months to file and by when, what became of them (marks in the audit
trail), and the claim packet a ClassSwift month below target produces (ClassSwift SLA §4.4).

The probe history is written through the real ingest path (``uptime.demo.history``:
``Storage.record_results``, as every agent batch) into a real SQLite file, and everything else
goes through the real ``uptime-ledger`` entry point in a child process. The months are placed
relative to today, since ``claims`` judges deadlines against the real date.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from reports.claims_list import recent_months
from tests.support_cli import uptime_ledger
from uptime.config import ConfigError, load_config
from uptime.demo.history import STEP, write_history
from uptime.demo.timeline import Timeline, once
from uptime.probing.jobs import stale_limits
from uptime.store.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
REGIONS = ("chicago", "california", "atlanta")
USERS = (("ms.rivera", "rivera@district.example"), ("mr.chen", "chen@district.example"))
#: ``sla.claim`` with a users file (``{file}``), as vendors.yaml writes it under ClassSwift.
WITH_FILE = "      claim:\n        send_to: a@b.example\n        affected_users_file: {file}\n"
CLAIM_BLOCK = """      claim:
        send_to: ClassSwift.Support@ViewSonic.com
        affected_users_file: users.csv
"""
ANCHOR = "      claim_within: 5 business days\n"


def vendors_yaml(**replacements: str) -> str:
    """The shipped vendors.yaml with ClassSwift's ``sla.claim`` added (and ``old: new``
    replacements in ClassSwift's entry)."""
    text = (ROOT / "vendors.yaml").read_text("utf-8")
    head, tail = text.split(ANCHOR, 1)
    for old, new in replacements.items():
        assert head.count(old) >= 1, old
        head = head.replace(old, new)
    return head + ANCHOR + CLAIM_BLOCK + tail


def label(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


class Scene:
    """The district folder and what was scripted into its history."""

    def __init__(self, here: Path, now: datetime) -> None:
        self.here = here
        self.now = now
        months = recent_months(now, LOS_ANGELES)
        # Two months back: a 40-hour outage of the classroom app seen from every site, early
        # in the month (its ticket deadlines long passed): 2,400 of a month's minutes, below
        # ClassSwift's 95 %.
        self.old_month = months[0]
        year, month = int(self.old_month[:4]), int(self.old_month[5:])
        self.old = Interval(
            datetime(year, month, 3, 10, 0, tzinfo=LOS_ANGELES),
            datetime(year, month, 3, 10, 0, tzinfo=LOS_ANGELES) + timedelta(hours=40),
        )
        self.days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
        # About a day ago: an hour, its ticket deadline still open (no credit yet).
        end = datetime.fromtimestamp((now - timedelta(hours=25)).timestamp() // 1800 * 1800, UTC)
        self.recent = Interval(end - timedelta(hours=1), end)
        self.recent_month = f"{self.recent.start.astimezone(LOS_ANGELES):%Y-%m}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    here = tmp_path_factory.mktemp("claims")
    (here / "vendors.yaml").write_text(vendors_yaml(), "utf-8")
    (here / "maintenance_windows.yaml").write_text("{}\n", encoding="utf-8")
    (here / "users.csv").write_text(
        "username,email\n" + "".join(f"{u},{e}\n" for u, e in USERS), encoding="utf-8"
    )
    for name, change in {
        "ineligible.yaml": {"eligible: true": "eligible: false"},
        "default.yaml": {"invoices_in_default: false": "invoices_in_default: true"},
    }.items():
        (here / name).write_text(vendors_yaml(**change), "utf-8")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    scene = Scene(here, now)
    config = load_config(here / "vendors.yaml", here / "maintenance_windows.yaml")
    swift = replace(config, vendors=(config.vendor("classswift"),))
    timeline = Timeline(
        {("classswift", "app"): [once("down", scene.old), once("down", scene.recent)]}
    )
    assert write_history(here / "uptime.db", swift, timeline, now, timedelta(days=95)) > 0
    return scene


def ok(*args: str | Path, cwd: Path) -> str:
    done = uptime_ledger(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def refused(*args: str | Path, cwd: Path, exit_code: int = 1) -> str:
    done = uptime_ledger(*args, cwd=cwd)
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


def copy_of(scene: Scene, tmp_path: Path) -> Path:
    """The district folder copied, for a test that records marks."""
    here = tmp_path / "district"
    shutil.copytree(scene.here, here)
    return here


def engine_credit(here: Path, month: str) -> dict:
    out = here / f"report-{month}.json"
    ok("report", "--month", month, "--vendor", "classswift", "--out", out, cwd=here)
    return json.loads(out.read_bytes())["vendors"][0]


# --------------------------------------------------------------------------------------------
# The packet


def test_packet_of_a_classswift_month_below_target_has_every_section_4_4_field(
    scene: Scene, tmp_path: Path
) -> None:
    out = tmp_path / "packets"
    said = ok(
        "claims", "packet", "--vendor", "classswift", "--month", scene.old_month,
        "--out", out, cwd=scene.here,
    )  # fmt: skip
    text_path = out / f"classswift-{scene.old_month}-claim.txt"
    html_path = out / f"classswift-{scene.old_month}-claim.html"
    assert sorted(p.name for p in out.iterdir()) == sorted([text_path.name, html_path.name])
    assert f"wrote {text_path} and {html_path}" in said
    report = engine_credit(scene.here, scene.old_month)
    assert report["met"] is False
    amount = f"{report['credit']['amount']} USD"
    text = text_path.read_text("utf-8")
    html = html_path.read_text("utf-8")
    start, end = scene.old.start.astimezone(LOS_ANGELES), scene.old.end.astimezone(LOS_ANGELES)
    for document in (text, html):
        # To whom, and the credit the engine computed.
        assert "ClassSwift.Support@ViewSonic.com" in document
        assert amount in document and amount != "0.00 USD"
        # §4.4: the functional areas affected ...
        assert "Classroom app" in document
        assert "ClassSwift Hub" not in document.split("Coverage")[0]
        # ... the date and time of the downtime, on the vendor's clock and in UTC ...
        assert f"{start:%Y-%m-%d %H:%M:%S %Z} to {end:%Y-%m-%d %H:%M:%S %Z}" in document
        assert (
            f"{scene.old.start:%Y-%m-%d %H:%M:%S} UTC to {scene.old.end:%Y-%m-%d %H:%M:%S} UTC"
            in document
        )
        # ... the usernames and e-mail addresses affected ...
        for username, email in USERS:
            assert username in document and email in document
        # ... an estimate of the actual downtime in minutes, and each ticket deadline.
        assert "2,400.00 minutes" in document
        assert "Ticket deadline" in document or "ticket deadline" in document
        assert "passed" in document.lower()
        # The evidence appendix: each region's failures around it ...
        first, last = scene.old.start, scene.old.end - STEP
        for region in REGIONS:
            assert region in document
        assert document.count("80</span> failed of" if document is html else "80 failed of") == 3
        assert f"{first:%Y-%m-%d %H:%M:%S} UTC" in document
        assert f"{last:%Y-%m-%d %H:%M:%S} UTC" in document
        assert "status: HTTP 503 (80)" in document
        # ... each region's coverage of the month (every minute seen) ...
        whole = f"{scene.days * 1440:,}.00"
        between = '<br><span class="muted">of ' if document is html else " of "
        seen = f"{whole}{between}{whole}"
        assert document.count(seen) == 6  # 2 monitors × 3 regions
        # ... and the rules applied, the credit's arithmetic with the month's numbers.
        for rule in ("quorum", "maintenance", "announced windows", "unmonitored", "credit"):
            assert rule in document
        assert "all: down only when every site" in document
        assert "40 full hours × 100 % × hourly fee" in document
        assert f"/ {scene.days * 24} hours in the month" in document
        assert f"= {amount}" in document
    assert html.startswith("<!doctype html>") and '<meta name="viewport"' in html
    assert "@media print" in html


def test_packet_html_is_autoescaped(scene: Scene, tmp_path: Path) -> None:
    here = copy_of(scene, tmp_path)
    (here / "users.csv").write_text(
        "username,email\n<b>x</b>,x@district.example\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    ok("claims", "packet", "--vendor", "classswift", "--month", scene.old_month, "--out", out,
       cwd=here)  # fmt: skip
    html = (out / f"classswift-{scene.old_month}-claim.html").read_text("utf-8")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<b>x</b>" in (out / f"classswift-{scene.old_month}-claim.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("vendors", "vendor", "month", "says"),
    [
        pytest.param(
            "ineligible.yaml", "classswift", "old", "plan not eligible for service credits",
            id="ineligible-plan",
        ),
        pytest.param(
            "default.yaml", "classswift", "old", "invoices in default: no credit can be claimed",
            id="invoices-in-default",
        ),
        pytest.param(
            "vendors.yaml", "schoolstatus", "old", "the contract defines no service credit",
            id="contract-without-credit",
        ),
        pytest.param(
            "vendors.yaml", "classswift", "recent", "availability target met", id="no-credit"
        ),
    ],
)  # fmt: skip
def test_no_packet_says_why_and_writes_nothing(
    scene: Scene, tmp_path: Path, vendors: str, vendor: str, month: str, says: str
) -> None:
    out = tmp_path / "packets"
    which = scene.old_month if month == "old" else scene.recent_month
    error = refused(
        "--vendors", vendors, "claims", "packet", "--vendor", vendor, "--month", which,
        "--out", out, cwd=scene.here,
    )  # fmt: skip
    assert error == (
        f"uptime-ledger: error: no claim packet for {vendor} {which}: {says}; nothing was written\n"
    )
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# The list and the marks


def claim_rows(stdout: str) -> list[list[str]]:
    """The claims table's rows after the header, split on runs of 2+ spaces."""
    import re

    lines = stdout.splitlines()
    assert lines[0].split() == ["vendor", "month", "amount", "deadline", "status", "recorded"]
    return [re.split(r"\s{2,}", line) for line in lines[1:]]


def test_claims_list_statuses_and_marks_through_the_cli(scene: Scene, tmp_path: Path) -> None:
    here = copy_of(scene, tmp_path)
    old_credit = engine_credit(here, scene.old_month)["credit"]["amount"]
    rows = claim_rows(ok("claims", cwd=here))
    # Nearest deadline first: the old month's (passed) before the recent one's (open).
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("classswift", scene.old_month, "overdue"),
        ("classswift", scene.recent_month, "due"),
    ]
    assert rows[0][2] == f"{old_credit} USD" and rows[1][2] == "0.00 USD"
    deadline = date.fromisoformat(rows[1][3].split()[1])
    assert scene.recent.end.astimezone(LOS_ANGELES).date() < deadline
    assert deadline > datetime.now(LOS_ANGELES).date() - timedelta(days=1)

    steps = [
        (("--status", "submitted", "--ticket", "CS-48213", "--date", "2026-01-05"),
         "submitted", "ticket CS-48213, on 2026-01-05, by ana"),
        (("--status", "accepted", "--amount", "36.13"), "accepted", "credited 36.13, by ana"),
        (("--status", "rejected", "--reason", "no ticket within 5 business days"), "rejected",
         "reason: no ticket within 5 business days, by ana"),
    ]  # fmt: skip
    for flags, status, recorded in steps:
        said = ok(
            "claims", "mark", "--vendor", "classswift", "--month", scene.old_month, *flags,
            "--by", "ana", cwd=here,
        )  # fmt: skip
        assert (
            said.startswith("recorded claim mark ")
            and f"classswift {scene.old_month}: {status}" in said
        )
        rows = claim_rows(ok("claims", cwd=here))
        assert (rows[0][1], rows[0][4]) == (scene.old_month, status)
        assert rows[0][5].startswith(recorded)
    # --month alone: that month only.
    rows = claim_rows(ok("claims", "--month", scene.recent_month, cwd=here))
    assert [(r[1], r[4]) for r in rows] == [(scene.recent_month, "due")]

    # The marks are in the audit trail, and its chain is intact.
    trail = ok("audit", "--month", scene.old_month, cwd=here)
    assert trail.count("claim marked") == 3
    assert "CS-48213" in trail and "no ticket within 5 business days" in trail
    assert "the audit trail is intact: 3 events" in ok("audit", "--verify", cwd=here)


def test_a_month_with_a_mark_is_listed_even_when_older(scene: Scene, tmp_path: Path) -> None:
    here = copy_of(scene, tmp_path)
    older = date.fromisoformat(scene.old_month + "-01") - timedelta(days=1)
    ok("claims", "mark", "--vendor", "classswift", "--month", f"{older:%Y-%m}", "--status",
       "rejected", "--reason", "nothing to claim", cwd=here)  # fmt: skip
    rows = claim_rows(ok("claims", cwd=here))
    assert (rows[-1][1], rows[-1][4]) == (f"{older:%Y-%m}", "rejected")


def test_nothing_to_claim_says_so(scene: Scene) -> None:
    far = "2030-06"
    assert ok("claims", "--month", far, cwd=scene.here) == (
        f"nothing to claim in {far}: no vendor-month has a credit or an open ticket deadline\n"
    )


# --------------------------------------------------------------------------------------------
# A closed month


def late_batch(here: Path, start: datetime) -> None:
    """Probe results that arrive after the month was closed: ten hours of the hub down
    everywhere, through the ingest path."""
    config = load_config(here / "vendors.yaml", here / "maintenance_windows.yaml")
    results = []
    for minute in range(0, 12 * 60, 5):
        at = start + timedelta(minutes=minute)
        down = 60 <= minute < 11 * 60
        for region in REGIONS:
            results.append(
                ProbeResult(
                    "classswift", "hub", region, at, not down, 0.05,
                    status=503 if down else 200,
                    error=FailureClass.STATUS if down else None,
                    message="HTTP 503" if down else None,
                )
            )  # fmt: skip
    storage = Storage(here / "uptime.db")
    try:
        storage.record_results(results, stale_limits(config))
    finally:
        storage.close()


def test_a_closed_months_claims_use_its_frozen_figures(tmp_path: Path) -> None:
    here = tmp_path
    (here / "vendors.yaml").write_text(vendors_yaml(), "utf-8")
    (here / "maintenance_windows.yaml").write_text("{}\n", encoding="utf-8")
    (here / "users.csv").write_text("username,email\nana,ana@district.example\n", "utf-8")
    month = recent_months(datetime.now(UTC), LOS_ANGELES)[0]
    year, number = int(month[:4]), int(month[5:])
    start = datetime(year, number, 5, 8, 0, tzinfo=LOS_ANGELES)
    rows = "".join(
        f"classswift,{r},{start.isoformat()},{(start + timedelta(hours=40)).isoformat()},x\n"
        for r in REGIONS
    )
    (here / "old.csv").write_text("vendor,region,start,end,note\n" + rows, encoding="utf-8")
    ok("import-outages", "old.csv", cwd=here)
    ok("close", "--month", month, "--by", "ana", cwd=here)
    frozen = claim_rows(ok("claims", "--month", month, cwd=here))
    late_batch(here, datetime(year, number, 20, 8, 0, tzinfo=LOS_ANGELES))
    # Computed afresh the month now has ten hours more; its claim still has the frozen figures.
    from reports.runner import month_context

    config = load_config(here / "vendors.yaml", here / "maintenance_windows.yaml")
    fresh = month_context(config, here / "uptime.db", year, number, datetime.now(UTC))
    assert str(fresh.vendors[0].credit.amount) != frozen[0][2].split()[0]
    assert claim_rows(ok("claims", "--month", month, cwd=here)) == frozen
    assert frozen[0][2] == f"{engine_credit(here, month)['credit']['amount']} USD"
    out = here / "packets"
    ok("claims", "packet", "--vendor", "classswift", "--month", month, "--out", out, cwd=here)
    text = (out / f"classswift-{month}-claim.txt").read_text("utf-8")
    assert frozen[0][2] in text and "2,400.00 minutes" in text
    assert "month closed, report SHA-256 " in text


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        pytest.param(("--vendor", "nope", "--status", "submitted", "--ticket", "1"), 2,
                     "unknown vendor 'nope'; configured vendors: classswift,", id="unknown-vendor"),
        pytest.param(("--vendor", "classswift", "--status", "paid"), 2,
                     "--status 'paid'; expected one of: submitted, accepted, rejected",
                     id="bad-status"),
        pytest.param(("--vendor", "classswift", "--status", "submitted"), 2,
                     "--status submitted needs --ticket ID", id="submitted-without-ticket"),
        pytest.param(("--vendor", "classswift", "--status", "accepted", "--amount", "-1"), 2,
                     "'-1' is not an amount; expected at least 0", id="negative-amount"),
        pytest.param(("--vendor", "classswift", "--status", "accepted", "--amount", "1.005"), 2,
                     "'1.005' is not an amount", id="over-precise-amount"),
        pytest.param(("--vendor", "classswift", "--status", "accepted", "--amount",
                      "10000000000000"), 2, "is not an amount", id="huge-amount"),
        pytest.param(("--vendor", "classswift", "--status", "rejected"), 2,
                     "--reason is empty", id="rejected-without-reason"),
        pytest.param(("--vendor", "classswift", "--status", "submitted", "--ticket", "1",
                      "--date", "1900-01-01"), 2, "'1900-01-01' is out of range", id="old-date"),
        pytest.param(("--vendor", "classswift", "--status", "submitted", "--ticket", "1",
                      "--date", "2099-01-01"), 2, "--date 2099-01-01 is in the future",
                     id="future-date"),
        pytest.param(("--vendor", "classswift", "--status", "submitted", "--ticket", "1",
                      "--amount", "5.00"), 2, "give it with --status accepted",
                     id="amount-when-submitted"),
        pytest.param(("--vendor", "classcollaborate", "--status", "submitted", "--ticket", "1"),
                     2, "gives this account no credit to claim", id="vendor-without-credit"),
        pytest.param(("--vendor", "classswift", "--status", "submitted", "--ticket", "1",
                      "--by", "ana\x1b[2J"), 2, "--by holds a control character",
                     id="control-character"),
    ],
)  # fmt: skip
def test_bad_marks_are_one_line_and_record_nothing(
    scene: Scene, tmp_path: Path, args: tuple[str, ...], exit_code: int, says: str
) -> None:
    here = copy_of(scene, tmp_path)
    error = refused("claims", "mark", "--month", scene.old_month, *args, cwd=here,
                    exit_code=exit_code)  # fmt: skip
    # One line says what is wrong (argparse puts its usage above it).
    [line] = [line for line in error.splitlines() if "error:" in line]
    assert says in line
    assert "0 events" in ok("audit", "--verify", cwd=here)


def test_unknown_vendor_packet_is_one_line(scene: Scene, tmp_path: Path) -> None:
    error = refused("claims", "packet", "--vendor", "nope", "--month", scene.old_month,
                    "--out", tmp_path / "x", cwd=scene.here, exit_code=2)  # fmt: skip
    assert "unknown vendor 'nope'" in error and not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# sla.claim in vendors.yaml


@pytest.mark.parametrize(
    ("block", "users", "says"),
    [
        pytest.param("      claim:\n        send_to: not-an-address\n", None,
                     "vendors.classswift.sla.claim.send_to: got 'not-an-address'",
                     id="bad-send-to"),
        pytest.param("      claim:\n        send_to: a@b.example\n        affected_users:\n"
                     "          - {username: x, email: nope}\n", None,
                     "vendors.classswift.sla.claim.affected_users[0].email: got 'nope'",
                     id="bad-inline-email"),
        pytest.param(WITH_FILE.format(file="u.csv"),
                     "username,email\nx,x@d.example\ny,broken\n",
                     "u.csv:3: email: got 'broken'", id="bad-file-email"),
        pytest.param(WITH_FILE.format(file="u.csv"),
                     "user,mail\n", "u.csv:1: header is", id="bad-file-header"),
        pytest.param(WITH_FILE.format(file="gone.csv"),
                     None, "vendors.classswift.sla.claim.affected_users_file: cannot read",
                     id="missing-file"),
        pytest.param("      claim:\n        send_to: a@b.example\n        affected_users: []\n"
                     "        affected_users_file: u.csv\n", "username,email\n",
                     "both affected_users and affected_users_file", id="both"),
        pytest.param("      claim:\n        sendto: a@b.example\n", None,
                     "unknown key 'sendto' (did you mean 'send_to'?)", id="typo"),
    ],
)  # fmt: skip
def test_bad_claim_settings_name_file_line_and_field(
    tmp_path: Path, block: str, users: str | None, says: str
) -> None:
    text = (ROOT / "vendors.yaml").read_text("utf-8").replace(ANCHOR, ANCHOR + block, 1)
    (tmp_path / "vendors.yaml").write_text(text, "utf-8")
    (tmp_path / "m.yaml").write_text("{}\n", "utf-8")
    if users is not None:
        (tmp_path / "u.csv").write_text(users, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "vendors.yaml", tmp_path / "m.yaml")
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_claim_settings_inline_and_from_a_file(tmp_path: Path) -> None:
    inline = (
        "      claim:\n        send_to: a@b.example\n        affected_users:\n"
        "          - {username: x, email: x@d.example}\n"
    )
    text = (ROOT / "vendors.yaml").read_text("utf-8").replace(ANCHOR, ANCHOR + inline, 1)
    (tmp_path / "vendors.yaml").write_text(text, "utf-8")
    (tmp_path / "m.yaml").write_text("{}\n", "utf-8")
    config = load_config(tmp_path / "vendors.yaml", tmp_path / "m.yaml")
    claim = config.vendor("classswift").claim
    assert claim is not None and claim.send_to == "a@b.example"
    assert [(u.username, u.email) for u in claim.affected_users] == [("x", "x@d.example")]
    assert config.vendor("schoolstatus").claim is None
