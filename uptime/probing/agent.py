"""A remote probe site: probes its region's monitors and sends the results to the collector.

Every batch the scheduler produces gets the next sequence numbers and is written to a local
SQLite *spool* before anything is sent. A sender posts the oldest spooled results to
``POST /api/v1/results`` and deletes them only once the collector has acknowledged them (2xx).
While the collector is unreachable (connection error, timeout, 5xx, 408, 429) the spool grows
and the sender retries with exponential backoff, waiting at least what a ``Retry-After`` of the
answer asks (a 429 of the collector's rate limit has one); when the collector is back it replays in
sequence order. The collector ingests idempotently by (agent, sequence), so a batch sent twice
(acknowledgement lost, agent restarted) counts once. Any other 4xx (wrong token, unknown
region, a body the collector refuses) stops the agent with a clear message: retrying would not
help, and the spool keeps every result for when the cause is fixed. One exception: results the
collector refuses as stamped in the future (more than ``probing.max_clock_skew`` past its
clock) that are in the future by the agent's own clock too were stamped while that clock was
wrong; they are dropped from the spool (with a warning) rather than stopping the agent for good.

The spool holds at most ``AgentOptions.spool_max`` bytes (``agent --spool-max``): once full, new
results are not spooled (the oldest are kept), with a warning; the count goes to the collector
in every body (``spool_dropped``), which exposes it as a metric. A spool that cannot be written
at all (disk full, read-only) stops the agent with one line saying so, exit status 1.

The agent id is ``<region>-<12 hex digits>``, made once and kept in the spool file with the next
sequence number, so a restarted agent is the same agent and continues its numbering.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import random
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from credits.intervals import parse_instant
from probes import CHECKS
from probes.result import ProbeResult
from uptime.config import Config, Probing
from uptime.errors import UptimeLedgerError
from uptime.probing.jobs import Job, config_jobs
from uptime.probing.scheduler import Check, Scheduler
from uptime.probing.spool import DEFAULT_SPOOL_MAX, MAX_POST, Spool
from uptime.probing.wire import RESULTS_PATH, encode_result
from uptime.store.database import write_failure
from uptime.store.writer import WriterThread

log = logging.getLogger(__name__)


#: Status codes that mean "not now" rather than "never".
RETRY_STATUSES = frozenset({408, 429})

#: The longest ``Retry-After`` the agent honours (a longer one is read as this): its spool
#: keeps everything meanwhile, but an agent that waits for hours looks dead.
LONGEST_RETRY_AFTER = 300.0


class AgentRefused(UptimeLedgerError):
    """The collector refused the agent for good (4xx): log it, stop, keep the spool."""


class SpoolUnwritable(UptimeLedgerError):
    """The agent cannot write its spool (disk full, read-only...): it stops rather than go on
    probing results it can keep nowhere."""


def results_url(collector: str) -> str:
    """``http://host:port`` (or the full results URL) → the results endpoint."""
    base = collector.rstrip("/")
    return base if base.endswith(RESULTS_PATH) else base + RESULTS_PATH


@dataclass
class AgentOptions:
    """How an agent talks to its collector."""

    backoff_min: float = 1.0
    backoff_max: float = 30.0
    post_timeout: float = 30.0
    max_post: int = MAX_POST
    drain_on_stop: float = 5.0  # seconds to try sending what is spooled when stopping
    spool_max: int = DEFAULT_SPOOL_MAX  # bytes of data the spool may hold


class Agent:
    """One region's probes, spool and uplink."""

    def __init__(
        self,
        config: Config,
        region: str,
        collector: str,
        token: str,
        spool: str | Path,
        *,
        jobs: list[Job] | None = None,
        probing: Probing | None = None,
        checks: Mapping[str, Check] = CHECKS,
        options: AgentOptions | None = None,
    ) -> None:
        config.region(region)  # KeyError naming the configured regions
        self.config = config
        self.region = region
        self.url = results_url(collector)
        self.token = token
        self.spool_path = Path(spool)
        self.jobs = config_jobs(config, [region]) if jobs is None else jobs
        self.probing = probing or config.probing
        self.checks = checks
        self.options = options or AgentOptions()
        self.agent_id = ""
        self.scheduler: Scheduler | None = None
        self.sent = 0  # results the collector acknowledged
        self._worker: WriterThread[Spool] = WriterThread("uptime-spool")
        self._wake = asyncio.Event()
        self._collector_down_since: datetime | None = None
        self._retry_after = 0.0  # seconds the collector's last refusal asked to wait
        self._spool: Spool | None = None  # used in the worker's thread; read here for counts
        self._full_since: int | None = None  # spool_dropped when the spool last became full
        self._unwritable: SpoolUnwritable | None = None
        self._unspooled = 0  # results probed after the spool failed
        self._failed = asyncio.Event()

    async def _spool_batch(self, results: list[ProbeResult]) -> None:
        if self._unwritable is not None:
            self._unspooled += len(results)
            return
        try:
            first = await self._worker.call(Spool.append, [encode_result(r) for r in results])
        except (sqlite3.Error, OSError) as error:
            reason = write_failure(error, self.spool_path) or "cannot be written"
            self._unspooled += len(results)
            self._unwritable = SpoolUnwritable(
                f"agent {self.agent_id} cannot write its spool {self.spool_path}: {reason} "
                f"({error}); stopping rather than probing results it cannot keep"
            )
            self._failed.set()
            return
        if first is None:
            self._spool_full(len(results))
        elif self._full_since is not None:
            log.warning(
                "agent %s: the spool %s is below its cap again; %d results were not spooled "
                "while it was full",
                self.agent_id,
                self.spool_path,
                self.spool_dropped - self._full_since,
            )
            self._full_since = None
        self._wake.set()

    @property
    def spool_dropped(self) -> int:
        """Results not spooled because the spool was full, ever: the spool file's count."""
        return 0 if self._spool is None else self._spool.dropped

    def _spool_full(self, count: int) -> None:
        if self._full_since is None:
            self._full_since = self.spool_dropped - count  # the spool has counted them already
            log.warning(
                "agent %s: the spool %s is full (--spool-max %d bytes): new results are not "
                "spooled (the oldest are kept) until the collector takes some; the collector "
                "counts them (uptime_ledger_agent_spool_dropped_results_total)",
                self.agent_id,
                self.spool_path,
                self.options.spool_max,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Probe and send until ``stop`` is set; raises :class:`AgentRefused` on a 4xx."""
        spool = await self._worker.open(
            lambda: Spool(self.spool_path, self.region, self.options.spool_max)
        )
        self._spool = spool
        self.agent_id = spool.agent_id
        canary = self.config.region(self.region).canary
        self.scheduler = Scheduler.from_probing(
            self.jobs,
            self._spool_batch,
            self.probing,
            checks=self.checks,
            canaries={self.region: canary},
        )
        uplink = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.options.post_timeout),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        waiting = await self._worker.call(Spool.pending)
        log.info(
            "agent %s: %d monitors of region %s, collector %s, spool %s (%d results waiting)",
            self.agent_id,
            len(self.jobs),
            self.region,
            self.url,
            self.spool_path,
            waiting,
        )
        self._wake.set()
        sender = asyncio.create_task(self._send_forever(uplink), name="uptime-agent-sender")
        stopper = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(self._failed.wait())
        try:
            await self.scheduler.start()
            await asyncio.wait({sender, stopper, failed}, return_when=asyncio.FIRST_COMPLETED)
            if sender.done():
                sender.result()  # AgentRefused (or a bug) propagates
        finally:
            stopper.cancel()
            failed.cancel()
            refused = sender.done() and not sender.cancelled() and sender.exception() is not None
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgentRefused):
                await sender
            await self.scheduler.stop()  # the last results go to the spool
            if self._unwritable is not None:
                refused = True  # the spool may not even be readable
            if not refused and self.options.drain_on_stop > 0:
                with contextlib.suppress(TimeoutError, AgentRefused):
                    await asyncio.wait_for(self._drain(uplink), self.options.drain_on_stop)
            with contextlib.suppress(sqlite3.Error, OSError):
                left = await self._worker.call(Spool.pending)
                if left:
                    log.info(
                        "agent %s: %d results stay spooled for the next start",
                        self.agent_id,
                        left,
                    )
            await uplink.close()
            await self.scheduler.session.close()
            await self._worker.close(Spool.close)
        if self._unwritable is not None:
            self._unwritable.args = (
                f"{self._unwritable} ({self._unspooled} results probed since were not kept)",
            )
            raise self._unwritable

    async def _drain(self, uplink: aiohttp.ClientSession) -> None:
        while await self._send_one(uplink) is True:
            pass

    async def _hello(self, uplink: aiohttp.ClientSession) -> None:
        """An empty batch first: a wrong token or region is refused at once, not at the first
        result (which may be minutes away, or never while every failure is withheld)."""
        next_seq = await self._worker.call(lambda spool: spool.next_seq)
        outcome = await self._post(uplink, next_seq, "[]")
        if outcome is not None:
            status, reply = outcome
            if 200 <= status < 300:
                log.info("agent %s: the collector accepted the agent", self.agent_id)
            else:
                self._judge(status, reply)

    async def _send_forever(self, uplink: aiohttp.ClientSession) -> None:
        await self._hello(uplink)
        if self._retry_after:  # the hello was answered "not now"
            await asyncio.sleep(self._retry_after)
            self._retry_after = 0.0
        delay = self.options.backoff_min
        while True:
            outcome = await self._send_one(uplink)
            if outcome is True:
                delay = self.options.backoff_min
            elif outcome is None:
                self._wake.clear()
                await self._wake.wait()
            else:
                wait = max(delay * random.uniform(0.8, 1.2), self._retry_after)
                self._retry_after = 0.0
                await asyncio.sleep(wait)
                delay = min(delay * 2, self.options.backoff_max)

    async def _send_one(self, uplink: aiohttp.ClientSession) -> bool | None:
        """Send the oldest spooled results: True if acknowledged, None if nothing to send,
        False if the collector cannot take them now."""
        item = await self._worker.call(Spool.oldest, self.options.max_post)
        if item is None:
            return None
        first_seq, count, results = item
        outcome = await self._post(uplink, first_seq, results)
        if outcome is None:
            return False
        status, reply = outcome
        if not 200 <= status < 300:
            if status == 422 and await self._drop_future(first_seq, count, results):
                return True  # send the rest at once
            self._judge(status, reply)
            return False
        await self._worker.call(Spool.acknowledge, first_seq + count - 1)
        self.sent += count
        if self._collector_down_since is not None:
            log.warning(
                "agent %s: collector reachable again (unreachable since %s); replaying "
                "the spool in order",
                self.agent_id,
                self._collector_down_since.isoformat(timespec="seconds"),
            )
            self._collector_down_since = None
        return True

    async def _drop_future(self, first_seq: int, count: int, results: str) -> bool:
        """Drop the spooled results stamped past this agent's own clock (plus the skew the
        collector allows): they were stamped while the clock was wrong, and no collector will
        take them. False when there are none (the clock is wrong now, or the 422 is another)."""
        horizon = datetime.now(UTC) + self.probing.max_clock_skew
        items = json.loads(results)
        kept = [item for item in items if parse_instant(item["at"]) <= horizon]
        if len(kept) == len(items):
            return False
        await self._worker.call(Spool.replace, first_seq, count, kept)
        log.warning(
            "agent %s: dropped %d spooled results stamped in the future (by a clock since "
            "corrected), which the collector refuses",
            self.agent_id,
            len(items) - len(kept),
        )
        return True

    async def _post(
        self, uplink: aiohttp.ClientSession, first_seq: int, results: str
    ) -> tuple[int, str] | None:
        """POST one batch; (status, body text), or None when the collector is unreachable."""
        body = (
            f'{{"agent":{json.dumps(self.agent_id)},"region":{json.dumps(self.region)},'
            f'"first_seq":{first_seq},"spool_dropped":{self.spool_dropped},"results":{results}}}'
        )
        try:
            async with uplink.post(
                self.url, data=body.encode(), headers={"Content-Type": "application/json"}
            ) as resp:
                self._retry_after = retry_after(resp.headers.get("Retry-After"))
                return resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._collector_unreachable(f"{type(exc).__name__}: {exc}")
            return None

    def _judge(self, status: int, reply: str) -> None:
        """A refused POST: retry later (5xx, 408, 429) or stop for good (any other 4xx)."""
        message = _error_message(reply)
        if status >= 500 or status in RETRY_STATUSES:
            self._collector_unreachable(f"HTTP {status}: {message}")
            return
        raise AgentRefused(
            f"the collector at {self.url} refused agent {self.agent_id} of region "
            f"{self.region}: HTTP {status}: {message}"
        )

    def _collector_unreachable(self, why: str) -> None:
        if self._collector_down_since is None:
            self._collector_down_since = datetime.now(UTC)
            log.warning(
                "agent %s: collector %s unreachable (%s); spooling to %s and retrying",
                self.agent_id,
                self.url,
                why,
                self.spool_path,
            )


def retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` asks to wait (delay-seconds or an HTTP date), at most
    :data:`LONGEST_RETRY_AFTER`; 0 without one or for one that cannot be read."""
    if value is None:
        return 0.0
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return 0.0
        if when.tzinfo is None:
            return 0.0
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), LONGEST_RETRY_AFTER)


def _error_message(text: str) -> str:
    try:
        payload = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "no details"
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return payload["error"]
    return text.strip()[:200]
