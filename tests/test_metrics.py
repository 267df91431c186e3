"""``GET /metrics`` over real HTTP and a seeded SQLite database: the month families say what the
report says, the probe families count what agents send, promtool accepts the exposition, and
docs/metrics.md documents exactly the families we expose."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from support_api import READERS
from support_cli import uptime_ledger
from support_metrics import READING, TOKENS, Samples, Seeded, sample, samples, seed

from probes.result import FailureClass, ProbeResult
from uptime.probing.wire import RESULTS_PATH, encode_result
from uptime.web.app import make_app
from uptime.web.keys import RECORDER
from uptime.web.metrics import DOWNTIME_KINDS, LATENCY_BUCKETS

ROOT = Path(__file__).resolve().parents[1]
METRICS_DOC = ROOT / "docs" / "metrics.md"
PROMTOOL = "/usr/bin/promtool"

ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, seeded: Seeded) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(
        make_app(seeded.config, seeded.db, probe_regions=(), tokens=TOKENS, readers=READERS),
        headers=READING,
    )


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


def report(seeded: Seeded) -> dict[str, Any]:
    done = uptime_ledger(
        "--vendors",
        seeded.vendors,
        "--maintenance",
        seeded.maintenance,
        "--db",
        seeded.db,
        "report",
        "--month",
        seeded.month,
        "--format",
        "json",
        cwd=seeded.db.parent,
    )
    assert done.returncode == 0, done.stderr
    return {v["vendor"]: v for v in json.loads(done.stdout)["vendors"]}


async def test_month_figures_are_the_reports(client: TestClient, seeded: Seeded) -> None:
    got = samples(await scrape(client))
    vendors = report(seeded)
    acme = vendors["acme"]
    # the seeded month has every kind of down time, and misses its target
    assert all(acme["minutes"][kind] > 0 for kind in DOWNTIME_KINDS)
    assert not acme["met"] and acme["credit"]["amount"] != "0.00"
    for vendor, entry in vendors.items():
        minutes = entry["minutes"]

        def metric(name: str, vendor: str = vendor, **labels: str) -> float:
            return sample(got, f"uptime_ledger_month_{name}", vendor=vendor, **labels)

        # the report rounds percentages to 6 decimals and minutes to 2 (0.6 s)
        assert metric("availability_ratio") == pytest.approx(
            entry["availability_pct"] / 100, abs=1e-8
        )
        assert metric("target_ratio") == pytest.approx(entry["target_pct"] / 100, abs=1e-12)
        assert metric("total_seconds") == minutes["total"] * 60
        for kind in DOWNTIME_KINDS:
            assert metric("downtime_seconds", kind=kind) == pytest.approx(
                minutes[kind] * 60, abs=0.6
            ), kind
        counted = minutes["downtime"] + minutes["emergency"]
        if entry["maintenance"] == "counts":
            counted += minutes["scheduled"]
        allowance = minutes["total"] * 60 * (1 - entry["target_pct"] / 100)
        assert metric("allowance_seconds") == pytest.approx(allowance, abs=1e-6)
        assert metric("allowance_remaining_seconds") == pytest.approx(
            allowance - counted * 60, abs=2
        )
        credit = entry["credit"]
        if credit["currency"] is None:
            assert not any(
                name == "uptime_ledger_month_credit" and ("vendor", vendor) in labels
                for name, labels in got
            )
        else:
            assert metric("credit", currency=credit["currency"]) == float(credit["amount"])
    assert sample(got, "uptime_ledger_month_allowance_remaining_seconds", vendor="acme") < 0


def one_of(got: Samples, name: str, states: tuple[str, ...], **labels: str) -> str:
    """The one state a state set holds (exactly one series is 1, the others 0)."""
    values = {s: sample(got, name, state=s, **labels) for s in states}
    assert sorted(values.values()) == [0.0] * (len(states) - 1) + [1.0], values
    return next(s for s, v in values.items() if v == 1.0)


async def test_states_and_maintenance_now(client: TestClient, seeded: Seeded) -> None:
    got = samples(await scrape(client))
    vendor_states = ("up", "down", "maintenance", "unknown")
    assert one_of(got, "uptime_ledger_vendor_state", vendor_states, vendor="acme") == "up"
    assert one_of(got, "uptime_ledger_vendor_state", vendor_states, vendor="beta") == "maintenance"
    for region in ("chicago", "california", "atlanta"):
        for vendor, state in (("acme", "up"), ("beta", "unknown")):
            assert (
                one_of(
                    got,
                    "uptime_ledger_region_state",
                    ("up", "down", "unknown"),
                    vendor=vendor,
                    monitor="app",
                    region=region,
                )
                == state
            )
    assert sample(got, "uptime_ledger_maintenance_active", vendor="acme") == 0
    assert sample(got, "uptime_ledger_maintenance_active", vendor="beta") == 1
    # acme's next window starts 48 hours after the seed; beta's is open, with none after it
    next_start = sample(
        got, "uptime_ledger_maintenance_next_start_timestamp_seconds", vendor="acme"
    )
    assert next_start == (seeded.now + timedelta(hours=48)).timestamp()
    assert not any(
        name == "uptime_ledger_maintenance_next_start_timestamp_seconds"
        and ("vendor", "beta") in labels
        for name, labels in got
    )


async def test_a_change_of_state_shows_in_the_next_scrape(
    client: TestClient, seeded: Seeded
) -> None:
    """The scrape keeps each vendor's month while the writer has no news of it: a failure seen
    by every region shows in the very next scrape, in the states and the month's figures."""

    def downtime(got: Samples) -> float:
        return sample(got, "uptime_ledger_month_downtime_seconds", vendor="acme", kind="downtime")

    before = samples(await scrape(client))
    states = ("up", "down", "maintenance", "unknown")
    assert one_of(before, "uptime_ledger_vendor_state", states, vendor="acme") == "up"
    at = max(datetime.now(UTC), seeded.now + timedelta(seconds=1))
    failures = [
        probe(seeded, 0, at=at, region=region, ok=False, error=FailureClass.STATUS, status=503)
        for region in ("chicago", "california", "atlanta")
    ]
    await client.server.app[RECORDER].ingest(failures)
    await asyncio.sleep(max(0.0, (at + timedelta(seconds=2) - datetime.now(UTC)).total_seconds()))
    after = samples(await scrape(client))
    assert one_of(after, "uptime_ledger_vendor_state", states, vendor="acme") == "down"
    assert (
        one_of(
            after,
            "uptime_ledger_region_state",
            ("up", "down", "unknown"),
            vendor="acme",
            monitor="app",
            region="atlanta",
        )
        == "down"
    )
    assert downtime(after) >= downtime(before) + 2


def probe(seeded: Seeded, seconds: float, **fields: Any) -> ProbeResult:
    values: dict[str, Any] = {
        "vendor": "acme",
        "monitor": "app",
        "region": "chicago",
        "at": seeded.now + timedelta(seconds=seconds),
        "ok": True,
        "latency": 0.2,
        "status": 200,
        **fields,
    }
    return ProbeResult(**values)


async def test_probe_results_from_remote_and_local_agents(
    client: TestClient, seeded: Seeded
) -> None:
    cert = seeded.now + timedelta(days=30)
    renewed = seeded.now + timedelta(days=90)
    remote = [
        probe(seeded, 1, latency=0.07, cert_expires_at=cert),
        probe(seeded, 2, latency=0.3, degraded=True, message="slow", cert_expires_at=renewed),
        probe(
            seeded,
            3,
            vendor="beta",
            ok=False,
            latency=10.0,
            status=None,
            error=FailureClass.TIMEOUT,
            message="timed out",
        ),
    ]
    response = await client.post(
        RESULTS_PATH,
        json={
            "agent": "chicago-1",
            "region": "chicago",
            "first_seq": 1,
            "results": [encode_result(r) for r in remote],
        },
        headers={"Authorization": f"Bearer {TOKENS['chicago']}"},
    )
    assert response.status == 200, await response.text()
    local = probe(seeded, 4, region="atlanta", latency=1.5)
    await client.server.app[RECORDER].ingest([local])

    got = samples(await scrape(client))

    def results(vendor: str, region: str, result: str) -> float:
        return sample(
            got,
            "uptime_ledger_probe_results_total",
            vendor=vendor,
            monitor="app",
            region=region,
            result=result,
        )

    assert [results("acme", "chicago", r) for r in ("up", "down", "degraded")] == [1, 0, 1]
    assert [results("beta", "chicago", r) for r in ("up", "down", "degraded")] == [0, 1, 0]
    assert [results("acme", "atlanta", r) for r in ("up", "down", "degraded")] == [1, 0, 0]
    # configured series exist at zero before their first result
    assert results("acme", "california", "up") == 0

    def duration(suffix: str, region: str = "chicago", **labels: str) -> float:
        return sample(
            got,
            f"uptime_ledger_probe_duration_seconds_{suffix}",
            vendor="acme",
            monitor="app",
            region=region,
            **labels,
        )

    assert duration("count") == 2
    assert duration("sum") == pytest.approx(0.37)
    assert [duration("bucket", le=str(b)) for b in LATENCY_BUCKETS] == [0, 1, 1, 2, 2, 2, 2, 2]
    assert duration("bucket", le="+Inf") == 2
    assert duration("bucket", region="atlanta", le="1.0") == 0
    assert duration("bucket", region="atlanta", le="2.5") == 1
    # the latest certificate seen wins
    expiry = "uptime_ledger_tls_certificate_expiry_timestamp_seconds"
    labels = {"vendor": "acme", "monitor": "app", "region": "chicago"}
    assert sample(got, expiry, **labels) == renewed.timestamp()
    assert not any(name == expiry and ("region", "atlanta") in ls for name, ls in got)


async def exposition_with_every_family(client: TestClient, seeded: Seeded) -> str:
    await client.server.app[RECORDER].ingest(
        [probe(seeded, 1, cert_expires_at=seeded.now + timedelta(days=30))]
    )
    return await scrape(client)


async def test_promtool_accepts_the_exposition(client: TestClient, seeded: Seeded) -> None:
    text = await exposition_with_every_family(client, seeded)
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", checked.stderr


def families(text: str) -> dict[str, str]:
    """Each family's name in the exposition → its type."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


async def test_every_family_has_help_and_no_created_series(
    client: TestClient, seeded: Seeded
) -> None:
    text = await exposition_with_every_family(client, seeded)
    helps = dict(re.findall(r"^# HELP (\S+) (.+)$", text, re.MULTILINE))
    assert set(helps) == set(families(text))
    assert all(len(h) > 20 for h in helps.values()), helps
    assert "_created" not in text


def documented() -> dict[str, str]:
    """Each metric docs/metrics.md's table lists → its type (first word of the type column)."""
    rows = re.findall(
        r"^\| `(uptime_ledger_\w+)` \| (\w+)", METRICS_DOC.read_text(encoding="utf-8"), re.MULTILINE
    )
    return dict(rows)


async def test_docs_list_exactly_the_families_we_expose(client: TestClient, seeded: Seeded) -> None:
    exposed = families(await exposition_with_every_family(client, seeded))
    # the client writes a counter's family with its samples' _total name
    assert documented() == exposed


def test_probe_families_match_prometheus_clients_own(seeded: Seeded) -> None:
    """The exposition we write of the probe counter and histogram is what prometheus_client's
    Counter, Histogram and writer make of the same results (the client as the oracle)."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from uptime.web.metrics import ProbeMetrics

    ours = ProbeMetrics(seeded.config)
    registry = CollectorRegistry()
    counter = Counter(
        "uptime_ledger_probe_results",
        "",
        ("vendor", "monitor", "region", "result"),
        registry=registry,
    )
    histogram = Histogram(
        "uptime_ledger_probe_duration_seconds",
        "",
        ("vendor", "monitor", "region"),
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    for key in ours.series:
        for result in ("up", "down", "degraded"):
            counter.labels(*key, result)
        histogram.labels(*key)
    latencies = [0.0, 0.05, 0.051, 0.1, 0.3, 2.5, 9.99, 10.0, 12.0]  # on and between bounds
    results = [
        probe(seeded, i, latency=latency, ok=i % 3 != 0, degraded=i % 3 == 1)
        for i, latency in enumerate(latencies, start=1)
    ]
    for at_once in (results[:4], results[4:]):  # two batches, the first one written between
        ours.watch(at_once)
        ours.parts()  # writes and keeps the lines of the series counted so far
        for r in at_once:
            outcome = "down" if not r.ok else "degraded" if r.degraded else "up"
            counter.labels(r.vendor, r.monitor, r.region, outcome).inc()
            histogram.labels(r.vendor, r.monitor, r.region).observe(r.latency)

    def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.name.endswith("_created")
        }

    theirs = parsed(generate_latest(registry).decode())
    assert parsed(b"".join(ours.parts()).decode()) == theirs
    assert len(theirs) == len(ours.series) * (3 + len(LATENCY_BUCKETS) + 3)
