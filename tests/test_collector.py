"""The collector and remote agents on 127.0.0.1: auth, idempotent ingest, spool and replay,
unknown after a gap, canary-blind regions."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support_cli import uptime_ledger
from support_ingest import batch, bearer, client_fixture, config_fixture  # noqa: F401
from support_probing import FAST, TOKENS, Timeline, free_port, region_jobs, wait_for, write_config

from credits.intervals import Interval
from credits.month import Observations
from probes.result import FailureClass, ProbeResult
from uptime.config import Config
from uptime.errors import UsageError
from uptime.probing.agent import Agent, AgentOptions, AgentRefused
from uptime.probing.jobs import stale_limits
from uptime.probing.spool import DEFAULT_SPOOL_MAX, SPOOL_MAX_RANGE, Spool, parse_size, size_text
from uptime.probing.wire import encode_result
from uptime.sources.probes import ProbeSource
from uptime.store.storage import Storage
from uptime.web.app import make_app
from uptime.web.keys import RECORDER

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient]]

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def result(seconds: float, ok: bool = True, monitor: str = "m0") -> dict[str, Any]:
    return encode_result(
        ProbeResult(
            vendor="sim",
            monitor=monitor,
            region="chicago",
            at=T0 + timedelta(seconds=seconds),
            ok=ok,
            latency=0.01,
            status=200 if ok else 503,
            error=None if ok else FailureClass.STATUS,
            message=None if ok else "HTTP 503",
        )
    )


def observed(db: Path, period: Interval, now: datetime) -> Observations:
    """What the probes saw of vendor ``sim``, read back as a report reads it."""
    source = ProbeSource(db)
    try:
        return source.observations(["sim"], period, now).get("sim", Observations())
    finally:
        source.close()


def stored(db: Path) -> list[tuple[Any, ...]]:
    storage = Storage(db)
    try:
        return storage.db.execute(
            "select vendor, monitor, region, at, ok, agent from results order by at"
        ).fetchall()
    finally:
        storage.close()


# ---------------------------------------------------------------- ingest


async def test_ingest_is_idempotent_by_agent_and_sequence(
    client: TestClient, tmp_path: Path
) -> None:
    first = [result(0), result(1), result(2, ok=False), result(3, ok=False)]
    resp = await client.post("/api/v1/results", json=batch(1, first), headers=bearer())
    assert resp.status == 200
    assert await resp.json() == {"new": 4, "ignored": 0, "last_seq": 4, "received": 4}
    # The same batch again (its acknowledgement was lost): nothing new.
    resp = await client.post("/api/v1/results", json=batch(1, first), headers=bearer())
    assert (await resp.json())["new"] == 0
    # Overlapping: seqs 3..6, of which 5 and 6 are new.
    overlap = [*first[2:], result(4), result(5)]
    resp = await client.post("/api/v1/results", json=batch(3, overlap), headers=bearer())
    assert await resp.json() == {"new": 2, "ignored": 0, "last_seq": 6, "received": 4}
    # Results for a monitor the collector does not know are dropped, their seqs still count.
    resp = await client.post(
        "/api/v1/results",
        json=batch(7, [result(6, monitor="gone"), result(6)]),
        headers=bearer(),
    )
    assert await resp.json() == {"new": 1, "ignored": 1, "last_seq": 8, "received": 2}

    collector = client.app[RECORDER]
    rows = await collector.call(
        lambda s: s.db.execute("select at, agent from results order by at").fetchall()
    )
    assert len(rows) == 7 and len({at for at, _ in rows}) == 7
    assert {agent for _, agent in rows} == {"chicago-abc"}
    period = Interval(T0, T0 + timedelta(hours=1))
    seen = observed(tmp_path / "uptime.db", period, T0 + timedelta(seconds=6.5))
    assert seen.down["m0"]["chicago"] == [
        Interval(T0 + timedelta(seconds=2), T0 + timedelta(seconds=4))
    ]


BAD_REQUESTS = [
    pytest.param(None, b"{}", 401, "missing or wrong bearer token", id="no-token"),
    pytest.param("Bearer nope-nope-nope-nope", b"{}", 401, "wrong bearer token", id="bad-token"),
    pytest.param("Basic abc", b"{}", 401, "bearer token", id="not-bearer"),
    pytest.param("chicago", b"{not json", 400, "body is not JSON", id="bad-json"),
    pytest.param("chicago", b"\xff\xfe", 400, "body is not JSON", id="not-utf8"),
    pytest.param("chicago", b"[1, 2]", 422, "expected a JSON object", id="list-body"),
    pytest.param("chicago", b"null", 422, "expected a JSON object", id="null-body"),
    pytest.param(
        "chicago", json.dumps(batch(1, [])).replace('"agent"', '"agnt"').encode(), 422,
        "body.agent: missing", id="missing-agent",
    ),
    pytest.param(
        "chicago", json.dumps(batch("1", [])).encode(), 422,
        "body.first_seq: got str; expected integer", id="seq-as-text",
    ),
    pytest.param(
        "chicago", json.dumps(batch(0, [])).encode(), 422, "at least 1", id="seq-zero",
    ),
    pytest.param(
        "chicago", json.dumps(batch(True, [])).encode(), 422, "body.first_seq", id="seq-bool",
    ),
    pytest.param(
        "chicago", json.dumps(batch(2**63, [result(0)])).encode(), 422,
        "body.first_seq: expected a whole number of at least 1 and at most", id="seq-too-large",
    ),
    pytest.param(
        "chicago", json.dumps(batch(2**63 - 1, [result(0), result(1)])).encode(), 422,
        "body.first_seq: expected a whole number of at least 1 and at most", id="seq-overflows",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, {"a": 1})).encode(), 422, "body.results", id="results-map",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "at": "yesterday"}])).encode(), 422,
        "body.results[0].at", id="bad-time",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "at": "2025-03-01T12:00:00"}])).encode(),
        422, "no UTC offset", id="naive-time",
    ),
    pytest.param(
        "chicago",
        json.dumps(batch(1, [{**result(0), "at": "0001-01-01T00:00:00+05:00"}])).encode(),
        422, "is out of range; expected a time from 1970-01-01", id="time-before-1970",
    ),
    pytest.param(
        "chicago",
        json.dumps(batch(1, [{**result(0), "cert_expires_at": "9999-12-31T23:00-05:00"}])).encode(),
        422, "body.results[0].cert_expires_at", id="certificate-beyond-9899",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "ok": "yes"}])).encode(), 422,
        "body.results[0].ok", id="ok-text",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "error": "meltdown"}])).encode(), 422,
        "body.results[0].error", id="unknown-failure-class",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "error": {}}])).encode(), 422,
        "body.results[0].error", id="failure-class-an-object",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [{**result(0), "latency": -1}])).encode(), 422,
        "latency", id="negative-latency",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [], region="boston")).encode(), 422,
        "unknown region 'boston'", id="unknown-region",
    ),
    pytest.param(
        "atlanta", json.dumps(batch(1, [])).encode(), 403,
        "the token is for region 'atlanta'", id="other-regions-token",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [], agent="atlanta-abc")).encode(), 422,
        "starting with 'chicago-'", id="agent-of-another-region",
    ),
    pytest.param(
        "chicago", json.dumps(batch(1, [], agent="../etc")).encode(), 422,
        "body.agent", id="agent-bad-characters",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("auth", "payload", "status", "message"), BAD_REQUESTS)
async def test_bad_requests_get_a_4xx_with_a_json_message(
    client: TestClient, auth: str | None, payload: bytes, status: int, message: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if auth in TOKENS:
        headers.update(bearer(auth))
    elif auth is not None:
        headers["Authorization"] = auth
    resp = await client.post("/api/v1/results", data=payload, headers=headers)
    assert resp.status == status
    error = (await resp.json())["error"]
    assert message in error
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_count(client) == 0


def stored_count(client: TestClient) -> int:
    return client.app[RECORDER].ingested


async def test_status_and_healthz(client: TestClient) -> None:
    resp = await client.post(
        "/api/v1/results", json=batch(1, [result(0), result(1, ok=False)]), headers=bearer()
    )
    assert resp.status == 200
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json()) == {"status": "ok"}
    status = await (await client.get("/api/v1/status")).json()
    (state,) = status["states"]
    assert (state["vendor"], state["monitor"], state["region"]) == ("sim", "m0", "chicago")
    # Long ago (2025), so no longer trusted: unknown since the stale limit, one interval plus
    # the longest confirmation (5 s of retries, the last attempt's 1 s and its grace).
    assert state["state"] == "unknown"
    assert state["since"] == (T0 + timedelta(seconds=1 + 7.25)).isoformat()


async def test_a_region_without_a_token_file_accepts_no_agent(
    aiohttp_client: ClientFactory, config: Config, tmp_path: Path
) -> None:
    app = make_app(config, tmp_path / "uptime.db", probe_regions=())  # no token files
    client = await aiohttp_client(app)
    resp = await client.post("/api/v1/results", json=batch(1, [result(0)]), headers=bearer())
    assert resp.status == 401


# ---------------------------------------------------------------- spool and replay


async def start_collector(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def agent_for(config: Config, port: int, spool: Path, target: str) -> Agent:
    return Agent(
        config,
        "chicago",
        f"http://127.0.0.1:{port}",
        TOKENS["chicago"],
        spool,
        jobs=[
            j for j in region_jobs(config, dict.fromkeys(TOKENS, target)) if j.region == "chicago"
        ],
        probing=FAST,
        options=AgentOptions(backoff_min=0.1, backoff_max=0.3, drain_on_stop=3),
    )


async def test_spool_and_replay_lose_nothing_and_count_nothing_twice(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    target = await aiohttp_server(Timeline({}).app())
    config = write_config(tmp_path, str(target.make_url("/")), monitors=3)
    db, spool_path, port = tmp_path / "uptime.db", tmp_path / "agent.spool.db", free_port()

    def collector() -> web.Application:
        return make_app(config, db, probe_regions=(), tokens=TOKENS)

    runner = await start_collector(collector(), port)
    agent = agent_for(config, port, spool_path, str(target.make_url("/")))
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    assert await wait_for(lambda: agent.sent >= 3, 5)

    await runner.cleanup()  # the collector goes away; the agent keeps probing and spools
    produced_before = agent.scheduler.stats.results
    assert await wait_for(lambda: agent.scheduler.stats.results >= produced_before + 6, 5)
    await asyncio.sleep(0.5)
    with Spool(spool_path, "chicago") as spooled:
        assert spooled.pending() >= 6  # kept on disk, not in memory

    runner = await start_collector(collector(), port)  # back on the same port
    assert await wait_for(lambda: agent.sent >= agent.scheduler.stats.results, 8)
    stop.set()
    await running
    first_id, first_results = agent.agent_id, agent.scheduler.stats.results
    await runner.cleanup()

    # A restarted agent is the same agent and continues its numbering.
    runner = await start_collector(collector(), port)
    again = agent_for(config, port, spool_path, str(target.make_url("/")))
    stop = asyncio.Event()
    running = asyncio.create_task(again.run(stop))
    assert await wait_for(lambda: again.sent >= 3, 5)
    stop.set()
    await running
    await runner.cleanup()
    assert again.agent_id == first_id

    rows = stored(db)
    produced = first_results + again.scheduler.stats.results
    assert len(rows) == produced  # nothing lost...
    assert len(set(rows)) == len(rows)  # ...and nothing doubled
    assert {row[-1] for row in rows} == {first_id}
    storage = Storage(db)
    try:
        assert storage.last_seq(first_id) == produced
    finally:
        storage.close()
    with Spool(spool_path, "chicago") as spool:
        assert (spool.pending(), spool.next_seq) == (0, produced + 1)


async def test_agent_with_a_wrong_token_is_refused_at_once_and_keeps_its_spool(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    target = await aiohttp_server(Timeline({}).app())
    config = write_config(tmp_path, str(target.make_url("/")), interval="1m")
    port = free_port()
    runner = await start_collector(
        make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS), port
    )
    spool_path = tmp_path / "agent.db"
    try:
        agent = agent_for(config, port, spool_path, str(target.make_url("/")))
        agent.token = "not-the-token-0123456789"
        begun = time.monotonic()
        # Refused by the first (empty) batch, not a minute later with the first result.
        with pytest.raises(AgentRefused, match="HTTP 401: missing or wrong bearer token"):
            await asyncio.wait_for(agent.run(asyncio.Event()), 5)
        assert time.monotonic() - begun < 1.0
        # With the right token, results spooled while it was refused are all delivered.
        with Spool(spool_path, "chicago") as spool:
            assert spool.agent_id == agent.agent_id
            spool.append([result(0), result(1)])
        agent = agent_for(config, port, spool_path, str(target.make_url("/")))
        stop = asyncio.Event()
        running = asyncio.create_task(agent.run(stop))
        assert await wait_for(lambda: agent.sent >= 2, 3)
        stop.set()
        await running
    finally:
        await runner.cleanup()
    assert len(stored(tmp_path / "uptime.db")) == 2 + agent.scheduler.stats.results
    with pytest.raises(UsageError, match="spool of region 'chicago', not 'atlanta'"):
        Spool(spool_path, "atlanta")


# ---------------------------------------------------------------- unknown


async def test_a_region_that_stops_reporting_becomes_unknown(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    target = await aiohttp_server(Timeline({}).app())
    config = replace(write_config(tmp_path, str(target.make_url("/"))), probing=FAST)
    port = free_port()
    runner = await start_collector(
        make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS), port
    )
    collector = runner.app[RECORDER]
    agent = agent_for(config, port, tmp_path / "agent.db", str(target.make_url("/")))
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    try:
        assert await wait_for(lambda: agent.sent >= 2, 5)
        stop.set()
        await running
        states = await collector.states(datetime.now(UTC))
        assert [s["state"] for s in states] == ["up"]
        last_seen = states[0]["last_seen"]
        # The stale limit after the last result, the region is unknown.
        limit = last_seen + stale_limits(config)[("sim", "m0")]
        await asyncio.sleep(max(0.0, (limit - datetime.now(UTC)).total_seconds()) + 0.2)
        now = datetime.now(UTC)
        (state,) = await collector.states(now)
        assert state["state"] == "unknown" and state["since"] == limit
        seen = observed(tmp_path / "uptime.db", Interval(now - timedelta(minutes=1), now), now)
        assert seen.unknown["m0"]["chicago"] == [Interval(limit, now)]
        assert not seen.down
    finally:
        await runner.cleanup()


async def test_a_site_that_cannot_reach_its_canary_is_unknown_not_down(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    t0 = time.time()
    # The vendor fails for everyone from 1.5 s on; from 1 s on the chicago site cannot reach
    # its canary either (its own network is broken).
    vendor = Timeline({"/": [(1.5, 60)]}, t0)
    canary = Timeline({"/": [(1.0, 60)]}, t0)
    vendor_server = await aiohttp_server(vendor.app())
    canary_server = await aiohttp_server(canary.app())
    config = write_config(
        tmp_path,
        str(vendor_server.make_url("/")),
        region_extra={"chicago": f', canary: "{canary_server.make_url("/")}"'},
    )
    app = make_app(
        config,
        tmp_path / "uptime.db",
        probe_regions=("chicago", "atlanta"),
        probing=FAST,
        tokens={},
    )
    server = await aiohttp_server(app)
    collector = server.app[RECORDER]
    await asyncio.sleep(max(0.0, t0 + 5.5 - time.time()))
    now = datetime.now(UTC)
    states = {s["region"]: s["state"] for s in await collector.states(now)}
    assert states == {"chicago": "unknown", "atlanta": "down"}
    seen = observed(tmp_path / "uptime.db", Interval(now - timedelta(minutes=1), now), now)
    assert "chicago" not in seen.down["m0"]
    assert seen.unknown["m0"]["chicago"]
    assert seen.down["m0"]["atlanta"]


async def test_a_locked_database_answers_503_and_the_batch_lands_on_retry(
    client: TestClient, tmp_path: Path
) -> None:
    # Another process holds the write lock past the writer's 5 s busy timeout: the batch is not
    # stored, the agent is told to keep it (503), and the same batch sent again lands once.
    sent = batch(1, [result(0), result(1, ok=False)])
    blocker = sqlite3.connect(tmp_path / "uptime.db", isolation_level=None)
    try:
        blocker.execute("begin exclusive")
        resp = await client.post("/api/v1/results", json=sent, headers=bearer())
        assert resp.status == 503
        assert "keep the batch and retry" in (await resp.json())["error"]
    finally:
        blocker.execute("rollback")
        blocker.close()
    resp = await client.post("/api/v1/results", json=sent, headers=bearer())
    assert resp.status == 200 and (await resp.json())["new"] == 2
    assert len(stored(tmp_path / "uptime.db")) == 2


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (DEFAULT_SPOOL_MAX, "500MB"),
        (SPOOL_MAX_RANGE[0], "100KB"),
        (SPOOL_MAX_RANGE[1], "1TB"),
        (800 * 2**10, "800KiB"),
        (2 * 10**9, "2GB"),
        (123_456, "123456B"),
    ],
)
def test_spool_sizes_are_written_as_they_are_read(size: int, text: str) -> None:
    assert size_text(size) == text
    assert parse_size(text) == size


def test_the_spool_cap_texts_follow_the_constants(tmp_path: Path) -> None:
    low, high = (size_text(n) for n in SPOOL_MAX_RANGE)
    with pytest.raises(ValueError, match=f"expected from {low} to {high}$"):
        parse_size(size_text(SPOOL_MAX_RANGE[0] - 1))
    with pytest.raises(ValueError, match=f"e.g. {size_text(DEFAULT_SPOOL_MAX)}$"):
        parse_size("lots")
    agent_help = " ".join(uptime_ledger("agent", "--help", cwd=tmp_path).stdout.split())
    assert f"e.g. {size_text(DEFAULT_SPOOL_MAX)} (the default)" in agent_help
    assert f"from {low} to {high};" in agent_help
