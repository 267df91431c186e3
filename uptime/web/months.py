"""The months the web shows, computed once and kept while they are still true.

A page view or a scrape needs every vendor's month to date, and the status page 90 days and
12 months of them: computing all of that for each request would take seconds for a large
district. :class:`Months` computes a vendor's month through the report pipeline
(:class:`reports.runner.Month`), keeps what a caller made of it, and hands the kept value out
again while it is still true:

* the sources' :class:`uptime.sources.Revision` of the vendor is unchanged (nothing new was
  seen of it: no region changed state or reported for the first time, no outage imported), and
* the month was over when it was computed, or nothing in it moves with the clock: no state is
  open that is not up or has gone stale, and no region of a probed monitor is still waiting
  for its first result (blind until now). A month that moves is computed again, at most once
  per ``min_age``.

So a healthy district costs one read of each source's revisions per request (of our probes',
only of the vendors the writer has news of: ``uptime.store.states.News``), and a past month's
figures are those it was computed with until its inputs change. All reading and
computing runs on one thread of its own, which owns the sources' read-only connections.

What finance records from the command line, in another process (exclusions, announced
windows, closes, claim marks: the audit trail, ``uptime.store.finance``), counts too: every
request first reads the trail's last sequence number (one indexed ``max``), and when it has
grown, reads the records again, adds the recorded windows and exclusions to the configuration
(:func:`uptime.store.finance.recorded_config`) and forgets every kept month.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from credits.availability import month_period
from credits.month import Observations, VendorMonth
from reports import json_report
from reports.context import VendorContext
from reports.runner import Month
from uptime.config import Config, Vendor
from uptime.sources import Revision, Source, revisions
from uptime.store.database import DatabaseNotReady, open_read_only
from uptime.store.finance import MonthClose, Records, closed_report, read_records, recorded_config

Made = TypeVar("Made")

#: A vendor-month whose figures move with the clock is computed again at most this often (the
#: page reloads every minute, Prometheus scrapes every 15 s or so: figures of a vendor that is
#: down now may be this much behind the clock, never behind what was seen).
MIN_AGE = timedelta(seconds=10)

#: How the months' thread shares the interpreter while there is work: after computing for
#: ``SLICE`` seconds it sleeps three times as long (a quarter of the interpreter for it at
#: most). It shares the interpreter (the GIL) with the event loop, where the probes run:
#: without the pauses, computing a large district's months starves them (probes started
#: seconds late at 10,000 monitors, docs/benchmarks.md).
SLICE = 0.02

#: How many month ends' revisions are kept (history shows 12 months, the page 4: of each time
#: zone of the district's vendors).
KEPT_BOUNDS = 64

#: How many vendor-months are kept per vendor, of every kind together, before the least
#: recently used are dropped (the status page keeps 4, history 12, metrics 1, or 2 while
#: last month's claims can be open).
KEPT_PER_VENDOR = 40


#: What the sources saw of a vendor: each one's revision tag, and whether any is moving.
Seen = tuple[tuple[Hashable, ...], bool]


def _seen(found: tuple[Revision, ...]) -> Seen:
    return tuple([r.tag for r in found]), any([r.moving for r in found])


@dataclass(frozen=True)
class _Kept:
    made: Any
    seen: tuple[Hashable, ...]  #: each source's revision tag when it was computed
    computed_at: datetime
    ended: bool  #: the month was over when it was computed
    waiting: bool  #: a probed monitor's region had not reported yet (blind until now)


class Months:
    """Vendors' months as ``make`` turns them into what a page or a scrape shows, kept while
    true (see the module's docstring)."""

    def __init__(
        self,
        config: Config,
        open_sources: Callable[[], list[Source]],
        *,
        min_age: timedelta = MIN_AGE,
        db: str | Path | None = None,
    ) -> None:
        #: the configuration as loaded; :attr:`config` adds what the audit trail recorded
        self.loaded = config
        self.config = config
        self.records = Records()
        self._db_path = None if db is None else Path(db)
        self._db: Any = None
        self._seq: int | None = None
        self._by_id = {v.id: v for v in config.vendors}
        self._frozen: dict[int, dict[str, VendorContext]] = {}
        self._open_sources = open_sources
        self._sources: list[Source] | None = None
        self._min_age = min_age
        self._kept: OrderedDict[tuple[str, str, int, int], _Kept] = OrderedDict()
        self._limit = KEPT_PER_VENDOR * max(1, len(config.vendors))
        #: month end → vendor id → (its latest revision tags, what was seen before that end)
        self._bounded: dict[datetime, dict[str, tuple[tuple[Hashable, ...], Seen]]] = {}
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="uptime-months")

    async def run(self, fn: Callable[..., Made], *args: Any) -> Made:
        """Run ``fn(*args)`` on the months' thread (where :meth:`made` and :meth:`sources`
        may be called)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(fn, *args))

    async def get(
        self,
        kind: str,
        make: Callable[[VendorMonth, Observations], Made],
        wanted: Iterable[tuple[Vendor, int, int]],
        now: datetime,
    ) -> list[Made]:
        """:meth:`made`, on the months' thread."""
        return await self.run(self.made, kind, make, list(wanted), now)

    def refresh(self) -> tuple[Config, Records]:
        """The configuration with the recorded windows and exclusions, and the records, read
        again when the audit trail has grown (call on the months' thread only)."""
        if self._db_path is None:
            return self.config, self.records
        if self._db is None:
            try:
                self._db = open_read_only(self._db_path)
            except DatabaseNotReady:
                return self.config, self.records  # the writer has not created it yet
        row = self._db.execute("select max(seq) from audit_events").fetchone()
        seq = row[0] if row else None
        if seq != self._seq:
            self.records = read_records(self._db)
            self.config = recorded_config(self.loaded, self.records)
            self._by_id = {v.id: v for v in self.config.vendors}
            self._kept.clear()
            self._seq = seq
        return self.config, self.records

    def closed(self, label: str) -> tuple[MonthClose, dict[str, VendorContext]] | None:
        """Month ``label``'s close and its frozen figures by vendor id, when it is closed (as
        of the last :meth:`refresh`; call on the months' thread only)."""
        close = self.records.closes.get(label)
        if close is None:
            return None
        frozen = self._frozen.get(close.seq)
        if frozen is None:
            document = json_report.parse(closed_report(self._db, close))
            frozen = self._frozen[close.seq] = {v.vendor: v for v in document.vendors}
        return close, frozen

    @property
    def trail_seq(self) -> int | None:
        """The audit trail's last event as of the last :meth:`refresh` (None: none yet)."""
        return self._seq

    async def current(self) -> tuple[Config, Records]:
        """:meth:`refresh`, on the months' thread."""
        return await self.run(self.refresh)

    def sources(self) -> list[Source]:
        """The sources, opened on first use (call on the months' thread only)."""
        if self._sources is None:
            self._sources = self._open_sources()
        return self._sources

    def made(
        self,
        kind: str,
        make: Callable[[VendorMonth, Observations], Made],
        wanted: Sequence[tuple[Vendor, int, int]],
        now: datetime,
    ) -> list[Made]:
        """``make(month, observations)`` of each ``(vendor, year, month)`` in ``wanted``, in
        order, as of ``now``: kept values while they are true, the others computed. ``kind``
        names what ``make`` makes (values of one kind are kept apart from another's). Call on
        the months' thread (:meth:`get` does)."""
        self.refresh()
        # The vendors as the records have them (a caller may hold the loaded configuration's).
        by_id = self._by_id
        wanted = [(by_id.get(v.id, v), year, month) for v, year, month in wanted]
        sources = self.sources()
        # An ended month is compared by what was seen before its end only: the probes' news of
        # this month (every state change) leaves last month's figures, and their claims, kept.
        ends = [month_period(year, month, v.timezone).end for v, year, month in wanted]
        bounds = [end if end <= now else None for end in ends]
        revised = self._revisions(sources, [v.id for v, _, _ in wanted], bounds, now)
        out: list[Any] = [None] * len(wanted)
        stale: dict[tuple[int, int], list[tuple[int, Vendor]]] = {}
        seen_now: dict[int, tuple[Hashable, ...]] = {}
        young = now - self._min_age
        for i, ((vendor, year, month), bound) in enumerate(zip(wanted, bounds, strict=True)):
            # Only what was seen is compared: a state going stale (moving) after a month
            # ended changes nothing in it.
            seen_now[i], moving = revised[bound][vendor.id]
            key = (kind, vendor.id, year, month)
            kept = self._kept.get(key)
            if (
                kept is not None
                and kept.seen == seen_now[i]
                and (kept.ended or not (kept.waiting or moving) or kept.computed_at > young)
            ):
                self._kept.move_to_end(key)
                out[i] = kept.made
            else:
                stale.setdefault((year, month), []).append((i, vendor))
        for (year, month), todo in stale.items():
            vendors = [vendor for _, vendor in todo]
            computed = Month(self.config, year, month, now).observed_months(sources, vendors)
            for (i, vendor), (vendor_month, seen) in zip(todo, computed, strict=True):
                share_the_interpreter()
                made = make(vendor_month, seen)
                ended = vendor_month.availability.period.end <= now
                self._keep(
                    (kind, vendor.id, year, month),
                    _Kept(made, seen_now[i], now, ended, _waiting(vendor, seen)),
                )
                out[i] = made
        if sum(len(todo) for todo in stale.values()) >= FREEZE_AFTER:
            # What is kept lives as long as it stays true: out of the cyclic collector's way,
            # whose full collections over a large district's months held the interpreter for
            # up to a second (refcounting still frees what is dropped). Only after computing
            # many: freezing makes whatever cyclic garbage exists then permanent.
            gc.freeze()
        return out

    def _revisions(
        self,
        sources: list[Source],
        vendors: Sequence[str],
        bounds: Sequence[datetime | None],
        now: datetime,
    ) -> dict[datetime | None, dict[str, Seen]]:
        """What was seen of each ``vendors[i]`` as of ``bounds[i]`` (None: of everything
        seen), by bound. What was seen before a month's end changes only when what was seen at
        all does (``Source.revisions``), so an ended month's revisions are read again only for
        the vendors whose revisions changed since they were last read: each bound costs a read
        of the sources (a scan of every open state) otherwise, and the status page asks for
        four, history for twelve."""
        latest = {v: _seen(found) for v, found in revisions(sources, set(vendors), now).items()}
        out: dict[datetime | None, dict[str, Seen]] = {None: latest}
        by_bound: dict[datetime, set[str]] = {}
        for vendor, bound in zip(vendors, bounds, strict=True):
            if bound is not None:
                by_bound.setdefault(bound, set()).add(vendor)
        for bound, wanted in by_bound.items():
            kept = self._bounded.pop(bound, {})
            self._bounded[bound] = kept  # the most recently asked for last
            changed = {v for v in wanted if v not in kept or kept[v][0] != latest[v][0]}
            if changed:
                for vendor, found in revisions(sources, changed, now, bound).items():
                    kept[vendor] = (latest[vendor][0], _seen(found))
            out[bound] = {v: kept[v][1] for v in wanted}
        while len(self._bounded) > KEPT_BOUNDS:
            del self._bounded[next(iter(self._bounded))]
        return out

    def _keep(self, key: tuple[str, str, int, int], kept: _Kept) -> None:
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)

    async def close(self) -> None:
        """Close the sources (on their thread) and stop the thread."""
        await self.run(self._close_sources)
        self._thread.shutdown(wait=True)

    def _close_sources(self) -> None:
        for source in self._sources or ():
            source.close()
        self._sources = None
        self._bounded.clear()
        if self._db is not None:
            self._db.close()
            self._db = None


#: How many vendor-months computed at once are worth moving out of the cyclic collector's way.
FREEZE_AFTER = 200

_slice = threading.local()

#: The event loop's pulse: a task of the app (:func:`keep_pulse`) notes the time every
#: ``PULSE`` seconds. While the loop keeps up with its work the note is at most a few
#: milliseconds late; once it is ``BUSY`` late, the loop is short of the interpreter.
PULSE = 0.01
BUSY = 0.04
_pulse_at: list[float] = []


async def keep_pulse() -> None:
    """Note the time every ``PULSE`` seconds, for :func:`share_the_interpreter` (runs as long
    as the app does)."""
    _pulse_at[:] = [time.perf_counter()]
    while True:
        await asyncio.sleep(PULSE)
        _pulse_at[:] = [time.perf_counter()]


def share_the_interpreter() -> None:
    """Called between two pieces of heavy work on a thread beside the event loop: once the
    thread has computed for ``SLICE`` seconds while the loop is short of time (its pulse is
    late, or nobody keeps one), it sleeps three times as long, so the loop, where the probes
    run, keeps three quarters of the interpreter (two thirds left probes up to 1.1 s late while
    a large district's months were first computed: docs/benchmarks.md). An idle loop costs the
    work nothing. Never sleeps on a thread that runs an event loop."""
    began = getattr(_slice, "began", None)
    clock = time.perf_counter()
    if began is None or clock - began > 4 * SLICE:  # a new burst of work
        _slice.began = clock
    elif clock - began >= SLICE:
        # Only now whether this thread runs an event loop: a scrape calls this for every
        # series, and the question costs an exception on a worker thread (1.4 µs).
        try:
            asyncio.get_running_loop()
            return
        except RuntimeError:  # no event loop here: a worker thread
            pass
        if not _pulse_at or clock - _pulse_at[0] > BUSY:
            time.sleep(3 * (clock - began))
        _slice.began = time.perf_counter()


def month_of(vendor: Vendor, now: datetime) -> tuple[int, int]:
    """The calendar month ``now`` falls in on ``vendor``'s wall clock."""
    local = now.astimezone(vendor.timezone)
    return local.year, local.month


def months_back(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """``count`` calendar months ending with ``year``-``month``, oldest first."""
    last = year * 12 + month - 1
    return [(i // 12, i % 12 + 1) for i in range(last - count + 1, last + 1)]


def is_current(vendor: Vendor, year: int, month: int, now: datetime) -> bool:
    """Whether ``now`` falls inside ``vendor``'s month ``year``-``month``."""
    period = month_period(year, month, vendor.timezone)
    return period.start <= now < period.end


def _waiting(vendor: Vendor, seen: Observations) -> bool:
    for monitor in vendor.monitors:
        firsts = seen.first_results.get(monitor.id)
        if firsts and any(region not in firsts for region in monitor.regions):
            return True
    return False
