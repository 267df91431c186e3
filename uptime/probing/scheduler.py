"""The probe scheduler: every (monitor, region) on its own phase, one timer heap, bounded work.

* **Spread.** Each job probes every ``interval`` at a fixed phase: a hash of (vendor, monitor,
  region) picks an offset in ``[0, interval)`` of the wall clock, so thousands of monitors never
  fire together and a restart keeps each one's phase.
* **One heap.** One dispatcher task pops due entries from a heap and starts one short task per
  probe; nothing sleeps per monitor. ``lateness`` (actual start − scheduled start) is recorded
  for every probe and retry.
* **Bounded.** At most ``concurrency`` probes run at once (the dispatcher waits for a free slot,
  which shows up as lateness), and each probe is cut off at its timeout plus a small grace even
  if a check misbehaves. A job whose previous probe (or its retries) is still running when its
  tick comes probes as soon as that ends: a probe hanging until its timeout, equal to the
  interval, must not halve the probing rate, or a recovery would be seen up to two intervals
  late. Ticks owed that way do not pile up: at most one waits.
* **Confirmed failures.** A failure after an up (or no) result is retried ``retries`` times,
  spaced evenly over ``retry_within`` from the first attempt's start (or as soon as the previous
  attempt ended, if later). It is reported only when every retry failed, with ``at`` = the first
  failed attempt's start (timing rule: a down interval starts at the first failed probe); if a
  retry succeeds, an up result is reported with ``at`` = the first attempt's start. While a job
  is already down, failures need no confirmation. Nothing is reported while a failure is being
  confirmed: the collector's staleness limit allows for it (``uptime.probing.jobs.stale_limits``).
* **Canary self-check.** A region with a canary URL probes it every ``canary_every`` seconds.
  A failure is reported only if the canary answered in a check that started no earlier than
  the failure's last attempt (less ``canary_slack``, 1 s; a fresh check is made when needed,
  shared by all failures waiting for it); otherwise the failure is
  *withheld*: the region sends nothing for that monitor, and the collector turns the region
  *unknown* once no result came for 2 × interval + timeout. Successes are always reported (the
  site did reach the vendor). Storage needs no extra state for this, and a blind site never
  claims a vendor outage.
* **Wall clock steps.** Timers run on the monotonic clock, so a step of the wall clock (NTP
  correcting it by minutes) neither bunches nor starves probes; results are stamped with the wall
  clock as it is, so a step moves their ``at`` by its size (docs/reliability.md, "Time itself").
  Each step of at least ``WALL_STEP`` seconds is logged as one warning, forward or back and by
  how much, and counted (``wall_steps``).
* **Batched output.** Results go to ``sink`` in lists of at most ``batch``, every
  ``flush_every`` seconds or as soon as a batch is full; a failing sink keeps its results for the
  next flush. A sink call is never cancelled half-way: it may already have stored the chunk, so
  only its own failure puts the chunk back in the buffer.

Defaults are ``uptime.config.Probing``'s (vendors.yaml's ``probing:``), written once there.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import aiohttp

from probes import CHECKS
from probes.evidence import timed_out
from probes.http import new_session
from probes.result import FailureClass, ProbeResult, ProbeTarget, outcome
from uptime.config import Probing
from uptime.probing.jobs import PROBE_GRACE, Job, canary_target

log = logging.getLogger(__name__)


Sink = Callable[[list[ProbeResult]], Awaitable[object] | object]


Check = Callable[..., Awaitable[ProbeResult]]


_TICK, _RETRY, _OWED = 0, 1, 2

#: Where the keyword defaults of :class:`Scheduler` come from.
_DEFAULTS = Probing()

#: A region's canary is checked at least this often (seconds), more often for shorter intervals.
CANARY_EVERY_MAX = 10.0

#: A canary check's timeout (seconds) at most; never longer than the time between checks.
CANARY_TIMEOUT_MAX = 5.0

#: A canary check that started this long (seconds) before a failure still vouches for it.
CANARY_SLACK = 1.0


#: Upper bounds (seconds) of the lateness histogram's buckets; the last bucket is "more".
LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0)


#: How late the dispatcher wakes on purpose (see ``_sleep_until``).
TIMER_SLACK = 0.001

#: A change (seconds) of the wall clock against the monotonic one between two looks (about every
#: ``flush_every``) that counts as a step. NTP slews at most 0.5 ms a second; it steps larger
#: errors, by default those over 128 ms: anything past a second is a step worth a warning.
WALL_STEP = 1.0


def probe_session(concurrency: int, reuse_connections: bool = False) -> aiohttp.ClientSession:
    """The one ClientSession of an agent: at most ``concurrency`` connections; by default a
    fresh connection per probe (DNS, TCP and TLS exercised every time, as blackbox_exporter)."""
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=0, force_close=not reuse_connections
    )
    # Each check enforces its own deadline; aiohttp's default timeout would add timers per probe.
    return new_session(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None, sock_connect=None)
    )


@dataclass
class SchedulerStats:
    """Counters for logs, the status API and the benchmark."""

    started: int = 0  # probe attempts started (retries included)
    retries: int = 0  # retry attempts started
    results: int = 0  # results handed to the sink's buffer
    unconfirmed: int = 0  # failures a retry contradicted
    withheld: int = 0  # failures dropped because the region's canary failed
    skipped: int = 0  # ticks skipped: we were a whole interval late, or one was already owed
    deferred: int = 0  # ticks probed late because the job's previous probe was still running
    guard_timeouts: int = 0  # probes cut off by the scheduler's own deadline
    sink_errors: int = 0
    dropped: int = 0  # results dropped because the sink kept failing and the buffer was full
    wall_steps: int = 0  # steps of the wall clock seen (WALL_STEP or more)
    lateness_max: float = 0.0
    lateness_sum: float = 0.0
    lateness_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BUCKETS) + 1))

    def note_lateness(self, late: float) -> None:
        self.lateness_sum += late
        if late > self.lateness_max:
            self.lateness_max = late
        for index, bound in enumerate(LATENESS_BUCKETS):
            if late <= bound:
                self.lateness_buckets[index] += 1
                return
        self.lateness_buckets[-1] += 1

    def as_dict(self) -> dict[str, object]:
        data = {k: v for k, v in self.__dict__.items() if k != "lateness_buckets"}
        data["lateness_buckets"] = {
            **{
                f"le_{bound:g}": n
                for bound, n in zip(LATENESS_BUCKETS, self.lateness_buckets[:-1], strict=True)
            },
            "more": self.lateness_buckets[-1],
        }
        return data


@dataclass
class _Canary:
    target: ProbeTarget
    last_start: float = -math.inf  # loop time the last completed check started
    last_ok: bool | None = None
    inflight: asyncio.Task[bool] | None = None
    inflight_start: float = -math.inf


class Scheduler:
    """Probes ``jobs`` until stopped; results go to ``sink`` in batches.

    ``canaries`` maps a region to its self-check URL (None: the region has none). ``wall`` is
    the wall clock (seconds since the epoch) used to place phases; tests may replace it.
    """

    @classmethod
    def from_probing(
        cls,
        jobs: Sequence[Job],
        sink: Sink,
        probing: Probing,
        *,
        checks: Mapping[str, Check] = CHECKS,
        canaries: Mapping[str, str | None] | None = None,
    ) -> Scheduler:
        """A scheduler with vendors.yaml's ``probing:`` settings and an HTTP session of its own
        (``scheduler.session``: close it after :meth:`stop`)."""
        return cls(
            jobs,
            probe_session(probing.concurrency, probing.reuse_connections),
            sink,
            checks=checks,
            concurrency=probing.concurrency,
            retries=probing.retries,
            retry_within=probing.retry_within.total_seconds(),
            canaries=canaries,
            batch=probing.batch,
            flush_every=probing.flush_every.total_seconds(),
        )

    def __init__(
        self,
        jobs: Sequence[Job],
        session: aiohttp.ClientSession | None,
        sink: Sink,
        *,
        checks: Mapping[str, Check] = CHECKS,
        concurrency: int = _DEFAULTS.concurrency,
        retries: int = _DEFAULTS.retries,
        retry_within: float = _DEFAULTS.retry_within.total_seconds(),
        canaries: Mapping[str, str | None] | None = None,
        canary_every: float | None = None,
        canary_timeout: float | None = None,
        canary_slack: float = CANARY_SLACK,
        batch: int = _DEFAULTS.batch,
        flush_every: float = _DEFAULTS.flush_every.total_seconds(),
        grace: float = PROBE_GRACE,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if concurrency < 1 or batch < 1 or retries < 0:
            raise ValueError("concurrency and batch must be at least 1, retries at least 0")
        self.jobs = list(jobs)
        self.session = session
        self.sink = sink
        self.checks = dict(checks)
        self.retries = retries
        self.retry_within = retry_within
        self.batch = batch
        self.flush_every = flush_every
        self.grace = grace
        self.wall = wall
        self.stats = SchedulerStats()
        smallest = min((j.interval for j in self.jobs), default=CANARY_EVERY_MAX)
        self.canary_every = canary_every or min(CANARY_EVERY_MAX, smallest)
        # A canary check that started this long before a failure still vouches for it: bounds
        # the canary's load to about one check per second however many monitors fail.
        self.canary_slack = canary_slack
        timeout = canary_timeout or min(CANARY_TIMEOUT_MAX, self.canary_every)
        self._canaries = {
            region: _Canary(canary_target(region, url, timeout))
            for region, url in (canaries or {}).items()
            if url
        }
        n = len(self.jobs)
        self._busy = [False] * n  # a probe of the job (or its retries) is running
        self._owed = [False] * n  # a tick came while busy: probe as soon as the job is free
        self._down = [False] * n  # the last reported result was a failure
        self._first_fail: dict[int, tuple[ProbeResult, float, int]] = {}  # result, start, tries
        self._heap: list[tuple[float, int, int, int]] = []
        self._counter = itertools.count()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._buffer: list[ProbeResult] = []
        self._delivery: asyncio.Task[bool] | None = None  # the sink call in progress
        self._buffer_limit = max(200 * batch, 100_000)
        self._full = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._wakeup: asyncio.Future[None] | None = None
        self._wake_at: float | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._canary_ticker: asyncio.Task[None] | None = None
        self._wall_offset: float | None = None  # wall − monotonic at the last look

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Place every job on its phase and start the dispatcher, flusher and canary checks."""
        loop = asyncio.get_running_loop()
        wall_now, mono_now = self.wall(), loop.time()
        self._wall_offset = wall_now - mono_now
        for index, job in enumerate(self.jobs):
            offset = job.offset
            cycles = math.ceil((wall_now - offset) / job.interval)
            due_wall = cycles * job.interval + offset
            self._push(mono_now + (due_wall - wall_now), index, _TICK)
        self._dispatcher = loop.create_task(self._dispatch(), name="uptime-scheduler")
        self._flusher = loop.create_task(self._flush_loop(), name="uptime-flusher")
        if self._canaries:
            self._canary_ticker = loop.create_task(self._canary_loop(), name="uptime-canaries")

    async def stop(self) -> None:
        """Stop probing (in-flight probes are cancelled) and hand what is buffered to the sink."""
        background = [self._dispatcher, self._canary_ticker]
        pending = [t for t in (*background, *self._tasks) if t is not None]
        pending += [c.inflight for c in self._canaries.values() if c.inflight is not None]
        if self._flusher is not None:
            pending.append(self._flusher)  # a cancelled flush leaves its sink call running
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._dispatcher = self._flusher = self._canary_ticker = None
        await self.flush()

    # ------------------------------------------------------------------ the heap

    def _push(self, due: float, index: int, kind: int) -> None:
        heapq.heappush(self._heap, (due, next(self._counter), index, kind))
        wakeup = self._wakeup
        if (
            wakeup is not None
            and not wakeup.done()
            and (self._wake_at is None or due < self._wake_at)
        ):
            wakeup.set_result(None)

    async def _sleep_until(self, when: float | None) -> None:
        loop = asyncio.get_running_loop()
        wakeup = self._wakeup = loop.create_future()
        self._wake_at = when
        handle = (
            # uvloop's timers have millisecond resolution and fire a shorter delay at once: wake
            # a millisecond late rather than spin until the due time.
            loop.call_at(when + TIMER_SLACK, lambda: wakeup.done() or wakeup.set_result(None))
            if when is not None
            else None
        )
        try:
            await wakeup
        finally:
            if handle is not None:
                handle.cancel()
            self._wakeup = None

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        heap = self._heap
        while True:
            if not heap:
                await self._sleep_until(None)
                continue
            now = loop.time()
            due = heap[0][0]
            if due > now:
                await self._sleep_until(due)
                continue
            due, _, index, kind = heapq.heappop(heap)
            if kind == _TICK:
                interval = self.jobs[index].interval
                following = due + interval
                if following <= now:  # we fell a whole cycle behind: skip, keep the phase
                    missed = math.ceil((now - following) / interval)
                    following += missed * interval
                    if following <= now:
                        following += interval
                        missed += 1
                    self.stats.skipped += missed
                self._push(following, index, _TICK)
                if self._busy[index]:
                    if self._owed[index]:
                        self.stats.skipped += 1
                    else:
                        self._owed[index] = True
                        self.stats.deferred += 1
                    continue
                self._busy[index] = True
            await self._slots.acquire()
            task = loop.create_task(self._attempt(index, due, kind))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ probing

    async def _attempt(self, index: int, scheduled: float, kind: int) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.stats.note_lateness(max(0.0, started - scheduled))
        self.stats.started += 1
        if kind == _RETRY:
            self.stats.retries += 1
        job = self.jobs[index]
        try:
            result = await self.probe(job.target, job.region)
        finally:
            self._slots.release()
        try:
            await self._settle(index, result, started)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("settling a probe result failed")
            self._free(index)

    def _free(self, index: int) -> None:
        """The job's probe (and its retries) ended: run the tick it owes, if any, now."""
        if self._owed[index]:
            self._owed[index] = False
            self._push(asyncio.get_running_loop().time(), index, _OWED)  # still busy
        else:
            self._busy[index] = False

    async def probe(self, target: ProbeTarget, region: str) -> ProbeResult:
        """One check, never longer than its timeout plus the grace, never raising."""
        at = datetime.now(UTC)
        begun = perf_counter()
        check = self.checks[target.kind]
        try:
            async with asyncio.timeout(target.timeout + self.grace):
                return await check(target, self.session, target.timeout, region)
        except TimeoutError:
            self.stats.guard_timeouts += 1
            error, message = FailureClass.TIMEOUT, timed_out(target.timeout)
        except Exception as exc:  # a check must not raise; if one does, it is a failed probe
            error, message = FailureClass.CONNECT, f"probe error: {type(exc).__name__}: {exc}"
        return outcome(target, region, at, perf_counter() - begun, error, message)

    async def _settle(self, index: int, result: ProbeResult, started: float) -> None:
        region = self.jobs[index].region
        pending = self._first_fail.get(index)
        if result.ok:
            if pending is not None:  # a retry answered: the failure is not confirmed
                del self._first_fail[index]
                self.stats.unconfirmed += 1
                result = replace(result, at=pending[0].at)
            self._down[index] = False
            self._emit(result)
            self._free(index)
            return
        if pending is None:
            if self._canary_known_down(region):
                self._withhold(index)
                return
            if not self._down[index] and self.retries > 0:
                self._first_fail[index] = (result, started, 0)
                self._schedule_retry(index, started, 1)
                return
            confirmed, since = result, started
        else:
            first, first_started, tries = pending
            tries += 1
            if tries < self.retries:
                self._first_fail[index] = (first, first_started, tries)
                self._schedule_retry(index, first_started, tries + 1)
                return
            del self._first_fail[index]
            # The canary must vouch for the last attempt, not the first: a check from before
            # the retries says nothing of a network that went down since.
            confirmed, since = first, started
        if not await self._canary_ok(region, since):
            self._withhold(index)
            return
        self._down[index] = True
        self._emit(confirmed)
        self._free(index)

    def _schedule_retry(self, index: int, first_started: float, number: int) -> None:
        now = asyncio.get_running_loop().time()
        due = first_started + number * self.retry_within / self.retries
        self._push(max(due, now), index, _RETRY)

    def _withhold(self, index: int) -> None:
        self.stats.withheld += 1
        self._free(index)

    # ------------------------------------------------------------------ canaries

    def _canary_known_down(self, region: str) -> bool:
        canary = self._canaries.get(region)
        return canary is not None and canary.last_ok is False

    async def _canary_ok(self, region: str, since: float) -> bool:
        """Did the region reach its canary in a check started at or after ``since``?"""
        canary = self._canaries.get(region)
        if canary is None:
            return True
        since -= self.canary_slack
        if canary.last_ok is not None and canary.last_start >= since:
            return canary.last_ok
        if canary.inflight is None or canary.inflight_start < since:
            self._check_canary(region)
        assert canary.inflight is not None
        return await asyncio.shield(canary.inflight)

    def _check_canary(self, region: str) -> asyncio.Task[bool]:
        canary = self._canaries[region]
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def run() -> bool:
            result = await self.probe(canary.target, region)
            if start >= canary.last_start:
                if result.ok != canary.last_ok:
                    if result.ok and canary.last_ok is False:
                        log.info("region %s: canary %s reachable again", region, canary.target.url)
                    elif not result.ok:
                        log.warning(
                            "region %s: canary %s unreachable (%s); failures seen from this "
                            "region are withheld, so it counts as unknown, not down",
                            region,
                            canary.target.url,
                            result.message,
                        )
                canary.last_start, canary.last_ok = start, result.ok
            return result.ok

        task = loop.create_task(run(), name=f"uptime-canary-{region}")
        canary.inflight, canary.inflight_start = task, start
        return task

    async def _canary_loop(self) -> None:
        while True:
            for region, canary in self._canaries.items():
                if canary.inflight is None or canary.inflight.done():
                    self._check_canary(region)
            await asyncio.sleep(self.canary_every)

    def canary_states(self) -> dict[str, bool | None]:
        """Each region's last canary outcome (None: not checked yet)."""
        return {region: canary.last_ok for region, canary in self._canaries.items()}

    # ------------------------------------------------------------------ output

    def _emit(self, result: ProbeResult) -> None:
        self._buffer.append(result)
        self.stats.results += 1
        if len(self._buffer) >= self.batch:
            self._full.set()

    def _check_wall(self) -> None:
        """Log (once per step) a step of the wall clock against the monotonic one."""
        offset = self.wall() - asyncio.get_running_loop().time()
        last, self._wall_offset = self._wall_offset, offset
        if last is None or abs(offset - last) < WALL_STEP:
            return
        step = offset - last
        self.stats.wall_steps += 1
        if step > 0:
            log.warning(
                "wall clock stepped forward by %s: results from now on are stamped that much "
                "later, and the time skipped may read as unknown (docs/timing.md)",
                _span(step),
            )
        else:
            log.warning(
                "wall clock stepped back by %s: results from now on are stamped that much "
                "earlier, and downtime near the step may be recorded off by up to that much "
                "(docs/timing.md)",
                _span(-step),
            )

    async def _flush_loop(self) -> None:
        while True:
            self._check_wall()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # lands as the event fires, and the flusher would then outlive `stop`.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_every):
                    await self._full.wait()
            self._full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Hand every buffered result to the sink, ``batch`` at a time, in order.

        Cancelling a flush does not cancel the sink call in progress (the sink may store the
        chunk whatever happens to the caller): the next flush waits for it first.
        """
        async with self._flush_lock:
            while True:
                if self._delivery is None:
                    if not self._buffer:
                        return
                    chunk = self._buffer[: self.batch]
                    del self._buffer[: self.batch]
                    self._delivery = asyncio.ensure_future(self._deliver(chunk))
                delivery = self._delivery
                try:
                    delivered = await asyncio.shield(delivery)
                finally:
                    if delivery.done():
                        self._delivery = None
                if not delivered:
                    return

    async def _deliver(self, chunk: list[ProbeResult]) -> bool:
        """Hand one chunk to the sink; on failure put it back at the buffer's head."""
        try:
            outcome = self.sink(chunk)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            self.stats.sink_errors += 1
            log.exception("storing %d results failed; keeping them for later", len(chunk))
            self._buffer[:0] = chunk
            excess = len(self._buffer) - self._buffer_limit
            if excess > 0:
                del self._buffer[:excess]
                self.stats.dropped += excess
                log.error("dropped the %d oldest buffered results", excess)
            return False
        return True


def _span(seconds: float) -> str:
    """``1h 02m 03.4s``, ``5m 00.0s``, ``2.5s``: a step's size for the log."""
    minutes, secs = divmod(round(seconds, 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:04.1f}s"
    if minutes:
        return f"{minutes}m {secs:04.1f}s"
    return f"{secs:.1f}s"
