"""The running server and what finance records from the command line in another process: an
exclusion counts on the status page and in /metrics without a restart, a closed month says so on
the vendor's page and the history (with its frozen figures), the claim deadline gauge follows the
claims, and money and claims stay off the public pages. Real HTTP, real SQLite, the real CLI."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from support_api import READERS
from support_cli import uptime_ledger
from support_metrics import READING, REGIONS, TOKENS, Seeded, sample, samples, seed

from credits.business_time import localize
from probes.result import FailureClass, ProbeResult
from reports.context import VendorContext
from uptime.probing.jobs import stale_limits
from uptime.store.finance import record_claim_mark
from uptime.store.storage import Storage, open_writable
from uptime.web.app import make_app
from uptime.web.keys import MONTHS
from uptime.web.metrics import ClaimDeadlines
from uptime.web.months import month_of, months_back
from uptime.web.page_context import pct_words
from uptime.web.scheduled import claim_context, claim_inputs, log_near_deadlines

ClientFactory = Callable[..., Awaitable[TestClient]]
DEADLINE = "uptime_ledger_claim_deadline_timestamp_seconds"


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, seeded: Seeded) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(
        make_app(seeded.config, seeded.db, probe_regions=(), tokens=TOKENS, readers=READERS),
        headers=READING,
    )


def cli(seeded: Seeded, *args: str) -> str:
    done = uptime_ledger(
        "--vendors",
        seeded.vendors,
        "--maintenance",
        seeded.maintenance,
        "--db",
        seeded.db,
        *args,
        cwd=seeded.db.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def report(seeded: Seeded, month: str) -> dict[str, Any]:
    document = json.loads(cli(seeded, "report", "--month", month, "--format", "json"))
    return {v["vendor"]: v for v in document["vendors"]}


async def get(client: TestClient, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return await response.text()


async def test_an_exclusion_recorded_by_the_cli_counts_without_a_restart(
    client: TestClient, seeded: Seeded
) -> None:
    before = samples(await get(client, "/metrics"))
    excluded = sample(
        before, "uptime_ledger_month_downtime_seconds", vendor="acme", kind="excluded"
    )
    assert excluded == 1800  # the YAML's half hour
    start = seeded.now - timedelta(hours=9)
    cli(
        seeded,
        "exclude",
        "--vendor",
        "acme",
        "--from",
        start.isoformat(),
        "--to",
        (start + timedelta(minutes=30)).isoformat(),
        "--reason",
        "district firewall change",
        "--by",
        "it",
    )
    acme = report(seeded, seeded.month)["acme"]
    assert acme["minutes"]["excluded"] == 60.0
    after = samples(await get(client, "/metrics"))
    assert sample(
        after, "uptime_ledger_month_downtime_seconds", vendor="acme", kind="excluded"
    ) == pytest.approx(3600, abs=0.6)
    assert sample(after, "uptime_ledger_month_availability_ratio", vendor="acme") == pytest.approx(
        acme["availability_pct"] / 100, abs=1e-8
    )
    assert sample(after, "uptime_ledger_month_availability_ratio", vendor="acme") > sample(
        before, "uptime_ledger_month_availability_ratio", vendor="acme"
    )
    shown = pct_words(acme["availability_pct"])
    assert shown in await get(client, "/")
    assert shown in await get(client, "/vendor/acme")
    # and a window added from the command line is maintenance on the page and in /metrics
    start = seeded.now + timedelta(hours=5)
    cli(
        seeded,
        "maintenance",
        "add",
        "--vendor",
        "acme",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=1)).isoformat(),
        "--announced-at",
        seeded.now.isoformat(),
        "--note",
        "Certificate rotation",
        "--by",
        "it",
    )
    got = samples(await get(client, "/metrics"))
    assert (
        sample(got, "uptime_ledger_maintenance_next_start_timestamp_seconds", vendor="acme")
        == start.timestamp()
    )
    assert "Certificate rotation" in await get(client, "/")


def expected_deadline(seeded: Seeded, entry: dict[str, Any]) -> float:
    zone = seeded.config.vendor("acme").timezone
    today = seeded.now.astimezone(zone).date()
    deadlines = [date.fromisoformat(i["claim_deadline"]) for i in entry["interruptions"]]
    earliest = min(d for d in deadlines if d >= today)
    following = earliest + timedelta(days=1)
    return localize(datetime(following.year, following.month, following.day), zone).timestamp()


async def test_the_claim_deadline_gauge_follows_the_claims(
    client: TestClient, seeded: Seeded
) -> None:
    got = samples(await get(client, "/metrics"))
    acme = report(seeded, seeded.month)["acme"]
    assert acme["credit"]["amount"] != "0.00"
    assert sample(got, DEADLINE, vendor="acme") == expected_deadline(seeded, acme)
    # beta has no credit rule: never a claim
    assert not any(name == DEADLINE and ("vendor", "beta") in labels for name, labels in got)
    # finance files it (recorded by another process): no longer due, the series goes
    db = open_writable(seeded.db)
    try:
        record_claim_mark(
            db,
            seeded.config.vendor("acme"),
            seeded.month,
            "submitted",
            "finance",
            datetime.now(UTC),
            ticket="CS-1234",
        )
    finally:
        db.close()
    got = samples(await get(client, "/metrics"))
    assert not any(name == DEADLINE for name, _ in got)


async def test_a_kept_claim_deadline_ends_with_its_day(client: TestClient, seeded: Seeded) -> None:
    # The same context read on either side of its ticket deadline's end (as a month kept
    # while nothing new is seen of it): the deadline kept for it is not kept past its day.
    months = client.server.app[MONTHS]
    acme = seeded.config.vendor("acme")
    entry = report(seeded, seeded.month)["acme"]
    # The ticket deadlines of the interruptions that count (the one inside the exclusion does
    # not): one, or two when they straddle acme's midnight (they are seeded hours before now).
    days = sorted(
        {
            date.fromisoformat(i["claim_deadline"])
            for i in entry["interruptions"]
            if i["downtime"] + i["emergency"] + i["scheduled"] > 0  # maintenance counts
        }
    )
    ends = [localize(datetime.combine(d + timedelta(days=1), time()), acme.timezone) for d in days]
    assert ends[0].timestamp() == expected_deadline(seeded, entry)
    year, month = (int(part) for part in seeded.month.split("-"))
    wanted = [(acme, year, month)]

    def contexts(now: datetime) -> list[tuple[int, int, VendorContext]]:
        made = months.made("claims", claim_context, wanted, now)
        return claim_inputs(months, zip(wanted, made, strict=True))["acme"]

    deadlines = ClaimDeadlines()
    before = ends[0] - timedelta(hours=1)
    kept = await months.run(contexts, before)
    records = months.records
    for end, following in zip(ends, [*ends[1:], None], strict=True):
        ahead, past = end - timedelta(hours=1), end + timedelta(seconds=1)
        assert deadlines.end(acme, kept, records, ahead) == end.timestamp()
        assert deadlines.end(acme, kept, records, ahead) == end.timestamp()
        assert deadlines.end(acme, kept, records, past) == (following and following.timestamp())
        assert deadlines.end(acme, kept, records, ahead) == end.timestamp()
    # Nor once finance records that the claim was filed (the audit trail grew).
    db = open_writable(seeded.db)
    try:
        record_claim_mark(db, acme, seeded.month, "submitted", "finance", before, ticket="CS-9")
    finally:
        db.close()
    _, marked = await months.current()
    assert marked is not records
    assert deadlines.end(acme, kept, marked, before) is None


async def test_claims_near_their_deadline_are_logged_beside_vendors_that_cannot_claim(
    client: TestClient, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    # beta's contract has no credit: nothing to list for it, and nothing to stop acme's line
    acme = report(seeded, seeded.month)["acme"]
    deadline_end = datetime.fromtimestamp(expected_deadline(seeded, acme), UTC)
    months = client.server.app[MONTHS]
    with caplog.at_level(logging.WARNING, logger="uptime.web.scheduled"):
        logged = await months.run(log_near_deadlines, months, deadline_end - timedelta(hours=3))
    assert logged == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "uptime.web.scheduled"]
    assert line.startswith(f"claim due: acme {seeded.month}, ticket deadline ")
    assert "(end of day" in line and ", 3 h left); credit " in line
    assert f"uptime-ledger claims packet --vendor acme --month {seeded.month}" in line


def results(start: datetime, down: bool) -> list[ProbeResult]:
    """acme from every region every 5 minutes for an hour from ``start`` (down or up), then up."""
    out = []
    for minutes in range(0, 65, 5):
        ok = not down or minutes == 60
        for region in REGIONS:
            out.append(
                ProbeResult(
                    vendor="acme",
                    monitor="app",
                    region=region,
                    at=start + timedelta(minutes=minutes),
                    ok=ok,
                    latency=0.2,
                    status=200 if ok else 503,
                    error=None if ok else FailureClass.STATUS,
                    message=None if ok else "HTTP 503",
                )
            )
    return out


def store(seeded: Seeded, db: Path, stored: list[ProbeResult]) -> None:
    storage = Storage(db)
    try:
        storage.record_results(stored, stale_limits(seeded.config))
    finally:
        storage.close()


async def test_a_closed_month_says_so_on_the_vendors_page_and_the_history(
    aiohttp_client: ClientFactory, seeded: Seeded
) -> None:
    acme = seeded.config.vendor("acme")
    year, month = months_back(*month_of(acme, seeded.now), 3)[0]  # over everywhere
    label = f"{year:04d}-{month:02d}"
    # a district whose probing began in that month (acme up an hour on its 10th), and stopped
    db = seeded.db.parent / "closed.db"
    start = datetime(year, month, 10, 12, tzinfo=acme.timezone).astimezone(UTC)
    store(seeded, db, results(start, down=False))
    seeded = replace(seeded, db=db)
    client = await aiohttp_client(
        make_app(seeded.config, db, probe_regions=(), tokens=TOKENS, readers=READERS),
        headers=READING,
    )

    page = await get(client, f"/vendor/acme?month={label}")
    assert "This month is closed" not in page
    cli(seeded, "close", "--month", label, "--by", "Pat Finance")
    sha = re.search(r"[0-9a-f]{64}", cli(seeded, "audit", "--month", label))
    assert sha, "the audit trail names the close's SHA-256"
    frozen = report(seeded, label)["acme"]
    assert frozen["availability_pct"] == 100.0

    page = await get(client, f"/vendor/acme?month={label}")
    assert "This month is closed" in page
    assert "closed by Pat Finance" in page
    assert f"<code>{sha[0][:12]}</code>" in page
    assert "Closed figures: <strong>100.00 %</strong>, met its 99.9 % target" in page
    assert "they do not now" in page
    assert "<strong>differ from the closed figures</strong>" not in page
    history_page = await get(client, "/history")
    cell = re.search(rf'href="/vendor/acme\?month={label}">(.*?)</a>', history_page, re.S)
    assert cell and "closed: frozen figures" in cell[1] and "100.00 %" in cell[1]
    # the current month is not closed
    assert "This month is closed" not in await get(client, "/vendor/acme")

    # a late agent batch inside the closed month (acme down an hour on its 12th): stored, the
    # live figures move, the page says the closed figures are the ones that count, the history
    # keeps showing them
    store(seeded, db, results(start + timedelta(days=2), down=True))
    page = await get(client, f"/vendor/acme?month={label}")
    assert "<strong>differ from the closed figures</strong>" in page
    assert "Closed figures: <strong>100.00 %</strong>" in page
    assert "<strong>100.00 %</strong>," not in page.split('class="closed"')[0]  # live moved
    history_page = await get(client, "/history")
    cell = re.search(rf'href="/vendor/acme\?month={label}">(.*?)</a>', history_page, re.S)
    assert cell and "100.00 %" in cell[1], "the history shows the frozen figure"
    # the API serves the frozen entry too, saying the month is closed and the live one differs
    response = await client.get(f"/api/v1/vendors/acme/months/{label}")
    entry = await response.json()
    assert {k: v for k, v in entry.items() if k != "closed"} == frozen
    assert entry["closed"]["by"] == "Pat Finance" and entry["closed"]["sha256"] == sha[0]
    assert entry["closed"]["live_figures_differ"] is True

    # someone edits the frozen report: a server that read it before keeps the figures it
    # checked; one that reads it now answers with no figures rather than wrong ones
    with sqlite3.connect(db) as conn:
        conn.execute("drop trigger closed_reports_no_update")
        conn.execute("update closed_reports set report = replace(report, '100.0', '99.0')")
    assert "Closed figures: <strong>100.00 %</strong>" in await get(
        client, f"/vendor/acme?month={label}"
    )
    fresh = await aiohttp_client(
        make_app(seeded.config, db, probe_regions=(), tokens=TOKENS, readers=READERS),
        headers=READING,
    )
    for path in (f"/vendor/acme?month={label}", f"/api/v1/vendors/acme/months/{label}"):
        response = await fresh.get(path)
        assert response.status == 503, path
        assert f"the frozen report of {label} does not match" in await response.text()


async def test_money_and_claims_stay_off_the_public_pages(
    client: TestClient, seeded: Seeded
) -> None:
    acme = report(seeded, seeded.month)["acme"]
    amount = acme["credit"]["amount"]
    assert amount != "0.00"
    previous = months_back(*month_of(seeded.config.vendor("acme"), seeded.now), 2)[0]
    pages = ["/", "/vendor/acme", "/vendor/beta", "/history"]
    pages.append(f"/vendor/acme?month={previous[0]:04d}-{previous[1]:02d}")
    for path in pages:
        text = (await get(client, path)).lower()
        for word in (amount, "720", "usd", "$", "credit", "claim", "ticket", "deadline"):
            assert word.lower() not in text, (path, word)
