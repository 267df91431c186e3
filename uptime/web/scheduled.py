"""What ``uptime-ledger run`` does by the calendar: last month's report, and claims near their
deadline (``reports.scheduled`` says when and what).

The report is written in a worker process of its own, at a lower priority (``nice``): a large
district's month is seconds of CPU, which in this process would hold the interpreter the event
loop needs to start probes on time. The claims are read through ``app[MONTHS]`` (kept months,
on the months' thread), at start and every :data:`CLAIMS_EVERY`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from credits.month import Observations, VendorMonth
from reports.claims import Claim
from reports.context import VendorContext, vendor_context
from reports.scheduled import (
    Due,
    claim_line,
    claim_months,
    due_month,
    files_to_write,
    near_deadline,
    next_due,
    open_claims,
    write_reports,
)
from uptime.config import Config, Vendor
from uptime.errors import UptimeLedgerError
from uptime.store.finance import month_label
from uptime.web.keys import CONFIG, MONTHS
from uptime.web.months import Months

log = logging.getLogger(__name__)

#: How often the claims near their deadline are logged (and once at start).
CLAIMS_EVERY = timedelta(days=1)

#: After a report could not be written, how long until it is tried again.
RETRY_AFTER = timedelta(hours=1)

#: The longest sleep between two looks at the clock (a suspended machine wakes up late).
LONGEST_SLEEP = timedelta(hours=1)

#: How much lower the report worker's priority is than the server's.
NICE = 10

#: How often (seconds) a report worker looks whether the process that spawned it still lives.
PARENT_CHECK = 0.5


def claim_context(month: VendorMonth, seen: Observations | None = None) -> VendorContext:
    """What the claims keep of a vendor-month (``Months.made``'s ``make``): its context without
    the windows and exclusions, which no claim reads (thousands of them are kept)."""
    return vendor_context(month)._replace(windows=(), exclusions=())


def open_claims_now(months: Months, now: datetime) -> list[tuple[Vendor, list[Claim]]]:
    """Each vendor's claims that are due with a ticket deadline still open at ``now``, from its
    previous and current month (a closed month's frozen figures). On the months' thread."""
    config, records = months.refresh()
    wanted = [(v, y, m) for v in config.vendors for y, m in claim_months(v, now)]
    contexts = months.made("claims", claim_context, wanted, now)
    per_vendor = claim_inputs(months, list(zip(wanted, contexts, strict=True)))
    return [
        (vendor, open_claims(vendor, per_vendor.get(vendor.id, []), records, now))
        for vendor in config.vendors
    ]


def claim_inputs(
    months: Months, found: Iterable[tuple[tuple[Vendor, int, int], VendorContext]]
) -> dict[str, list[tuple[int, int, VendorContext]]]:
    """The ``(year, month, context)`` each vendor's claims are read from (``open_claims``), by
    vendor id, from each vendor-month's computed context: a closed month's frozen figures
    instead (as of the last ``Months.refresh``; on the months' thread)."""
    closes = months.records.closes
    per_vendor: dict[str, list[tuple[int, int, VendorContext]]] = {}
    for (vendor, year, month), context in found:
        closed = months.closed(month_label(year, month)) if closes else None
        frozen = None if closed is None else closed[1].get(vendor.id)
        per_vendor.setdefault(vendor.id, []).append((year, month, frozen or context))
    return per_vendor


def log_near_deadlines(months: Months, now: datetime) -> int:
    """Log the claims whose ticket deadline is at most two business days away; how many."""
    count = 0
    for vendor, claims in open_claims_now(months, now):
        for claim in claims:
            if near_deadline(vendor, claim, now):
                log.warning("%s", claim_line(claim, vendor, now))
                count += 1
    return count


def _spawned_write(config: Config, db: Path, due: Due, now: datetime) -> list[tuple[str, str]]:
    return [
        (str(w.path), w.sha256)
        for w in write_reports(config, db, due.year, due.month, now, nice=NICE)
    ]


def report_worker() -> ProcessPoolExecutor:
    """One spawned worker process (nothing of this process's threads or connections is
    inherited) that ends when this process dies, SIGKILL included: orphaned, it would write a
    report nobody waits for, or run for ever."""
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )


def _watch_parent(parent: int) -> None:
    threading.Thread(
        target=_exit_with, args=(parent,), name="uptime-parent-watch", daemon=True
    ).start()


def _exit_with(parent: int) -> None:
    # Polled, not prctl(PR_SET_PDEATHSIG): that is Linux-only, and it would not reach the
    # workers the report forks in turn (a fork clears it).
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    for child in multiprocessing.active_children():  # the report's own forked workers
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
    os._exit(1)


async def write_due(config: Config, db: Path, due: Due, now: datetime) -> list[tuple[str, str]]:
    """Write ``due``'s missing report files in a fresh low-priority worker process
    (:func:`report_worker`); (path, sha256) of each."""
    loop = asyncio.get_running_loop()
    worker = report_worker()
    try:
        return await loop.run_in_executor(worker, _spawned_write, config, db, due, now)
    finally:
        # Not waiting here: stopping the server must not wait for a report (the worker ends
        # after its file is renamed into place, or before: never half a file).
        worker.shutdown(wait=False, cancel_futures=True)


class ReportSchedule:
    """The loop ``run`` keeps: write the due month's report when its files are missing, log the
    claims near their deadline, sleep until the next of those."""

    def __init__(
        self,
        config: Config,
        db: Path,
        months: Months,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.db = db
        self.months = months
        self.clock = clock
        #: each (path, sha256) written, in order (what the log says)
        self.written: list[tuple[str, str]] = []

    async def forever(self) -> None:
        schedule = self.config.reports.schedule
        vendors = self.config.vendors
        claims_at = self.clock()
        retry_at: datetime | None = None
        while True:
            now = self.clock()
            due = due_month(schedule, vendors, now)
            if due is not None and (retry_at is None or now >= retry_at):
                retry_at = await self._write(due, now)
            if now >= claims_at:
                try:
                    await self.months.run(log_near_deadlines, self.months, now)
                except Exception:
                    log.exception("listing the claims near their deadline failed")
                claims_at = now + CLAIMS_EVERY
            wake = min(next_due(schedule, vendors, now).at, claims_at, now + LONGEST_SLEEP)
            if retry_at is not None:
                wake = min(wake, retry_at)
            await asyncio.sleep(max(0.0, (wake - self.clock()).total_seconds()))

    async def _write(self, due: Due, now: datetime) -> datetime | None:
        """Write what is missing of ``due``'s report; when to try again if it failed."""
        try:
            if not files_to_write(self.config, self.db, due.year, due.month):
                return None
            written = await write_due(self.config, self.db, due, now)
        except UptimeLedgerError as error:
            log.error("the report of %s was not written: %s", due.label, error)
            return now + RETRY_AFTER
        except Exception:
            log.exception("the report of %s was not written", due.label)
            return now + RETRY_AFTER
        for path, digest in written:
            log.info("wrote the report of %s: %s (sha256 %s)", due.label, path, digest)
        self.written += written
        return None


SCHEDULE = web.AppKey("report_schedule", ReportSchedule)


def add_report_schedule(
    app: web.Application, db: Path, clock: Callable[[], datetime] | None = None
) -> None:
    """Run the report schedule while ``app`` runs (list after the storage context)."""
    schedule = ReportSchedule(app[CONFIG], db, app[MONTHS], *([clock] if clock else []))
    app[SCHEDULE] = schedule

    async def schedule_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(schedule.forever(), name="uptime-reports")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(schedule_ctx)
