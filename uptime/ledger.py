"""Wiring for reports: fetch a month's data from storage and run the contract engine."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from credits.availability import month_period
from credits.intervals import Interval
from credits.ledger import Seen, VendorMonth, vendor_month
from uptime.config import Config, Vendor
from uptime.storage import WHOLE_VENDOR, Storage

Rendered = TypeVar("Rendered")

#: Below this many vendors per process, starting a worker costs more than it saves.
VENDORS_PER_WORKER = 50


@dataclass(frozen=True)
class MonthInputs:
    """Everything the engine needs for one month of every vendor, read from storage once."""

    config: Config
    year: int
    month: int
    now: datetime
    down: Mapping[str, Seen]
    unknown: Mapping[str, Seen]
    imported: Mapping[str, Seen]
    first_seen: Mapping[str, Mapping[tuple[str, str], datetime]]

    def vendor_month(self, vendor: Vendor) -> VendorMonth:
        """``vendor``'s month from these inputs."""
        return vendor_month(
            vendor,
            self.year,
            self.month,
            self.down.get(vendor.id, {}),
            self.unknown.get(vendor.id, {}),
            vendor_wide_down=self.imported.get(vendor.id, {}).get(WHOLE_VENDOR, {}),
            first_seen=self.first_seen.get(vendor.id),
            observed_until=self.now,
        )


def read_month(
    config: Config, storage: Storage, year: int, month: int, now: datetime
) -> MonthInputs:
    """Imported outages and probe state intervals of ``year``-``month`` for every vendor (read
    as of ``now``), with one query each: the vendors' months differ only by time zone offsets."""
    periods = [month_period(year, month, v.timezone) for v in config.vendors]
    span = Interval(
        min(p.start for p in periods) - timedelta(days=1),
        max(p.end for p in periods) + timedelta(days=1),
    )
    down, unknown = storage.state_views(span, now)
    first_seen: dict[str, dict[tuple[str, str], datetime]] = {}
    for (vendor_id, monitor, region), at in storage.first_seen.items():
        first_seen.setdefault(vendor_id, {})[monitor, region] = at
    return MonthInputs(
        config, year, month, now, down, unknown, storage.imported_outages(span), first_seen
    )


def compute_month(
    config: Config, storage: Storage, year: int, month: int, now: datetime
) -> list[VendorMonth]:
    """Every configured vendor's ``year``-``month``, in configuration order, from imported
    outages and probe state intervals (read as of ``now``)."""
    if not config.vendors:
        return []
    inputs = read_month(config, storage, year, month, now)
    return [inputs.vendor_month(vendor) for vendor in config.vendors]


def render_month(
    inputs: MonthInputs, render: Callable[[VendorMonth], Rendered], jobs: int = 1
) -> list[Rendered]:
    """``render`` of every vendor's month, in configuration order, using up to ``jobs`` processes.

    The vendors are independent, so with ``jobs`` > 1 (and enough vendors to be worth it) they
    are split among forked worker processes, each of which computes and renders its share and
    sends back only the rendered values: a rendered report is far cheaper to pass between
    processes than the months themselves. Without ``fork`` (not Linux) the work stays in this
    process. An exception in a worker is raised here; a worker that dies raises
    ``concurrent.futures.process.BrokenProcessPool``.
    """
    vendors = inputs.config.vendors
    workers = min(jobs, len(vendors) // VENDORS_PER_WORKER)
    if workers < 2 or not _can_fork():
        return [render(inputs.vendor_month(vendor)) for vendor in vendors]
    # The first vendor is computed here, before forking, so that every worker inherits what
    # it warmed up (holiday tables, business-day counts, modules the engine imports lazily)
    # instead of building it again.
    first = render(inputs.vendor_month(vendors[0]))
    # Slices several times smaller than a worker's share even out vendors of unequal cost.
    step = -(-(len(vendors) - 1) // (workers * 4))
    slices = [(start, min(start + step, len(vendors))) for start in range(1, len(vendors), step)]
    global _job
    _job = (inputs, render)
    try:
        # Not multiprocessing.Pool: when a worker dies (killed, out of memory) its map waits
        # forever; the executor raises BrokenProcessPool.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as executor:
            parts = list(executor.map(_render_slice, slices))
    finally:
        _job = None
    return [first, *(rendered for part in parts for rendered in part)]


def usable_cpus() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The month being rendered, set just before the workers fork so they inherit it (nothing of
# the inputs is pickled).
_job: tuple[MonthInputs, Callable[[VendorMonth], object]] | None = None


def _render_slice(bounds: tuple[int, int]) -> list[object]:
    assert _job is not None, "worker started without a month to render"
    inputs, render = _job
    start, end = bounds
    return [render(inputs.vendor_month(vendor)) for vendor in inputs.config.vendors[start:end]]


def _can_fork() -> bool:
    # Forking is safe on Linux; macOS system libraries may not survive it.
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
