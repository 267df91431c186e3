"""The scheduler against real local servers: spread, retries, timeouts, concurrency, canary."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support_probing import free_port, wait_for

from probes import CHECKS
from probes.result import FailureClass, ProbeResult, ProbeTarget
from uptime.probing.jobs import Job, phase_offset
from uptime.probing.scheduler import Scheduler, probe_session

ServerFactory = Callable[..., Awaitable[TestServer]]


def job(url: str, monitor: str = "app", region: str = "chicago", interval: float = 1.0,
        timeout: float = 0.5) -> Job:  # fmt: skip
    target = ProbeTarget(vendor="v", monitor=monitor, url=url, kind="http", timeout=timeout)
    return Job(target, region, interval)


class Collected:
    """A sink that keeps every batch."""

    def __init__(self) -> None:
        self.batches: list[list[ProbeResult]] = []

    def __call__(self, results: list[ProbeResult]) -> None:
        self.batches.append(list(results))

    @property
    def results(self) -> list[ProbeResult]:
        return [r for batch in self.batches for r in batch]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    s = probe_session(100)
    yield s
    await s.close()


async def answering(
    aiohttp_server: ServerFactory, status: Callable[[int], int]
) -> tuple[str, list[float]]:
    """A local server answering ``GET /`` with ``status(n)`` to its n-th request (from 1); the
    list receives the time of each request."""
    hits: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(time.time())
        return web.Response(status=status(len(hits)))

    app = web.Application()
    app.router.add_get("/", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/")), hits


async def run_for(scheduler: Scheduler, seconds: float) -> None:
    await scheduler.start()
    try:
        await asyncio.sleep(seconds)
    finally:
        await scheduler.stop()


# ---------------------------------------------------------------- spread


def test_phase_offsets_are_stable_and_spread_over_the_interval() -> None:
    offsets = [phase_offset("v", f"m{i}", "chicago", 60.0) for i in range(10_000)]
    assert offsets == [phase_offset("v", f"m{i}", "chicago", 60.0) for i in range(10_000)]
    assert all(0 <= o < 60 for o in offsets)
    per_10s = Counter(int(o // 10) for o in offsets)
    assert sorted(per_10s) == [0, 1, 2, 3, 4, 5]
    assert all(1500 <= n <= 1830 for n in per_10s.values()), per_10s  # ≈ 1667 each
    # The same monitor from another region has its own phase.
    assert phase_offset("v", "m0", "chicago", 60.0) != phase_offset("v", "m0", "atlanta", 60.0)


async def test_each_job_probed_every_interval_at_its_own_phase(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    hits: list[tuple[str, float]] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append((request.path, time.time()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = await aiohttp_server(app)
    jobs = [job(str(server.make_url(f"/m{i}")), monitor=f"m{i}") for i in range(40)]
    sink = Collected()
    scheduler = Scheduler(jobs, session, sink, retries=0, flush_every=0.1)
    await run_for(scheduler, 2.6)

    per_job = Counter(path for path, _ in hits)
    assert set(per_job) == {f"/m{i}" for i in range(40)}
    assert all(2 <= n <= 3 for n in per_job.values()), per_job
    for path, at in hits:
        offset = jobs[int(path[2:])].offset
        phase_error = (at - offset) % 1.0
        assert phase_error < 0.2 or phase_error > 0.95, (path, phase_error)
    # Spread: no tenth of a second holds more than a third of the starts.
    per_slot = Counter(int((at % 1.0) * 10) for _, at in hits)
    assert max(per_slot.values()) < len(hits) / 3
    assert scheduler.stats.lateness_max < 0.2
    # Probes in flight when the scheduler stopped were cancelled: started, maybe seen, no result.
    assert scheduler.stats.started - 3 <= len(hits) <= scheduler.stats.started
    assert len(hits) - 3 <= len(sink.results) <= len(hits)
    assert all(r.ok for r in sink.results)
    # Every result arrived in batches, each in time order per job.
    for i in range(40):
        ats = [r.at for r in sink.results if r.monitor == f"m{i}"]
        assert ats == sorted(ats)


# ---------------------------------------------------------------- retries


async def test_failure_counts_only_after_every_retry_failed(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    url, hits = await answering(aiohttp_server, lambda n: 503)
    sink = Collected()
    scheduler = Scheduler(
        [job(url, interval=1.0)],
        session,
        sink,
        retries=2,
        retry_within=0.4,
        flush_every=0.05,
    )
    await scheduler.start()
    try:
        assert await wait_for(lambda: bool(sink.results), 5)
    finally:
        await scheduler.stop()
    (result,) = sink.results
    assert not result.ok and result.error is FailureClass.STATUS
    assert len(hits) == 3  # the probe and its two retries, before anything was reported
    # Spaced over retry_within, and the report is dated at the first failed attempt.
    assert 0.15 <= hits[1] - hits[0] <= 0.35 and 0.35 <= hits[2] - hits[0] <= 0.6
    assert abs(result.at.timestamp() - hits[0]) < 0.05
    assert scheduler.stats.retries == 2


async def test_a_retry_that_succeeds_reports_up_at_the_first_attempt(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    url, hits = await answering(aiohttp_server, lambda n: 503 if n == 1 else 200)
    sink = Collected()
    scheduler = Scheduler(
        [job(url, interval=1.0)],
        session,
        sink,
        retries=2,
        retry_within=0.2,
        flush_every=0.05,
    )
    await scheduler.start()
    try:
        assert await wait_for(lambda: bool(sink.results), 5)
    finally:
        await scheduler.stop()
    (result,) = sink.results
    assert result.ok
    assert abs(result.at.timestamp() - hits[0]) < 0.05
    assert len(hits) == 2 and scheduler.stats.unconfirmed == 1


async def test_while_down_failures_need_no_confirmation(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    url, _ = await answering(aiohttp_server, lambda n: 503)
    sink = Collected()
    scheduler = Scheduler(
        [job(url, interval=0.5)],
        session,
        sink,
        retries=1,
        retry_within=0.1,
        flush_every=0.05,
    )
    await scheduler.start()
    try:
        assert await wait_for(lambda: len(sink.results) >= 3, 5)
    finally:
        await scheduler.stop()
    assert not any(r.ok for r in sink.results)
    assert scheduler.stats.retries == 1  # only the first failure was retried
    ats = [r.at for r in sink.results]
    assert ats == sorted(ats)


# ---------------------------------------------------------------- limits


async def test_probe_timeout_holds_even_when_a_check_hangs() -> None:
    async def hang(target: ProbeTarget, session: object, timeout: float, region: str = ""):
        await asyncio.sleep(3600)  # ignores its timeout: the scheduler must not

    sink = Collected()
    target = ProbeTarget(vendor="v", monitor="app", url="http://x.invalid/", kind="http",
                         timeout=0.3)  # fmt: skip
    scheduler = Scheduler(
        [Job(target, "chicago", 1.0)],
        None,
        sink,
        checks={"http": hang},
        retries=0,
        grace=0.1,
        flush_every=0.05,
    )
    begun = time.monotonic()
    await scheduler.start()
    try:
        assert await wait_for(lambda: bool(sink.results), 3)
    finally:
        await scheduler.stop()
    (result,) = sink.results
    assert result.error is FailureClass.TIMEOUT and not result.ok
    assert 0.3 <= result.latency < 0.6
    assert time.monotonic() - begun < 1.0 + 0.6
    assert scheduler.stats.guard_timeouts == 1


async def test_slow_server_is_cut_at_the_timeout(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/", slow)
    server = await aiohttp_server(app)
    sink = Collected()
    scheduler = Scheduler(
        [job(str(server.make_url("/")), timeout=0.3)], session, sink, retries=0, flush_every=0.05
    )
    await scheduler.start()
    try:
        assert await wait_for(lambda: bool(sink.results), 3)
    finally:
        await scheduler.stop()
    (result,) = sink.results[:1]
    assert result.error is FailureClass.TIMEOUT
    assert result.latency < 0.3 + 0.25


async def test_concurrency_limit_holds_and_waiting_shows_as_lateness(
    aiohttp_server: ServerFactory,
) -> None:
    running = 0
    peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.25)
        running -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{name}", slow)
    server = await aiohttp_server(app)
    jobs = [job(str(server.make_url(f"/m{i}")), monitor=f"m{i}", interval=1.0) for i in range(20)]
    sink = Collected()
    session = probe_session(3)
    try:
        scheduler = Scheduler(jobs, session, sink, concurrency=3, retries=0, flush_every=0.1)
        await run_for(scheduler, 2.2)
    finally:
        await session.close()
    assert peak <= 3
    assert scheduler.stats.started >= 12
    # 20 probes of 0.25 s through 3 slots every second cannot all start on time.
    assert scheduler.stats.lateness_max > 0.2
    assert sum(scheduler.stats.lateness_buckets) == scheduler.stats.started


# ---------------------------------------------------------------- canary


async def test_failures_are_withheld_while_the_canary_is_unreachable(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async def fine(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    target_app, canary_app = web.Application(), web.Application()
    target_app.router.add_get("/", down)
    canary_app.router.add_get("/", fine)
    url = str((await aiohttp_server(target_app)).make_url("/"))
    canary = str((await aiohttp_server(canary_app)).make_url("/"))
    closed = f"http://127.0.0.1:{free_port()}/"  # nothing listens: connection refused

    def scheduler(sink: Collected, canary_url: str) -> Scheduler:
        return Scheduler(
            [job(url, interval=0.5)],
            session,
            sink,
            retries=1,
            retry_within=0.1,
            canaries={"chicago": canary_url},
            canary_every=0.5,
            flush_every=0.05,
        )

    blind, seeing = Collected(), Collected()
    blind_scheduler, seeing_scheduler = scheduler(blind, closed), scheduler(seeing, canary)
    await asyncio.gather(run_for(blind_scheduler, 1.6), run_for(seeing_scheduler, 1.6))
    # The site that cannot reach its canary reports nothing (the collector will call it
    # unknown); the site that can, reports the vendor down.
    assert blind.results == []
    assert blind_scheduler.stats.withheld >= 2
    assert blind_scheduler.canary_states() == {"chicago": False}
    assert seeing.results and not any(r.ok for r in seeing.results)
    assert seeing_scheduler.stats.withheld == 0
    assert seeing_scheduler.canary_states() == {"chicago": True}


# ---------------------------------------------------------------- output


async def test_a_failing_sink_keeps_results_in_order_and_stop_flushes() -> None:
    calls = 0
    delivered: list[ProbeResult] = []

    async def sink(results: list[ProbeResult]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        delivered.extend(results)

    async def instant(target: ProbeTarget, session: object, timeout: float, region: str = ""):
        return ProbeResult(target.vendor, target.monitor, region, datetime.now(UTC), True, 0.0)

    jobs = [
        Job(ProbeTarget("v", f"m{i}", "http://x.invalid/", "http", timeout=0.2), "chicago", 0.2)
        for i in range(5)
    ]
    scheduler = Scheduler(
        jobs, None, sink, checks={**CHECKS, "http": instant}, batch=7, flush_every=0.3
    )
    await run_for(scheduler, 1.0)
    assert scheduler.stats.sink_errors == 1
    assert len(delivered) == scheduler.stats.results >= 20  # nothing lost, stop flushed the rest
    for i in range(5):
        ats = [r.at for r in delivered if r.monitor == f"m{i}"]
        assert ats == sorted(ats)


async def test_stop_during_a_slow_sink_stores_each_result_once() -> None:
    # A store in progress when `stop` comes finishes in its thread whatever happens to the
    # coroutine awaiting it: the chunk must not be handed over a second time.
    delivered: list[ProbeResult] = []

    def store(results: list[ProbeResult]) -> None:
        time.sleep(0.3)
        delivered.extend(results)

    async def slow_sink(results: list[ProbeResult]) -> None:
        await asyncio.get_running_loop().run_in_executor(None, store, list(results))

    async def instant(target: ProbeTarget, session: object, timeout: float, region: str = ""):
        return ProbeResult(target.vendor, target.monitor, region, datetime.now(UTC), True, 0.0)

    jobs = [
        Job(ProbeTarget("v", f"m{i}", "http://x.invalid/", "http", timeout=0.2), "chicago", 0.2)
        for i in range(200)
    ]
    scheduler = Scheduler(
        jobs, None, slow_sink, checks={**CHECKS, "http": instant}, batch=100, flush_every=0.1
    )
    await scheduler.start()
    await asyncio.sleep(0.45)  # the flusher is inside the slow sink now
    await scheduler.stop()
    keys = Counter((r.monitor, r.at) for r in delivered)
    assert len(delivered) == scheduler.stats.results > 0
    assert max(keys.values()) == 1
