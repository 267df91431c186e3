"""A claim's evidence, read from the database: what each probe site recorded around an
interruption, and how long each site could see the vendor's monitors in the month.

Both read through a read-only connection (never created, never migrated here):

* :func:`probe_failures` — per region and monitor, the failed probes stored as evidence
  (``uptime.store.results``: every failure is kept ``probing.evidence_retention``) within a
  margin around each interruption: first and last failure, how many, each failure class and
  message with its count; and how many probes the site ran in the UTC hours covering that span,
  from the hourly rollups (``uptime.store.rollups``), which outlive the raw successes.
* :func:`coverage` — per region and monitor, the minutes of the month our probes from that
  site could see it: the elapsed part of the month less the time its state was unknown (no
  fresh result) and the time before the site's first result of it (all of it for a site that
  never reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from credits.intervals import Interval, clip, length
from uptime.config import Vendor
from uptime.sources.probes import ProbeSource
from uptime.store.database import from_db_time, open_read_only, to_db_time

#: How far before and after an interruption failures are read: a site that failed a little
#: earlier or recovered a little later than the quorum is part of the story.
MARGIN = timedelta(minutes=30)


class ErrorCount(NamedTuple):
    """One kind of failure: its class (``dns``, ``connect``, ``tls``, ``timeout``,
    ``status``, ``body``; ``None`` when the result named none), message, and how many."""

    error: str | None
    message: str | None
    count: int


class RegionFailures(NamedTuple):
    """What one region recorded of one monitor around an interruption."""

    region: str
    monitor: str
    first_failure: datetime | None
    last_failure: datetime | None
    failures: int
    #: probes the region ran of the monitor in the UTC hours covering the span (rollups)
    probes: int
    errors: tuple[ErrorCount, ...]


def _hours(span: Interval) -> tuple[str, str]:
    """The first and last UTC hour (as the rollups name them) that ``span`` touches."""
    start = span.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = (span.end.astimezone(UTC) - timedelta(microseconds=1)).replace(
        minute=0, second=0, microsecond=0
    )
    return f"{start:%Y-%m-%dT%H}:00Z", f"{max(start, last):%Y-%m-%dT%H}:00Z"


def probe_failures(
    db_path: Path, vendor: str, interruptions: Sequence[Interval], margin: timedelta = MARGIN
) -> list[tuple[RegionFailures, ...]]:
    """For each of ``interruptions`` (in order), each region's failures of each of ``vendor``'s
    monitors within ``margin`` of it, by region then monitor; a region that recorded no
    failure there is left out."""
    db = open_read_only(db_path)
    try:
        found = []
        for interruption in interruptions:
            span = Interval(interruption.start - margin, interruption.end + margin)
            bounds = [vendor, to_db_time(span.start), to_db_time(span.end)]
            rows = db.execute(
                "select region, monitor, error, message, count(*), min(at), max(at) "
                "from evidence where vendor = ? and at >= ? and at < ? and ok = 0 "
                "group by region, monitor, error, message order by region, monitor, min(at)",
                bounds,
            ).fetchall()
            first_hour, last_hour = _hours(span)
            probes = dict(
                ((region, monitor), count)
                for region, monitor, count in db.execute(
                    "select s.region, s.monitor, sum(h.probes) from hourly h "
                    "join series s on s.id = h.series "
                    "where s.vendor = ? and h.hour >= ? and h.hour <= ? "
                    "group by s.region, s.monitor",
                    [vendor, first_hour, last_hour],
                )
            )
            by_key: dict[tuple[str, str], list[tuple[str | None, str | None, int, str, str]]] = {}
            for region, monitor, error, message, count, first, last in rows:
                by_key.setdefault((region, monitor), []).append(
                    (error, message, count, first, last)
                )
            found.append(
                tuple(
                    RegionFailures(
                        region,
                        monitor,
                        from_db_time(min(k[3] for k in kinds)),
                        from_db_time(max(k[4] for k in kinds)),
                        sum(k[2] for k in kinds),
                        probes.get((region, monitor), 0),
                        tuple(ErrorCount(e, m, c) for e, m, c, _, _ in kinds),
                    )
                    for (region, monitor), kinds in by_key.items()
                )
            )
        return found
    finally:
        db.close()


class Coverage(NamedTuple):
    """How long one region could see one monitor in the month: ``seen`` of ``elapsed``
    (the month up to when it was read), exact."""

    region: str
    monitor: str
    seen: timedelta
    elapsed: timedelta


def coverage(db_path: Path, vendor: Vendor, period: Interval, now: datetime) -> list[Coverage]:
    """Each region's view of each of ``vendor``'s monitors over ``period`` as read at ``now``,
    by monitor in configuration order, then region."""
    source = ProbeSource(db_path)
    try:
        observed = source.observations([vendor.id], period, now).get(vendor.id)
    finally:
        source.close()
    elapsed = Interval(period.start, max(period.start, min(period.end, now)))
    out = []
    for monitor in vendor.monitors:
        for region in monitor.regions:
            blind: list[Interval] = []
            first = None
            if observed is not None:
                blind += observed.unknown.get(monitor.id, {}).get(region, ())
                first = observed.first_results.get(monitor.id, {}).get(region)
            until = elapsed.end if first is None else min(max(first, elapsed.start), elapsed.end)
            blind.append(Interval(elapsed.start, until))
            seen = elapsed.duration - length(clip(blind, elapsed))
            out.append(Coverage(region, monitor.id, seen, elapsed.duration))
    return out
