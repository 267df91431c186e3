"""Running a report: sources → engine → context → renderer, for every vendor of a month.

:func:`report` is the whole pipeline: it reads what the sources saw (``uptime.sources``),
computes each vendor's month (``credits.month``), turns it into the values people read
(``reports.context``) and hands the whole month to a renderer, which returns bytes. The speed-ups
live here and wrap that pipeline from outside: the cycle collector is off while a report runs,
and with ``jobs`` > 1 a large configuration's vendors are computed in forked worker processes
that send back their vendors' contexts; the renderer always sees the whole month at once.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from credits.availability import month_period
from credits.intervals import Interval
from credits.month import Observations, VendorMonth, vendor_month
from reports import csv_report, html_report, json_report, pdf_report
from reports.closed import closed_context, only_vendors
from reports.context import MonthContext, vendor_context
from uptime.config import Config, Vendor
from uptime.errors import UptimeLedgerError
from uptime.sources import Source, database_sources, observe
from uptime.store.database import open_read_only
from uptime.store.finance import (
    MonthClose,
    Records,
    closed_report,
    month_label,
    read_records,
    recorded_config,
)

Made = TypeVar("Made")

#: Each format's renderer: the whole month's context in, the document's bytes out.
RENDERERS: dict[str, Callable[[MonthContext], bytes]] = {
    "json": json_report.render,
    "csv": csv_report.render,
    "html": html_report.render,
    "pdf": pdf_report.render,
}
#: ``--rows`` of a CSV report: what one row is.
ROWS = csv_report.ROWS

#: Below this many vendors per process, starting a worker costs more than it saves.
VENDORS_PER_WORKER = 50

#: What a vendor nothing was seen of has been observed doing.
NOTHING_SEEN = Observations()


class WorkerDied(UptimeLedgerError):
    """A report worker process died (killed, out of memory): the report was not made."""

    outcome = "nothing was written"


@dataclass(frozen=True)
class Month:
    """One calendar month of every configured vendor, as the sources read at ``now``."""

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

    def vendor_months(
        self, sources: Sequence[Source], vendors: Sequence[Vendor]
    ) -> Iterator[VendorMonth]:
        """The month of each of ``vendors``, in order, from what ``sources`` saw of them (each
        source reads all of them at once)."""
        for computed, _ in self.observed_months(sources, vendors):
            yield computed

    def observed_months(
        self, sources: Sequence[Source], vendors: Sequence[Vendor]
    ) -> Iterator[tuple[VendorMonth, Observations]]:
        """Each of ``vendors``'s month with what it was computed from."""
        observed = observe(sources, [v.id for v in vendors], self.span, self.now)
        for vendor in vendors:
            seen = observed.get(vendor.id, NOTHING_SEEN)
            yield vendor_month(vendor, self.year, self.month, seen, self.now), seen


def report(
    config: Config | Callable[[], Config],
    db_path: Path,
    year: int,
    month: int,
    *,
    format: str = "json",
    rows: str = "vendors",
    jobs: int = 1,
    now: datetime | None = None,
    vendors: Sequence[str] | None = None,
) -> bytes:
    """The report of calendar month ``year``-``month`` in ``format``, from the database at
    ``db_path`` (opened read-only) as it reads ``now`` (default: the current time), computed
    with up to ``jobs`` processes, of ``vendors`` only when given (ids; default every vendor);
    a CSV report has one row per ``rows`` (:data:`ROWS`). ``config`` may be a function that
    loads it, so that loading a large configuration runs with the cycle collector off as well.
    A worker process that dies raises :class:`WorkerDied`.

    A closed month renders its frozen report (:mod:`reports.closed`), with what a computation
    now finds different listed as changes since the close; its JSON of every vendor is the
    frozen bytes themselves, whose SHA-256 the close recorded."""
    render = ROWS[rows] if format == "csv" else RENDERERS[format]
    with without_cycle_collector():
        if callable(config):
            config = config()
        now = now or datetime.now(UTC)
        close = read_records_of(db_path).closes.get(month_label(year, month))
        if close is not None and format == "json" and vendors is None:
            return frozen_report(db_path, close)
        return render(
            month_for_people(config, db_path, year, month, now, jobs, vendors, changes=True)
        )


def report_in_formats(
    config: Config | Callable[[], Config],
    db_path: Path,
    year: int,
    month: int,
    formats: Sequence[str],
    *,
    jobs: int = 1,
    now: datetime | None = None,
) -> dict[str, bytes]:
    """The month's report in each of ``formats`` (CSV one row per vendor), from one computation
    of the month: each the bytes :func:`report` gives for that format at the same ``now``. With
    ``jobs`` > 1 the formats render side by side (:func:`render_formats`)."""
    with without_cycle_collector():
        if callable(config):
            config = config()
        now = now or datetime.now(UTC)
        close = read_records_of(db_path).closes.get(month_label(year, month))
        done = {"json": frozen_report(db_path, close)} if close and "json" in formats else {}
        to_render = [f for f in formats if f not in done]
        if to_render:
            context = month_for_people(
                config, db_path, year, month, now, jobs, changes=close is not None
            )
            done |= render_formats(context, to_render, jobs)
        return {f: done[f] for f in formats}


def render_formats(month: MonthContext, formats: Sequence[str], jobs: int = 1) -> dict[str, bytes]:
    """Each of ``formats``'s document of one month. A renderer only turns the month into bytes,
    so with ``jobs`` > 1 (on Linux) the heaviest formats (HTML, PDF) render in forked processes
    while this one renders the rest: for 1,000 vendors the HTML alone takes as long as JSON and
    CSV together (docs/benchmarks.md)."""
    heavy = [f for f in formats if f in HEAVY_FORMATS][: max(0, jobs - 1)]
    if not heavy or not _can_fork():
        return {f: RENDERERS[f](month) for f in formats}
    global _rendering
    _rendering = month
    try:
        with ProcessPoolExecutor(
            len(heavy), mp_context=multiprocessing.get_context("fork")
        ) as executor:
            futures = {f: executor.submit(_render, f) for f in heavy}  # forks here
            done = {f: RENDERERS[f](month) for f in formats if f not in futures}
            done |= {f: future.result() for f, future in futures.items()}
    except BrokenProcessPool:
        raise WorkerDied("a report worker process died (out of memory?); try --jobs 1") from None
    finally:
        _rendering = None
    return {f: done[f] for f in formats}


#: The formats that take longest to render, each worth a process of its own.
HEAVY_FORMATS = ("html", "pdf")

# The month being rendered, set just before the workers fork so they inherit it.
_rendering: MonthContext | None = None


def _render(format: str) -> bytes:
    assert _rendering is not None, "worker started without a month"
    return RENDERERS[format](_rendering)


def month_for_people(
    config: Config,
    db_path: Path,
    year: int,
    month: int,
    now: datetime,
    jobs: int = 1,
    vendors: Sequence[str] | None = None,
    changes: bool = False,
) -> MonthContext:
    """The month as people act on it (reports, claims, packets): a closed month's frozen
    figures, read at ``now``; an open month computed as of ``now``. ``config`` is as loaded:
    the recorded windows and exclusions are added here. ``vendors`` (ids) keeps only those.
    With ``changes``, a closed month also lists what a computation now finds different (a
    second computation of the month)."""
    records = read_records_of(db_path)
    config = recorded_config(config, records)
    label = month_label(year, month)
    marks = {
        v.id: mark for v in config.vendors if (mark := records.latest_mark(v.id, label)) is not None
    }
    close = records.closes.get(label)
    if close is None:
        return replace(month_context(config, db_path, year, month, now, jobs, vendors), marks=marks)
    fresh = (
        month_context(config, db_path, year, month, close.closed_at, jobs, vendors)
        if changes
        else None
    )
    closed = closed_context(frozen_report(db_path, close), close, fresh, printed_at=now)
    closed = replace(closed, marks=marks)
    return closed if vendors is None else only_vendors(closed, set(vendors))


def month_context(
    config: Config,
    db_path: Path,
    year: int,
    month: int,
    now: datetime,
    jobs: int = 1,
    vendors: Sequence[str] | None = None,
) -> MonthContext:
    """The month computed from what the database's sources saw as of ``now`` (``config``
    already holding the recorded windows and exclusions: :func:`recorded_config`)."""
    if vendors is not None:
        config = replace(config, vendors=tuple(config.vendor(v) for v in vendors))
    the_month = Month(config, year, month, now)
    sources = functools.partial(database_sources, db_path)
    try:
        computed = each_vendor(the_month, sources, vendor_context, jobs)
    except BrokenProcessPool:
        raise WorkerDied("a report worker process died (out of memory?); try --jobs 1") from None
    return MonthContext(year, month, now, tuple(computed))


def read_records_of(db_path: Path) -> Records:
    """The audit trail's records in the database at ``db_path``, read through a read-only
    connection."""
    db = open_read_only(db_path)
    try:
        return read_records(db)
    finally:
        db.close()


def frozen_report(db_path: Path, close: MonthClose) -> bytes:
    """A closed month's frozen report, read through a read-only connection."""
    db = open_read_only(db_path)
    try:
        return closed_report(db, close)
    finally:
        db.close()


@contextlib.contextmanager
def without_cycle_collector() -> Iterator[None]:
    """Run the block with Python's cycle collector off.

    A report allocates hundreds of thousands of small objects that all live until it is
    rendered and form no reference cycles: the cycle collector would walk them over and over (a
    quarter of the run for 1,000 vendors) and free nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def each_vendor(
    month: Month,
    open_sources: Callable[[], list[Source]],
    make: Callable[[VendorMonth], Made],
    jobs: int = 1,
) -> list[Made]:
    """``make`` of every vendor's month, in configuration order, using up to ``jobs`` processes.

    ``open_sources`` opens the sources to read (``database_sources`` of the database, and any
    other kind of source beside them). The vendors are independent, so with ``jobs`` > 1 (and
    enough vendors to be worth it) they are split among forked worker processes, each of which
    opens sources of its own (their own read-only connections), reads and computes its share,
    and sends back what ``make`` made of each vendor. Without ``fork`` (not Linux) the work
    stays in this process. An exception in a worker is raised here; a worker that dies raises
    ``concurrent.futures.process.BrokenProcessPool``.
    """
    vendors = month.config.vendors
    workers = min(jobs, len(vendors) // VENDORS_PER_WORKER)
    sources = open_sources()  # a database that cannot be read fails here, once
    try:
        if workers < 2 or not _can_fork():
            return [make(m) for m in month.vendor_months(sources, vendors)]
        # The first vendor is computed here, before forking, so that every worker inherits
        # what it warmed up (holiday tables, business-day counts, modules imported lazily)
        # instead of building it again.
        first = [make(m) for m in month.vendor_months(sources, vendors[:1])]
    finally:
        for source in sources:
            source.close()  # no connection crosses the fork
    # This process computes a share of its own while the forked workers compute theirs, then
    # renders the whole month alone: it is one of the ``workers``. The forked ones get two
    # slices each, which evens out vendors of unequal cost; every slice scans the month's part
    # of an index once, so many small ones would cost more than they balance.
    forked = workers - 1
    own_end = 1 + (len(vendors) - 1) // workers
    step = -(-(len(vendors) - own_end) // (forked * 2))
    slices = [
        (start, min(start + step, len(vendors))) for start in range(own_end, len(vendors), step)
    ]
    global _job
    _job = (month, make)
    try:
        # Not multiprocessing.Pool: when a worker dies (killed, out of memory) its map waits
        # forever; the executor raises BrokenProcessPool.
        with ProcessPoolExecutor(
            forked,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(open_sources,),
        ) as executor:
            futures = [executor.submit(_make_slice, bounds) for bounds in slices]  # forks here
            sources = open_sources()  # opened after the fork: no connection crosses it
            try:
                own = [make(m) for m in month.vendor_months(sources, vendors[1:own_end])]
            finally:
                for source in sources:
                    source.close()
            parts = [future.result() for future in futures]
    finally:
        _job = None
    return [*first, *own, *(made for part in parts for made in part)]


def usable_cpus() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The month being computed, set just before the workers fork so they inherit it (nothing of it
# is pickled), and each worker's own sources.
_job: tuple[Month, Callable[[VendorMonth], object]] | None = None
_worker_sources: list[Source] | None = None


def _start_worker(open_sources: Callable[[], list[Source]]) -> None:
    global _worker_sources
    # A report is batch work and may run beside `uptime-ledger run`, whose probes must start
    # on time: on a busy machine the workers yield to it (on an idle one this changes nothing).
    os.nice(5)
    _worker_sources = open_sources()


def _make_slice(bounds: tuple[int, int]) -> list[object]:
    assert _job is not None and _worker_sources is not None, "worker started without a job"
    month, make = _job
    start, end = bounds
    vendors = month.config.vendors[start:end]
    return [make(m) for m in month.vendor_months(_worker_sources, vendors)]


def _can_fork() -> bool:
    # Forking is safe on Linux; macOS system libraries may not survive it.
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
