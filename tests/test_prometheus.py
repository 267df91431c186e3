"""dashboards/ against a real Prometheus (Debian ``prometheus`` and ``promtool``): the rule files
pass promtool's checks and unit tests, and a Prometheus started here scrapes a running server of
ours, answers PromQL with the month's figures, every panel query of the Grafana dashboard returns
data, and the recording rules produce Sloth's series. Missing binaries fail these tests."""

from __future__ import annotations

import asyncio
import json
import math
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support_api import READERS
from support_metrics import REGIONS, TOKENS, Seeded, seed
from support_probing import free_port, wait_for
from test_metrics import report
from test_web_records import expected_deadline

from probes.result import ProbeResult
from uptime.web.app import make_app
from uptime.web.keys import RECORDER

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "dashboards"
RULE_FILES = (DASHBOARDS / "recording-rules.yml", DASHBOARDS / "alerts.yml")
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
WAIT = 60.0  #: seconds any one wait for Prometheus may take

#: What Grafana puts in for the dashboard's variables: every vendor, and a rate interval of
#: four scrapes (Grafana's $__rate_interval at the 1 s scrape interval used here).
VARIABLES = {"$vendor": ".*", "$__rate_interval": "5s"}

#: Every series Sloth's rules produce and its dashboards read.
SLOTH_SERIES = (
    *(f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")),
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
    "sloth_slo_info",
)

ServerFactory = Callable[..., Awaitable[TestServer]]


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=DASHBOARDS
    )


@pytest.mark.parametrize("rules", RULE_FILES, ids=lambda p: p.name)
def test_promtool_checks_the_rules(rules: Path) -> None:
    checked = promtool("check", "rules", rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_rules_unit_tests_pass() -> None:
    """dashboards/tests/rules-test.yml: the vendor-down and "allowance 80 % spent" alerts fire
    (and not before), and Sloth's period budget goes negative once the allowance is overspent."""
    tests = DASHBOARDS / "tests" / "rules-test.yml"
    text = tests.read_text(encoding="utf-8")
    for alert in ("UptimeLedgerVendorDown", "UptimeLedgerAllowance80PercentSpent"):
        assert re.search(rf"alertname: {alert}\n\s+exp_alerts:\n\s+- exp_labels", text), alert
    checked = promtool("test", "rules", tests)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def panel_queries() -> Iterator[tuple[str, str]]:
    """(panel title, query) of every target of the dashboard, variables substituted."""
    dashboard = json.loads((DASHBOARDS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, f"{panel['title']}: unknown variable in {expr}"
            yield panel["title"], expr


class Prometheus:
    """A Prometheus of our own on 127.0.0.1, its HTTP API at ``url``."""

    def __init__(self, tmp_path: Path, target: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = tmp_path / "prometheus.yml"
        rules = "".join(f"  - {p}\n" for p in RULE_FILES)
        # The reader's token, as README says: the credit and claim deadline families need it.
        credentials = tmp_path / "reader.token"
        credentials.write_text(READERS["reader"] + "\n", encoding="utf-8")
        credentials.chmod(0o600)
        config.write_text(
            f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files:
{rules}scrape_configs:
  - job_name: uptime-ledger
    authorization: {{credentials_file: "{credentials}"}}
    static_configs: [{{targets: ["{target}"]}}]
""",
            encoding="utf-8",
        )
        self.log = (tmp_path / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.log.close()


async def query(session: aiohttp.ClientSession, prometheus: Prometheus, expr: str) -> list[Any]:
    async with session.get(f"{prometheus.url}/api/v1/query", params={"query": expr}) as response:
        body = await response.json()
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]


def values(result: list[Any]) -> list[float]:
    return [float(item["value"][1]) for item in result]


async def feed(app: web.Application) -> None:
    """An agent in-process: a result from every region of acme every 0.2 s, certificate too."""
    latencies = (0.04, 0.12, 0.3, 0.7)
    for i in range(10_000):  # bounded: the test cancels it long before
        now = datetime.now(UTC)
        await app[RECORDER].ingest(
            [
                ProbeResult(
                    vendor="acme",
                    monitor="app",
                    region=region,
                    at=now,
                    ok=True,
                    latency=latencies[i % len(latencies)],
                    status=200,
                    cert_expires_at=now.replace(microsecond=0) + timedelta(days=10),
                )
                for region in REGIONS
            ]
        )
        await asyncio.sleep(0.2)


@pytest.fixture
async def running(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> AsyncIterator[tuple[Seeded, Prometheus]]:
    seeded = seed(tmp_path)
    app = make_app(seeded.config, seeded.db, probe_regions=(), tokens=TOKENS, readers=READERS)
    server = await aiohttp_server(app)
    feeder = asyncio.create_task(feed(app))
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{server.port}")
    try:
        yield seeded, prometheus
    finally:
        prometheus.stop()
        feeder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await feeder


async def test_prometheus_scrapes_us_and_every_query_returns_data(
    running: tuple[Seeded, Prometheus],
) -> None:
    seeded, prometheus = running
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def answers(expr: str) -> bool:
            try:
                return any(
                    not math.isnan(v) for v in values(await query(session, prometheus, expr))
                )
            except aiohttp.ClientError:  # not listening yet
                return False

        availability = 'uptime_ledger_month_availability_ratio{vendor="acme"}'
        assert await wait_for(lambda: answers(availability), WAIT, step=0.25), (
            f"no scrape in {WAIT}s; see {prometheus.log.name}"
        )

        # the month-to-date figures are the report's
        entry = report(seeded)["acme"]
        minutes = entry["minutes"]
        [ratio] = values(await query(session, prometheus, availability))
        assert ratio == pytest.approx(entry["availability_pct"] / 100, abs=1e-8)
        counted = minutes["downtime"] + minutes["emergency"] + minutes["scheduled"]  # counts
        allowance = minutes["total"] * 60 * (1 - entry["target_pct"] / 100)
        [remaining] = values(
            await query(
                session,
                prometheus,
                'uptime_ledger_month_allowance_remaining_seconds{vendor="acme"}',
            )
        )
        assert remaining == pytest.approx(allowance - counted * 60, abs=2)
        assert remaining < 0

        # acme's claim is due: the gauge is the end of its earliest open ticket deadline, and
        # the alert fires exactly when that is less than 2 days away
        deadline = 'uptime_ledger_claim_deadline_timestamp_seconds{vendor="acme"}'
        assert await wait_for(lambda: answers(deadline), WAIT, step=0.25), deadline
        [ends] = values(await query(session, prometheus, deadline))
        assert ends == expected_deadline(seeded, entry)
        assert not await query(
            session, prometheus, 'uptime_ledger_claim_deadline_timestamp_seconds{vendor="beta"}'
        )
        soon = 'ALERTS{alertname="UptimeLedgerClaimDeadlineSoon", vendor="acme"}'
        if ends - datetime.now(UTC).timestamp() < 2 * 86400 - 60:
            assert await wait_for(lambda: answers(soon), WAIT, step=0.5), soon
        elif ends - datetime.now(UTC).timestamp() > 2 * 86400 + 60:
            assert not await query(session, prometheus, soon)

        # every panel of the dashboard (rates need a few scrapes of the feeder's results)
        queries = list(panel_queries())
        assert len(queries) >= 12
        for title, expr in queries:
            assert await wait_for(lambda expr=expr: answers(expr), WAIT, step=0.5), (
                f"panel {title!r}: no data for {expr}"
            )
        async with session.get(
            f"{prometheus.url}/api/v1/label/vendor/values",
            params={"match[]": "uptime_ledger_vendor_state"},
        ) as response:  # the $vendor variable's query
            assert (await response.json())["data"] == ["acme", "beta"]

        # Sloth's series, with Sloth's labels, one SLO per vendor
        sloth = '{sloth_service="acme", sloth_slo="availability", sloth_id="acme-availability"}'
        for name in SLOTH_SERIES:
            assert await wait_for(lambda name=name: answers(name + sloth), WAIT, step=0.5), name
        for window in ("5m", "30d"):
            [item] = await query(session, prometheus, f"slo:sli_error:ratio_rate{window}{sloth}")
            assert item["metric"]["sloth_window"] == window
            assert float(item["value"][1]) == 0.0  # acme has been up while Prometheus watched
        [budget] = values(
            await query(session, prometheus, f"slo:period_error_budget_remaining:ratio{sloth}")
        )
        assert budget == pytest.approx((allowance - counted * 60) / allowance, abs=1e-3)
        [objective] = values(await query(session, prometheus, f"slo:objective:ratio{sloth}"))
        assert objective == pytest.approx(0.999)
        [days] = values(await query(session, prometheus, f"slo:time_period:days{sloth}"))
        assert days == minutes["total"] / 1440
