"""Wiring for reports: read a month's data from storage and run the contract engine."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from credits.availability import month_period
from credits.intervals import Interval
from credits.month import VendorMonth, vendor_month
from uptime.config import Config, Vendor
from uptime.store.storage import Storage

Rendered = TypeVar("Rendered")

#: Below this many vendors per process, starting a worker costs more than it saves.
VENDORS_PER_WORKER = 50


@dataclass(frozen=True)
class Month:
    """One calendar month of every configured vendor, as stored data reads at ``now``."""

    config: Config
    year: int
    month: int
    now: datetime

    @cached_property
    def span(self) -> Interval:
        """UTC time covering every vendor's month (they differ only by time zone offsets),
        with a day to spare on each side."""
        periods = [month_period(self.year, self.month, v.timezone) for v in self.config.vendors]
        return Interval(
            min(p.start for p in periods) - timedelta(days=1),
            max(p.end for p in periods) + timedelta(days=1),
        )

    def vendor_months(self, storage: Storage, vendors: Sequence[Vendor]) -> Iterator[VendorMonth]:
        """The month of each of ``vendors``, in order, from imported outages and probe state
        intervals; their data is read with one query per table."""
        span, ids = self.span, [v.id for v in vendors]
        down, unknown = storage.state_views(span, self.now, ids)
        imported = storage.imported_outages(span, ids)
        first_seen: dict[str, dict[tuple[str, str], datetime]] = {}
        for (vendor_id, monitor, region), at in storage.first_seen.items():
            first_seen.setdefault(vendor_id, {})[monitor, region] = at
        for vendor in vendors:
            yield vendor_month(
                vendor,
                self.year,
                self.month,
                down.get(vendor.id, {}),
                unknown.get(vendor.id, {}),
                vendor_wide_down=imported.get(vendor.id, {}),
                first_seen=first_seen.get(vendor.id),
                observed_until=self.now,
            )


def render_month(
    month: Month, db_path: Path, render: Callable[[VendorMonth], Rendered], jobs: int = 1
) -> list[Rendered]:
    """``render`` of every vendor's month, in configuration order, using up to ``jobs`` processes.

    The vendors are independent, so with ``jobs`` > 1 (and enough vendors to be worth it) they
    are split among forked worker processes, each of which reads its share of the database
    through its own connection, computes and renders it, and sends back only the rendered
    values: a rendered report is far cheaper to pass between processes than the months
    themselves. Without ``fork`` (not Linux) the work stays in this process. An exception in a
    worker is raised here; a worker that dies raises
    ``concurrent.futures.process.BrokenProcessPool``.
    """
    vendors = month.config.vendors
    workers = min(jobs, len(vendors) // VENDORS_PER_WORKER)
    storage = Storage(db_path)  # brings the schema up to date before any worker reads it
    try:
        if workers < 2 or not _can_fork():
            return [render(m) for m in month.vendor_months(storage, vendors)]
        # The first vendor is computed here, before forking, so that every worker inherits
        # what it warmed up (holiday tables, business-day counts, modules imported lazily)
        # instead of building it again.
        first = [render(m) for m in month.vendor_months(storage, vendors[:1])]
    finally:
        storage.close()  # no connection crosses the fork
    # Two slices per worker even out vendors of unequal cost; every slice scans the month's
    # part of an index once, so many small ones would cost more than they balance.
    step = -(-(len(vendors) - 1) // (workers * 2))
    slices = [(start, min(start + step, len(vendors))) for start in range(1, len(vendors), step)]
    global _job
    _job = (month, render)
    try:
        # Not multiprocessing.Pool: when a worker dies (killed, out of memory) its map waits
        # forever; the executor raises BrokenProcessPool.
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(db_path,),
        ) as executor:
            parts = list(executor.map(_render_slice, slices))
    finally:
        _job = None
    return [*first, *(rendered for part in parts for rendered in part)]


def usable_cpus() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The month being rendered, set just before the workers fork so they inherit it (nothing of
# it is pickled), and each worker's own database connection.
_job: tuple[Month, Callable[[VendorMonth], object]] | None = None
_worker_storage: Storage | None = None


def _start_worker(db_path: Path) -> None:
    global _worker_storage
    # A report is batch work and may run beside `uptime-ledger run`, whose probes must start
    # on time: on a busy machine the workers yield to it (on an idle one this changes nothing).
    os.nice(5)
    _worker_storage = Storage(db_path)


def _render_slice(bounds: tuple[int, int]) -> list[object]:
    assert _job is not None and _worker_storage is not None, "worker started without a job"
    month, render = _job
    start, end = bounds
    vendors = month.config.vendors[start:end]
    return [render(m) for m in month.vendor_months(_worker_storage, vendors)]


def _can_fork() -> bool:
    # Forking is safe on Linux; macOS system libraries may not survive it.
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
