"""Defects of probing and ingest (issue 7), each against real local servers and real SQLite:
a result stamped in the future, an outage split by its confirmation, a cancelled flush."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support_probing import FAST, TOKENS, free_port, wait_for, write_config

from credits.intervals import Interval
from credits.month import Observations, vendor_month
from probes import CHECKS
from probes.result import FailureClass, ProbeResult, ProbeTarget
from uptime.config import Config, Probing
from uptime.probing.agent import Agent, AgentOptions
from uptime.probing.jobs import Job, stale_limits
from uptime.probing.scheduler import Scheduler
from uptime.probing.spool import Spool
from uptime.probing.wire import encode_result
from uptime.sources.probes import ProbeSource
from uptime.store.recorder import Recorder
from uptime.store.states import MAX_CLOCK_SKEW, OpenState, StateTracker
from uptime.store.storage import Storage
from uptime.store.writer import WriterThread
from uptime.web.app import make_app
from uptime.web.keys import PROBES, RECORDER

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient]]

FUTURE = datetime(2031, 1, 1, tzinfo=UTC)  # an agent's clock years ahead
KEY = ("sim", "m0", "chicago")


def probe(at: datetime, ok: bool, monitor: str = "m0") -> ProbeResult:
    return ProbeResult(
        vendor="sim",
        monitor=monitor,
        region="chicago",
        at=at,
        ok=ok,
        latency=0.01,
        status=200 if ok else 503,
        error=None if ok else FailureClass.STATUS,
        message=None if ok else "HTTP 503",
    )


# ---------------------------------------------------------------- a result from the future


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[TestClient]:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    app = make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS)
    yield await aiohttp_client(app)


async def post(client: TestClient, first_seq: int, results: list[ProbeResult]) -> Any:
    payload = {
        "agent": "chicago-abc",
        "region": "chicago",
        "first_seq": first_seq,
        "results": [encode_result(r) for r in results],
    }
    headers = {"Authorization": f"Bearer {TOKENS['chicago']}"}
    return await client.post("/api/v1/results", json=payload, headers=headers)


async def test_a_result_stamped_in_the_future_is_refused_and_freezes_nothing(
    client: TestClient,
) -> None:
    now = datetime.now(UTC)
    resp = await post(client, 1, [probe(now - timedelta(seconds=4), True), probe(FUTURE, False)])
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error.startswith("body.results[1].at: 2031-01-01T00:00:00+00:00 is ")
    assert "past the collector's clock" in error and "at most 1m ahead" in error
    collector = client.app[RECORDER]
    rows = await collector.call(lambda s: s.db.execute("select count(*) from results").fetchone())
    assert rows == (0,)  # nothing of the refused batch is stored

    # Within the allowed skew is accepted and moves the state; a little past it is refused.
    ahead = now + MAX_CLOCK_SKEW - timedelta(seconds=5)
    resp = await post(client, 1, [probe(now - timedelta(seconds=3), True), probe(ahead, False)])
    assert resp.status == 200
    (state,) = await collector.states(ahead)
    assert (state["state"], state["since"]) == ("down", ahead)
    far_ahead = now + MAX_CLOCK_SKEW + timedelta(seconds=30)
    resp = await post(client, 3, [probe(far_ahead, True)])
    assert resp.status == 422 and "body.results[0].at" in (await resp.json())["error"]


def state_views(db: Path, period: Interval, now: datetime) -> tuple[dict[str, Any], ...]:
    """(down, unknown) as vendor → monitor → region → intervals, read as a report reads them."""
    source = ProbeSource(db)
    try:
        seen = source.observations(["sim"], period, now)
    finally:
        source.close()
    return (
        {v: o.down for v, o in seen.items() if o.down},
        {v: o.unknown for v, o in seen.items() if o.unknown},
    )


async def test_one_future_result_does_not_freeze_its_region_in_storage(tmp_path: Path) -> None:
    # Through Storage.record_results, as both ingest paths store: the 2031 result is kept raw
    # (evidence of the bad clock) but the real results after it still move the intervals.
    now = datetime.now(UTC).replace(microsecond=0)
    stale = {("sim", "m0"): timedelta(seconds=130)}
    storage = Storage(tmp_path / "uptime.db")
    try:
        storage.record_results([probe(now - timedelta(seconds=180), True)], stale)
        storage.record_results([probe(FUTURE, True)], stale)
        down_at, up_at = now - timedelta(seconds=120), now - timedelta(seconds=60)
        storage.record_results([probe(down_at, False), probe(up_at, True)], stale)
        period = Interval(now - timedelta(hours=1), now)
        down, unknown = state_views(tmp_path / "uptime.db", period, now)
        assert down["sim"]["m0"]["chicago"] == [Interval(down_at, up_at)]
        assert unknown == {}
        (state,) = storage.current_states(now)
        assert state["state"] == "up" and state["last_seen"] == up_at
    finally:
        storage.close()


async def test_a_database_frozen_by_an_earlier_future_result_thaws(tmp_path: Path) -> None:
    # A database written before such results were refused: its open state was last seen in 2031.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=2)
    Storage(tmp_path / "uptime.db").close()
    with sqlite3.connect(tmp_path / "uptime.db") as db:
        db.execute(
            "insert into open_states (vendor, monitor, region, state, start, last_seen, "
            "stale_after_s) values (?, ?, ?, 'up', ?, ?, 130)",
            [*KEY, start.isoformat(), FUTURE.isoformat()],
        )
    db.close()
    stale = {("sim", "m0"): timedelta(seconds=130)}
    storage = Storage(tmp_path / "uptime.db")
    try:
        down_at, up_at = now - timedelta(seconds=120), now - timedelta(seconds=60)
        storage.record_results([probe(down_at, False), probe(up_at, True)], stale)
        down, _ = state_views(tmp_path / "uptime.db", Interval(now - timedelta(hours=3), now), now)
        assert down["sim"]["m0"]["chicago"] == [Interval(down_at, up_at)]
        assert storage.tracker.open[KEY].last_seen == up_at
    finally:
        storage.close()


def test_the_tracker_ignores_instants_past_its_clock_plus_the_skew() -> None:
    t0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
    clock = [t0]
    tracker = StateTracker(clock=lambda: clock[0])
    stale = timedelta(seconds=130)
    assert tracker.observe(probe(t0 - timedelta(seconds=60), True), stale) == []
    # A second past the skew does nothing at all; at the skew, the result counts.
    assert tracker.observe(probe(t0 + MAX_CLOCK_SKEW + timedelta(seconds=1), False), stale) == []
    assert tracker.open[KEY].last_seen == t0 - timedelta(seconds=60)
    (closed,) = tracker.observe(probe(t0 + MAX_CLOCK_SKEW, False), stale)
    assert (closed.state, closed.interval.end) == ("up", t0 + MAX_CLOCK_SKEW)
    # A key left last seen in the future (an old database) follows the next real result.
    tracker = StateTracker({KEY: OpenState("up", t0, FUTURE, stale)}, clock=lambda: clock[0])
    clock[0] = t0 + timedelta(minutes=5)
    (closed,) = tracker.observe(probe(t0 + timedelta(minutes=4), False), stale)
    assert closed.interval == Interval(t0, t0 + timedelta(minutes=4)) and closed.state == "up"
    assert tracker.open[KEY] == OpenState("down", closed.interval.end, closed.interval.end, stale)


async def test_in_process_results_from_the_future_are_not_stored(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    recorder = Recorder.for_config(config, tmp_path / "uptime.db")
    await recorder.open()
    try:
        now = datetime.now(UTC)
        assert await recorder.ingest([probe(now, True), probe(FUTURE, False)]) == 1
        stored = await recorder.call(
            lambda s: s.db.execute(
                "select (select group_concat(at) from results), "
                "(select group_concat(at) from first_seen)"
            ).fetchone()
        )
        assert "2031" not in "".join(stored) and all(stored)
    finally:
        await recorder.close()


async def test_an_agent_drops_what_its_clock_stamped_in_the_future_and_goes_on(
    tmp_path: Path,
) -> None:
    # Spooled while the site's clock was years ahead, since corrected: refused by the collector
    # (422), then dropped by the agent, which sends the rest instead of stopping for good.
    config = write_config(tmp_path, "http://127.0.0.1:9/", interval="1m")
    port = free_port()
    runner = web.AppRunner(
        make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS)
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    spool_path = tmp_path / "agent.db"
    now = datetime.now(UTC)
    with Spool(spool_path, "chicago") as spool:
        spool.append([encode_result(probe(now - timedelta(seconds=9), True))])
        spool.append([encode_result(probe(FUTURE, False))])
        spool.append([encode_result(probe(now - timedelta(seconds=8), False))])
    agent = Agent(
        config, "chicago", f"http://127.0.0.1:{port}", TOKENS["chicago"], spool_path,
        jobs=[], probing=FAST, options=AgentOptions(backoff_min=0.1, backoff_max=0.3),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    try:
        assert await wait_for(lambda: agent.sent >= 2 or running.done(), 5)
        assert not running.done()  # still running, not refused
        stop.set()
        await running
        rows = await runner.app[RECORDER].call(
            lambda s: s.db.execute("select at, ok from results order by at").fetchall()
        )
    finally:
        await runner.cleanup()
    assert [ok for _, ok in rows] == [1, 0] and not any(at.startswith("2031") for at, _ in rows)
    with Spool(spool_path, "chicago") as spool:
        assert spool.pending() == 0


# ---------------------------------------------------------------- an outage and its confirmation


@dataclass(frozen=True)
class Setting:
    """A monitor's and vendors.yaml's probing settings, and the outage its target goes through,
    all divided by ``scale`` so the test runs in seconds (the ratios are what matter)."""

    interval: float
    timeout: float
    retries: int
    retry_within: float
    hangs: bool  # the target hangs past the timeout (else it answers 503 at once)
    scale: float
    outage: float  # seconds of real (unscaled) outage
    monitors: int = 1

    def seconds(self, value: float) -> timedelta:
        return timedelta(seconds=value * self.scale)


SETTINGS = {
    # The case: 1 s / 1 s, default retries (2 within 5 s), 503 for 20 s.
    "1s/1s 503 default retries": Setting(1, 1, 2, 5, False, 0.5, 20),
    "1s/1s hanging default retries": Setting(1, 1, 2, 5, True, 0.5, 20),
    "15s/10s hanging": Setting(15, 10, 2, 5, True, 1 / 30, 300),
    "30s/20s hanging": Setting(30, 20, 2, 5, True, 1 / 60, 600),
    # 20.5 intervals: probing only every other tick would see the end 1.5 intervals late for
    # about half of the nine (monitor, region) jobs.
    "timeout equal to interval, hanging": Setting(60, 60, 2, 5, True, 1 / 120, 1230, 3),
    "more retries: 10 within 5s": Setting(1, 1, 10, 5, False, 0.5, 20),
    "retries spaced wider than the stale limit": Setting(10, 1, 1, 60, False, 1 / 20, 200),
}


class Outage:
    """A target that is down (503 at once, or hanging past any timeout) from ``start`` to
    ``end`` seconds after ``t0``, up otherwise."""

    def __init__(self, t0: float, start: float, end: float, hang: float | None) -> None:
        self.t0, self.start, self.end, self.hang = t0, start, end, hang

    async def handle(self, request: web.Request) -> web.Response:
        if self.start <= time.time() - self.t0 < self.end:
            if self.hang is not None:
                await asyncio.sleep(self.hang)
            return web.Response(status=503, text="down")
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app


def compressed(config: Config, setting: Setting) -> Config:
    vendor = config.vendors[0]
    monitors = tuple(
        replace(
            m, interval=setting.seconds(setting.interval), timeout=setting.seconds(setting.timeout)
        )
        for m in vendor.monitors
    )
    probing = Probing(
        retries=setting.retries,
        retry_within=setting.seconds(setting.retry_within),
        concurrency=50,
        batch=100,
        flush_every=timedelta(milliseconds=100),
    )
    return replace(config, vendors=(replace(vendor, monitors=monitors),), probing=probing)


@dataclass
class Measured:
    truth: Interval
    interval: timedelta
    down: dict[tuple[str, str], list[Interval]]  # (monitor, region) → down intervals
    unknown: dict[tuple[str, str], list[Interval]]
    interruptions: list[Interval]


async def measure(aiohttp_server: ServerFactory, tmp_path: Path, setting: Setting) -> Measured:
    interval = setting.interval * setting.scale
    t0 = time.time()
    start = 3 * interval + 0.5  # every region has reported up a few times first
    end = start + setting.outage * setting.scale
    hang = 3 * setting.timeout * setting.scale if setting.hangs else None
    target = await aiohttp_server(Outage(t0, start, end, hang).app())
    base = write_config(tmp_path, str(target.make_url("/")), monitors=setting.monitors)
    config = compressed(base, setting)
    app = make_app(config, tmp_path / "uptime.db", tokens={})
    await aiohttp_server(app)
    await asyncio.sleep(max(0.0, t0 + end + 2 * interval + 0.5 - time.time()))
    now = datetime.now(UTC)
    await app[PROBES].scheduler.flush()
    period = Interval(datetime.fromtimestamp(t0, UTC), now)
    down, unknown = state_views(tmp_path / "uptime.db", period, now)
    vendor = config.vendor("sim")
    month = vendor_month(
        vendor,
        now.year,
        now.month,
        Observations(down=down.get("sim", {}), unknown=unknown.get("sim", {})),
    )
    return Measured(
        truth=Interval(
            datetime.fromtimestamp(t0 + start, UTC), datetime.fromtimestamp(t0 + end, UTC)
        ),
        interval=timedelta(seconds=interval),
        down={
            (monitor, region): sorted(intervals)
            for monitor, regions in down.get("sim", {}).items()
            for region, intervals in regions.items()
        },
        unknown={
            (monitor, region): sorted(intervals)
            for monitor, regions in unknown.get("sim", {}).items()
            for region, intervals in regions.items()
        },
        interruptions=[part.interruption.interval for part in month.availability.parts],
    )


def problems(measured: Measured) -> list[str]:
    """Where the measurement breaks docs/timing.md: no blind gap, one down interval per region
    starting within one interval after the truth and ending within one interval after it."""
    found = []
    slack = timedelta(milliseconds=250)
    truth, interval = measured.truth, measured.interval
    if measured.unknown:
        found.append(f"unknown: {measured.unknown}")
    for key, intervals in measured.down.items():
        if len(intervals) != 1:
            found.append(f"{key}: {len(intervals)} down intervals {intervals}")
            continue
        (seen,) = intervals
        if not truth.start - slack <= seen.start <= truth.start + interval + slack:
            found.append(f"{key}: starts {(seen.start - truth.start).total_seconds():+.3f}s off")
        if not truth.end - slack <= seen.end <= truth.end + interval + slack:
            found.append(f"{key}: ends {(seen.end - truth.end).total_seconds():+.3f}s off")
    if len(measured.interruptions) != 1:
        found.append(f"{len(measured.interruptions)} interruptions {measured.interruptions}")
    else:
        (interruption,) = measured.interruptions
        counted = interruption.end - interruption.start
        if abs(counted - (truth.end - truth.start)) > interval + slack:
            found.append(f"counted {counted.total_seconds():.3f}s of {truth}")
    return found


async def test_a_confirmed_failure_never_opens_a_blind_gap(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    # Every setting at once (each its own target, collector and database): about 15 seconds.
    names = list(SETTINGS)
    for i in range(len(names)):
        (tmp_path / str(i)).mkdir()
    measured = await asyncio.gather(
        *(measure(aiohttp_server, tmp_path / str(i), SETTINGS[n]) for i, n in enumerate(names))
    )
    found = {name: problems(m) for name, m in zip(names, measured, strict=True)}
    assert not any(found.values()), {name: p for name, p in found.items() if p}


STALE_CASES = [
    # 2 × interval + timeout where the confirmation fits in it: the seed monitors' 60 s / 10 s.
    pytest.param("60s", "10s", {}, 130, id="60s/10s"),
    # 1 s + (5 s of retries + the last attempt's 1 s and its 0.25 s of grace)
    pytest.param("1s", "1s", {}, 7.25, id="1s/1s"),
    # 15 s + (three attempts back to back, each up to 10.25 s, when they hang)
    pytest.param("15s", "10s", {}, 45.75, id="15s/10s"),
    pytest.param("10s", "1s", {"retries": 1, "retry_within": timedelta(minutes=1)}, 71.25,
                 id="one-retry-a-minute-later"),
]  # fmt: skip


@pytest.mark.parametrize(("interval", "timeout", "probing", "seconds"), STALE_CASES)
def test_the_stale_limit_allows_for_the_confirmation(
    tmp_path: Path, interval: str, timeout: str, probing: dict[str, Any], seconds: float
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/", interval=interval, timeout=timeout)
    config = replace(config, probing=Probing(**probing))
    assert stale_limits(config) == {("sim", "m0"): timedelta(seconds=seconds)}


# ---------------------------------------------------------------- a cancelled flush


async def instant(target: ProbeTarget, session: object, timeout: float, region: str = ""):
    return ProbeResult(target.vendor, target.monitor, region, datetime.now(UTC), True, 0.0)


def instant_jobs(n: int) -> list[Job]:
    return [
        Job(ProbeTarget("sim", f"m{i}", "http://x.invalid/", "http", timeout=0.1), "chicago", 0.2)
        for i in range(n)
    ]


async def fill_and_cancel_a_flush(scheduler: Scheduler, db: Path) -> None:
    """Probe until results wait in the buffer, then cancel a flush while its sink call is
    storing them in ``db`` (held up by another connection's write lock, as a slow disk or a
    busy reader would), and stop, which flushes what is left."""
    await scheduler.start()
    while scheduler.stats.results < 20:
        await asyncio.sleep(0.05)
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        blocker.execute("begin immediate")
        flushing = asyncio.create_task(scheduler.flush())
        await asyncio.sleep(0.3)  # the writer thread is inside the write, waiting for the lock
        flushing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flushing
    finally:
        blocker.execute("rollback")
        blocker.close()
    await scheduler.stop()


async def test_a_cancelled_flush_stores_nothing_twice(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/", monitors=5)
    recorder = Recorder.for_config(config, tmp_path / "uptime.db")
    await recorder.open()
    try:
        scheduler = Scheduler(
            instant_jobs(5), None, recorder.ingest, checks={**CHECKS, "http": instant},
            flush_every=60, batch=1000,
        )  # fmt: skip
        await fill_and_cancel_a_flush(scheduler, tmp_path / "uptime.db")
        rows = await recorder.call(
            lambda s: s.db.execute("select monitor, at from results").fetchall()
        )
    finally:
        await recorder.close()
    assert len(rows) == scheduler.stats.results
    assert max(Counter(rows).values()) == 1


async def test_a_cancelled_flush_spools_nothing_twice(tmp_path: Path) -> None:
    # The agent's sink: the spool numbers what it is given, so a chunk handed over twice would
    # be sent twice under new sequence numbers.
    worker: WriterThread[Spool] = WriterThread("test-spool")
    await worker.open(lambda: Spool(tmp_path / "agent.db", "chicago"))

    async def spool(results: list[ProbeResult]) -> None:
        await worker.call(Spool.append, [encode_result(r) for r in results])

    try:
        scheduler = Scheduler(
            instant_jobs(5), None, spool, checks={**CHECKS, "http": instant},
            flush_every=60, batch=1000,
        )  # fmt: skip
        await fill_and_cancel_a_flush(scheduler, tmp_path / "agent.db")
        spooled = await worker.call(lambda s: s.next_seq - 1)
    finally:
        await worker.close(Spool.close)
    assert spooled == scheduler.stats.results


# ---------------------------------------------------------------- defaults written once


def test_the_scheduler_takes_its_defaults_from_probing() -> None:
    scheduler = Scheduler([], None, lambda results: None)
    default = Probing()
    assert (scheduler.retries, scheduler.retry_within, scheduler.batch, scheduler.flush_every) == (
        default.retries,
        default.retry_within.total_seconds(),
        default.batch,
        default.flush_every.total_seconds(),
    )
