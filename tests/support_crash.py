"""The crash-safety rig: a collector (``uptime-ledger run``) and three ``uptime-ledger agent``
processes against a local target, with a recording proxy between them; kill -9 and checks.

The proxy is the ground truth: an agent only ever sends results it has committed to its spool,
so the union of every body the proxy forwarded is every result the agents spooled, by
(agent, sequence number). The same sequence number seen with two different results would mean
an agent renumbered after a crash (and the collector would have dropped one as a replay): the
rig records that as a conflict. Used by tests/test_crash_safety.py and bench/crash_loop.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from support_probing import free_port

from probes.result import ProbeResult
from uptime.config import Config, load_config
from uptime.probing.jobs import stale_limits
from uptime.probing.spool import Spool
from uptime.probing.wire import decode_result
from uptime.store.database import to_db_time
from uptime.store.storage import Storage

REGIONS = ("chicago", "california", "atlanta")

#: The target fails for everyone in these seconds of every minute (state changes to replay).
DOWN_SECONDS = ((10, 14), (40, 43))


def write_rig_config(root: Path, target: str, monitors: int) -> Config:
    """Three remote regions (token files), one vendor ``sim`` with ``monitors`` monitors probed
    every second, no retries (every result lands as probed)."""
    regions = ""
    for region in REGIONS:
        token = root / f"{region}.token"
        token.write_text(f"{region}-token-0123456789abcdef\n", encoding="utf-8")
        token.chmod(0o600)
        regions += f'  {region}: {{name: "{region.title()}", token_file: "{token}"}}\n'
    monitor_yaml = "".join(
        f"""\
      - id: m{i}
        functional_area: Area {i % 5}
        url: {target}m{i}
        interval: 1s
        timeout: 1s
        critical: true
"""
        for i in range(monitors)
    )
    (root / "vendors.yaml").write_text(
        f"""\
regions:
{regions}probing: {{retries: 0, batch: 500, flush_every: 1s}}
vendors:
  sim:
    name: Simulated vendor
    timezone: UTC
    quorum: all
    monitors:
{monitor_yaml}    sla:
      target_pct: 99
      maintenance: counts
""",
        encoding="utf-8",
    )
    (root / "maintenance_windows.yaml").write_text("", encoding="utf-8")
    return load_config(root / "vendors.yaml", root / "maintenance_windows.yaml")


def target_app() -> web.Application:
    """A target that answers 503 during :data:`DOWN_SECONDS` of each minute, else 200."""

    async def answer(request: web.Request) -> web.Response:
        second = time.time() % 60
        if any(start <= second < end for start, end in DOWN_SECONDS):
            return web.Response(status=503, text="down")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


class Proxy:
    """Forwards ``POST /api/v1/results`` to the collector, recording every result it sees."""

    def __init__(self, upstream: str, big: int = 200, hold: float = 20) -> None:
        self.upstream = upstream
        self.hold = hold
        self.closing = False  # set when the rig stops: answer at once
        self.big = big
        #: (agent, seq) → the result as the agent sent it
        self.sent: dict[tuple[str, int], dict[str, Any]] = {}
        self.regions: dict[str, str] = {}
        self.conflicts: list[tuple[str, int]] = []
        self.in_flight = 0
        self.big_in_flight = asyncio.Event()
        self.posts = 0
        #: (region, HTTP status) → how many answers
        self.answers: Counter[tuple[str, int]] = Counter()
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/api/v1/results", self._forward)

        async def session(app: web.Application) -> Any:
            # A fresh connection per request: a pooled one would outlive a killed collector.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True),
                timeout=aiohttp.ClientTimeout(total=60),
            )
            yield
            await self._session.close()

        app.cleanup_ctx.append(session)
        return app

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        payload = json.loads(raw)
        agent, first = payload["agent"], payload["first_seq"]
        self.regions[agent] = payload["region"]
        for i, item in enumerate(payload["results"]):
            seen = self.sent.setdefault((agent, first + i), item)
            if seen != item:
                self.conflicts.append((agent, first + i))
        self.posts += 1
        self.in_flight += 1
        if len(payload["results"]) >= self.big:
            self.big_in_flight.set()
        try:
            return await self._upstream(raw, payload["region"], request.headers)
        finally:
            self.in_flight -= 1

    async def _upstream(self, raw: bytes, region: str, headers: Any) -> web.Response:
        # While the collector is not listening (killed, restarting) the request waits here, as
        # a slow collector would make it wait: the agent's backoff stays short and the rounds
        # quick, and it spools all along. A collector killed while it has the request: 502.
        deadline = time.monotonic() + self.hold
        while True:
            try:
                assert self._session is not None
                async with self._session.post(
                    self.upstream,
                    data=raw,
                    headers={
                        "Authorization": headers.get("Authorization", ""),
                        "Content-Type": "application/json",
                    },
                ) as resp:
                    self.answers[region, resp.status] += 1
                    return web.Response(
                        status=resp.status, body=await resp.read(), content_type="application/json"
                    )
            except aiohttp.ClientConnectorError as exc:
                if time.monotonic() < deadline and not self.closing:
                    await asyncio.sleep(0.05)
                    continue
                error = exc
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = exc
            self.answers[region, 502] += 1
            return web.json_response(
                {"error": f"proxy: collector unreachable ({error})"}, status=502
            )


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@dataclass
class Figures:
    """What a crash loop injected and found."""

    collector_kills: int = 0
    collector_kills_mid_post: int = 0
    agent_kills: int = 0
    results: int = 0
    lost: int = -1
    counted_twice: int = -1
    conflicts: int = -1
    integrity: dict[str, str] = field(default_factory=dict)
    states_equal: bool = False
    report_equal: bool = False
    cli_report_equal: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Rig:
    """The processes of one crash run, all on 127.0.0.1, files under ``root``."""

    def __init__(self, root: Path, monitors: int = 100) -> None:
        self.root = root
        self.monitors = monitors
        self.collector_port = free_port()
        self.proxy_port = free_port()
        self.target_port = free_port()
        self.db = root / "uptime.db"
        self.collector: subprocess.Popen[bytes] | None = None
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self._runners: list[web.AppRunner] = []
        self.proxy = Proxy(
            f"http://127.0.0.1:{self.collector_port}/api/v1/results", big=2 * monitors
        )
        self.config: Config | None = None
        self.figures = Figures()
        self.began = time.monotonic()
        self.events: list[str] = []

    def spool(self, region: str) -> Path:
        return self.root / f"{region}.spool.db"

    def _cli(self, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uptime.cli",
            "--vendors",
            str(self.root / "vendors.yaml"),
            "--maintenance",
            str(self.root / "maintenance_windows.yaml"),
            "--db",
            str(self.db),
            *args,
        ]

    def _spawn(
        self, name: str, args: list[str], piped: bool = False, **popen: Any
    ) -> subprocess.Popen[bytes]:
        """Start a child whose output goes to ``<name>.log``: directly, or through a pipe
        copied by a thread when ``piped`` (a child whose file size limit is lowered could not
        write its own log file)."""
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child or thread has it
        if not piped:
            try:
                return subprocess.Popen(args, cwd=self.root, stdout=log, stderr=log, **popen)
            finally:
                log.close()
        proc = subprocess.Popen(
            args, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen
        )

        def pump() -> None:
            assert proc.stdout is not None
            with log:
                for line in proc.stdout:
                    log.write(line)
                    log.flush()

        threading.Thread(target=pump, daemon=True).start()
        return proc

    async def start(self) -> None:
        self._runners.append(await serve(target_app(), self.target_port))
        self._runners.append(await serve(self.proxy.app(), self.proxy_port))
        self.config = write_rig_config(
            self.root, f"http://127.0.0.1:{self.target_port}/", self.monitors
        )

    def start_collector(self, **popen: Any) -> subprocess.Popen[bytes]:
        self.collector = self._spawn(
            "collector",
            self._cli("run", "--host", "127.0.0.1", "--port", str(self.collector_port)),
            **popen,
        )
        return self.collector

    async def collector_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.collector is not None and self.collector.poll() is None, self.log(
                "collector"
            )
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.collector_port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the collector does not listen") from None
                await asyncio.sleep(0.1)

    def start_agent(self, region: str, *extra: str, **popen: Any) -> subprocess.Popen[bytes]:
        self.agents[region] = self._spawn(
            f"agent-{region}",
            self._cli(
                "agent",
                "--region",
                region,
                "--collector",
                f"http://127.0.0.1:{self.proxy_port}",
                "--token-file",
                str(self.root / f"{region}.token"),
                "--spool",
                str(self.spool(region)),
                *extra,
            ),
            **popen,
        )
        return self.agents[region]

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    @staticmethod
    def kill9(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    @staticmethod
    def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 30) -> int | None:
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        return proc.returncode

    async def stopped(self, proc: subprocess.Popen[bytes] | None) -> int | None:
        """:meth:`stop` off the event loop, where the proxy and the target keep serving."""
        return await asyncio.to_thread(self.stop, proc)

    async def close(self) -> None:
        self.proxy.closing = True
        for proc in [*self.agents.values(), self.collector]:
            self.kill9(proc)
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    # ------------------------------------------------------------ the loop

    async def crash_loop(self, rounds: int, down: float = 0.5, seed: int = 0) -> None:
        """Start everything, then ``rounds`` times: kill -9 the collector while a large batch
        is in flight, kill -9 one agent up to ``down`` seconds later while it spools (it spools
        every second whatever the collector does), restart both (the collector's start takes a
        few seconds: the agents spool a backlog meanwhile). Then let everything drain and stop
        cleanly."""
        rng = random.Random(seed)
        for region in REGIONS:
            self.start_agent(region)
        # The agents spool a backlog before the collector exists.
        await self.spooled_at_least(2 * self.monitors)
        self.proxy.big_in_flight.clear()
        self.start_collector()
        await self.collector_listening()
        for turn in range(rounds):
            # The agents replay what they spooled while the collector was down.
            try:
                await asyncio.wait_for(self.proxy.big_in_flight.wait(), 60)
            except TimeoutError:
                raise AssertionError(f"no replay seen: {self.events}") from None
            await asyncio.sleep(rng.uniform(0, 0.05))
            mid_post = self.proxy.in_flight > 0
            self.kill9(self.collector)
            self.note(f"collector killed (a POST in flight: {mid_post})")
            self.figures.collector_kills += 1
            self.figures.collector_kills_mid_post += mid_post
            await asyncio.sleep(rng.uniform(0.05, down))
            region = REGIONS[turn % len(REGIONS)]
            assert self.agents[region].poll() is None, self.log(f"agent-{region}")
            self.kill9(self.agents[region])
            self.note(f"agent {region} killed")
            self.figures.agent_kills += 1
            self.start_agent(region)
            # A backlog a replay sends in one large POST, however fast the collector restarts
            # (a start of 2 s left too little for one: no kill mid-replay could follow).
            await self.spooled_at_least(self.proxy.big)
            self.proxy.big_in_flight.clear()
            self.start_collector()
            await self.collector_listening()
            self.note("collector listening")
        await self.caught_up()
        codes = await asyncio.gather(
            *(asyncio.to_thread(self.stop, self.agents[r]) for r in REGIONS)
        )
        for region, code in zip(REGIONS, codes, strict=True):
            assert code == 0, self.log(f"agent-{region}")
        self.note("agents stopped")
        assert await self.stopped(self.collector) == 0, self.log("collector")

    async def spooled_at_least(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            waiting = {region: spooled(self.spool(region)) for region in REGIONS}
            if min(waiting.values()) >= count:
                return
            assert time.monotonic() < deadline, f"the agents do not spool: {waiting}"
            await asyncio.sleep(0.2)

    async def caught_up(self, timeout: float = 60) -> None:
        """Wait until every agent's spool holds at most a few seconds of results."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = {r: spooled(self.spool(r)) for r in REGIONS}
            if max(waiting.values()) <= 3 * self.monitors:
                self.note(f"caught up: {waiting}")
                return
            assert time.monotonic() < deadline, f"not caught up: {waiting}; {self.events}"
            await asyncio.sleep(0.2)

    def note(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self.began:.1f}s {what}")

    # ------------------------------------------------------------ the checks

    def truth(self) -> dict[str, list[ProbeResult]]:
        """Every result the agents spooled, per agent in sequence order (what the proxy saw,
        plus anything still spooled), after checking the numbering has no hole."""
        per_agent: dict[str, dict[int, dict[str, Any]]] = {}
        for (agent, seq), item in self.proxy.sent.items():
            per_agent.setdefault(agent, {})[seq] = item
        for region in REGIONS:
            with Spool(self.spool(region), region) as spool:
                assert spool.pending() == 0, (
                    f"{region}: {spool.pending()} results still spooled; "
                    f"{self.proxy.answers}; {self.events}"
                )
                seqs = per_agent.get(spool.agent_id, {})
                assert sorted(seqs) == list(range(1, spool.next_seq)), (
                    f"{region}: the agent numbered {spool.next_seq - 1} results, the proxy saw "
                    f"{len(seqs)}"
                )
        return {
            agent: [
                decode_result(items[seq], self.proxy.regions[agent], f"{agent}[{seq}]")
                for seq in sorted(items)
            ]
            for agent, items in per_agent.items()
        }

    def cli_report(self, db: Path, year: int, month: int) -> dict[str, Any]:
        args = self._cli("report", "--month", f"{year}-{month:02d}", "--format", "json")
        args[args.index("--db") + 1] = str(db)
        done = subprocess.run(args, cwd=self.root, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return _clock_free(json.loads(done.stdout))

    def check(self, reference: Path, now: datetime) -> Figures:
        """Compare the collector's database with ``truth()`` and with a reference database
        built from the same results without crashes; fill :attr:`figures`."""
        from reports.runner import report

        figures = self.figures
        assert self.config is not None
        truth = self.truth()
        figures.conflicts = len(self.proxy.conflicts)
        expected = Counter(
            (r.vendor, r.monitor, r.region, to_db_time(r.at), agent)
            for agent, results in truth.items()
            for r in results
        )
        figures.results = sum(expected.values())
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            got = Counter(
                conn.execute("select vendor, monitor, region, at, agent from results").fetchall()
            )
            progress = dict(conn.execute("select agent, last_seq from agent_progress"))
        figures.lost = sum((expected - got).values())
        twice = {key: n for key, n in got.items() if n > 1}
        figures.counted_twice = sum(n - 1 for n in twice.values()) + sum((got - expected).values())
        for agent, results in truth.items():
            assert progress.get(agent) == len(results), (agent, progress.get(agent), len(results))

        stale = stale_limits(self.config)
        ref = Storage(reference)
        try:
            for agent, results in truth.items():
                for start in range(0, len(results), 500):
                    ref.record_results(results[start : start + 500], stale, agent, start + 1)
        finally:
            ref.close()
        figures.states_equal = tables(self.db) == tables(reference)
        months = sorted({(r.at.year, r.at.month) for results in truth.values() for r in results})
        figures.report_equal = all(
            report(self.config, self.db, y, m, now=now)
            == report(self.config, reference, y, m, now=now)
            for y, m in months
        )
        # And as a user reads it: `uptime-ledger report --format json` on each database, a
        # moment apart (the month to date: only what grows with the clock may differ).
        # Past the last result's stale limit, no state is still growing.
        last = max(r.at for results in truth.values() for r in results)
        settled = last + max(stale.values()) + timedelta(seconds=1)
        time.sleep(max(0.0, (settled - datetime.now(UTC)).total_seconds()))
        figures.cli_report_equal = all(
            self.cli_report(self.db, y, m) == self.cli_report(reference, y, m) for y, m in months
        )
        figures.integrity = {
            path.name: integrity(path)
            for path in [self.db, reference, *(self.spool(r) for r in REGIONS)]
        }
        return figures


def _clock_free(report: dict[str, Any]) -> dict[str, Any]:
    """A month-to-date JSON report without what grows with the clock once probing stopped:
    when it was made, and the unmonitored minutes since the last result."""
    report.pop("generated_at", None)
    for vendor in report["vendors"]:
        vendor["minutes"].pop("unmonitored", None)
    return report


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What a report or the status page is computed from, by names (not the ids, which depend
    on the order in which series first arrived)."""
    queries = {
        "state_intervals": 'select vendor, monitor, region, state, start, "end" '
        "from state_intervals order by 1, 2, 3, 5",
        "open_states": "select vendor, monitor, region, state, start, last_seen, stale_after_s "
        "from open_states order by 1, 2, 3",
        "results": "select * from results order by vendor, monitor, region, at",
        "hourly": "select s.vendor, s.monitor, s.region, h.* from hourly h join series s "
        "on s.id = h.series order by 1, 2, 3, h.hour",
        "first_seen": "select * from first_seen order by 1, 2, 3",
    }
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        out = {}
        for name, query in queries.items():
            cursor = conn.execute(query)
            columns = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
            if name == "hourly":
                # Drop the series id; a latency sum is added up batch by batch, and floats
                # added in another grouping differ in the last bits.
                keep = [i for i, c in enumerate(columns) if c != "series"]
                rows = [
                    tuple(round(row[i], 9) if columns[i] == "latency_sum" else row[i] for i in keep)
                    for row in rows
                ]
            out[name] = rows
    return out


def spooled(path: Path) -> int:
    """Results waiting in a spool, read beside the agent that writes it."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("select coalesce(sum(count), 0) from batches").fetchone()[0]
    except sqlite3.OperationalError:  # the agent has not created it yet, or is creating it
        return 0


def integrity(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return "; ".join(row[0] for row in conn.execute("pragma integrity_check"))
