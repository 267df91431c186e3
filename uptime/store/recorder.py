"""The recorder: storage behind its one writer thread, and what ingest checks results against."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from probes.result import ProbeResult
from uptime.config import Config
from uptime.probing.jobs import stale_limits
from uptime.probing.wire import Batch
from uptime.store.database import StorageError, StorageUnwritable, write_failure
from uptime.store.results import PRUNE_CHUNK
from uptime.store.states import MAX_CLOCK_SKEW, News, State
from uptime.store.storage import Storage
from uptime.store.writer import WriterThread

log = logging.getLogger(__name__)

#: (vendor, monitor, region) → (state, since, last result)
RegionStates = Mapping[tuple[str, str, str], tuple[State, datetime, datetime]]

#: Label stored with results of in-process agents.
LOCAL_AGENT = "local"


class Recorder:
    """Storage behind one writer thread, plus what ingest checks results against.

    ``db`` is the database's path, or a callable making its :class:`Storage` (a test's, with a
    small page limit...); either way the storage's state tracker uses ``max_clock_skew``, the
    limit ingest checks results against, so the two never disagree."""

    def __init__(
        self,
        db: str | Path | Callable[[], Storage],
        stale_after: Mapping[tuple[str, str], timedelta],
        region_monitors: Mapping[str, set[tuple[str, str]]],
        max_clock_skew: timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.max_clock_skew = max_clock_skew
        #: the news of the storage behind the writer thread (the same whichever storage it
        #: opens): which vendors' probes saw something new (``uptime.store.states.News``)
        self.news = News()
        self._open = lambda: _sharing(
            db() if callable(db) else Storage(db, max_clock_skew=max_clock_skew),
            max_clock_skew,
            self.news,
        )
        self.path = None if callable(db) else Path(db)
        #: why the database cannot be written now (None while it can)
        self.unwritable: str | None = None
        self.write_failures = 0
        self._reopen = False
        #: (region, agent) → results that agent could not spool (its spool was full)
        self.spool_dropped: dict[tuple[str, str], int] = {}
        self.stale_after = dict(stale_after)
        self.region_monitors = {k: set(v) for k, v in region_monitors.items()}
        self._worker: WriterThread[Storage] = WriterThread("uptime-writer")
        self.ingested = 0
        #: called on the event loop with every batch of new results once it is stored (the
        #: probe metrics count them)
        self.watchers: list[Callable[[Sequence[ProbeResult]], None]] = []

    @classmethod
    def for_config(cls, config: Config, db: str | Path | Callable[[], Storage]) -> Recorder:
        monitors: dict[str, set[tuple[str, str]]] = {r: set() for r in config.region_ids}
        for vendor in config.vendors:
            for monitor in vendor.monitors:
                for region in monitor.regions:
                    monitors[region].add((vendor.id, monitor.id))
        return cls(db, stale_limits(config), monitors, config.probing.max_clock_skew)

    async def open(self) -> None:
        await self._worker.open(self._open)

    async def close(self) -> None:
        await self._worker.close(Storage.close)

    async def ingest(self, results: Sequence[ProbeResult]) -> int:
        """Store an in-process agent's batch in one transaction; returns how many results were
        new. Results stamped more than ``max_clock_skew`` past the clock (it stepped back while
        they were probed) are dropped, as ``POST /api/v1/results`` refuses them."""
        horizon = datetime.now(UTC) + self.max_clock_skew
        kept = [r for r in results if r.at <= horizon]
        if len(kept) < len(results):
            log.warning(
                "dropped %d results stamped more than %s past the clock (did it step back?)",
                len(results) - len(kept),
                self.max_clock_skew,
            )
        new = await self._writing(Storage.record_results, kept, self.stale_after, LOCAL_AGENT)
        self.ingested += new
        self._tell(kept)
        return new

    async def ingest_batch(self, batch: Batch) -> tuple[int, int, int]:
        """Store a remote agent's batch; returns (new, ignored, the agent's last sequence).
        Raises :class:`StorageUnwritable` (nothing stored) when the database cannot be written
        now: the agent keeps the batch and retries."""
        key = (batch.region, batch.agent)
        self.spool_dropped[key] = max(self.spool_dropped.get(key, 0), batch.spool_dropped)
        known = self.region_monitors.get(batch.region, set())
        new, ignored, last, stored = await self._writing(
            _ingest_known, batch, known, self.stale_after
        )
        self.ingested += new
        self._tell(stored)
        return new, ignored, last

    async def _writing(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a write on the writer thread; a failure of the disk or the file (not a bug, not
        a lock) is logged once, in one line, until writing works again."""
        try:
            if self._reopen:
                await self._worker.call(Storage.reopen)
                self._reopen = False
            outcome = await self._worker.call(fn, *args)
        except (sqlite3.Error, OSError, StorageError) as error:
            path = self.path or "the database"
            reason = error.reason if isinstance(error, StorageUnwritable) else None
            reason = reason or write_failure(error, path)
            if reason is None:
                raise
            self.write_failures += 1
            # A connection SQLite opened read-only stays so: open it again once writable.
            self._reopen = reason.startswith("read-only")
            if reason != self.unwritable:
                log.error(
                    "cannot store results in %s: %s (%s); nothing of the batch was stored, "
                    "ingest answers 503 (agents keep their spools) until it can write again",
                    path,
                    reason,
                    error,
                )
                self.unwritable = reason
            raise StorageUnwritable(f"{path}: {reason}", reason) from None
        if self.unwritable is not None:
            log.warning(
                "%s can be written again (%s before, %d batches refused); storing results",
                self.path or "the database",
                self.unwritable,
                self.write_failures,
            )
            self.unwritable = None
            self.write_failures = 0
        return outcome

    def _tell(self, stored: Sequence[ProbeResult]) -> None:
        if stored:
            for watcher in self.watchers:
                watcher(stored)

    async def states(self, now: datetime) -> list[dict[str, object]]:
        """``Storage.current_states``: one record per (vendor, monitor, region)."""
        return await self._worker.call(Storage.current_states, now)

    async def region_states(self, now: datetime) -> RegionStates:
        """``Storage.region_states``: (vendor, monitor, region) → (state, since, last seen)."""
        return await self._worker.call(Storage.region_states, now)

    async def prune(
        self,
        now: datetime,
        retention: timedelta,
        evidence_retention: timedelta,
        chunk: int = PRUNE_CHUNK,
    ) -> int:
        """Delete plain successes older than ``retention`` and evidence older than
        ``evidence_retention``; returns how many. Each chunk of ``chunk`` rows is one call of
        the writer thread, so ingest waits at most one chunk however much there is to prune."""
        pruned = 0
        while True:
            deleted = await self._writing(
                Storage.prune, now - retention, now - evidence_retention, chunk
            )
            pruned += deleted
            if deleted < chunk:
                return pruned

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(storage, *args)`` in the writer thread (reads for tests and reports)."""
        return await self._worker.call(fn, *args)


def _sharing(storage: Storage, max_clock_skew: timedelta, news: News) -> Storage:
    """``storage``, its state tracker (and the one a reopen makes) using ``max_clock_skew``,
    counting its news in ``news``."""
    storage.max_clock_skew = max_clock_skew
    storage.tracker.max_skew = max_clock_skew
    storage.news = news
    return storage


def _ingest_known(
    storage: Storage,
    batch: Batch,
    known: set[tuple[str, str]],
    stale_after: Mapping[tuple[str, str], timedelta],
) -> tuple[int, int, int, Sequence[ProbeResult]]:
    """Runs in the writer thread, so reading the agent's progress and writing are one step.

    Returns (new, ignored, the agent's last sequence, the results stored). Results for
    monitors the collector does not probe from that region are dropped. Storage
    numbers a batch by position, so the kept results are handed over with the sequence numbers
    that end where the batch ends: the agent's progress still moves to the batch's last one.
    """
    last = storage.last_seq(batch.agent)
    fresh = batch.results[max(0, last - batch.first_seq + 1) :]
    keep = [r for r in fresh if (r.vendor, r.monitor) in known]
    end = batch.first_seq + len(batch.results) - 1
    if not keep:
        return 0, len(fresh), last, ()
    new = storage.record_results(keep, stale_after, batch.agent, end - len(keep) + 1)
    # record_results moved the agent's progress to `end`
    return new, len(fresh) - len(keep), end, keep
