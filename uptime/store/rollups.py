"""Hourly rollups: what each (vendor, monitor, region) saw in each UTC hour, kept for good.

Raw successes are kept only ``probing.retention`` (``uptime.store.results``), so counts and
latency over any longer period are read from here: probes, failures, degraded results, the sum
and maximum of their latencies, and a latency histogram.

The histogram has fixed bucket bounds, :data:`LATENCY_BOUNDS`: upper bounds in seconds,
inclusive (Prometheus' ``le``), ten per decade from 1 ms to 80 s, then one bucket for anything
slower. A percentile read from it lies in the bucket of the exact one: between 1 ms and 80 s, off
by a third of the value at most. It covers every probe of the hour, failed ones included, as the
``uptime_ledger_probe_duration_seconds`` histogram does. It is stored as text, each run of
non-empty buckets as the first bucket's index, a colon and the runs' counts:
``"20:3,40,17 34:1"`` is 3 probes in (0.08 s, 0.1 s], 40 in (0.1 s, 0.125 s], 17 in
(0.125 s, 0.15 s] (buckets 20 to 22) and 1 in (2 s, 2.5 s] (bucket 34).

The table ``hourly`` is keyed by ``series`` (the id of a (vendor, monitor, region), see
``uptime.store.results``) and ``hour``, the hour's start as ``2025-02-01T08:00Z``.
"""

from __future__ import annotations

import json
import sqlite3
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from credits.intervals import Interval
from uptime.store.database import from_db_micros, insert_rows

#: Upper bounds of the latency buckets, in seconds; index ``len(LATENCY_BOUNDS)`` is the
#: bucket of everything slower than the last.
LATENCY_BOUNDS: tuple[float, ...] = tuple(
    float(f"{mantissa}e{exponent}")
    for exponent in range(-3, 2)
    for mantissa in ("1", "1.25", "1.5", "2", "2.5", "3", "4", "5", "6", "8")
)

#: A whole hour, in microseconds.
HOUR_MICROS = 3_600_000_000

#: Key of a rollup row: (vendor, monitor, region).
Key = tuple[str, str, str]


def bucket_of(latency: float) -> int:
    """The index of the bucket ``latency`` (seconds) falls in."""
    return bisect_left(LATENCY_BOUNDS, latency)


def hour_text(hour_start: datetime) -> str:
    """The stored text of the UTC hour starting at ``hour_start``."""
    return hour_start.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")


def parse_buckets(text: str | None) -> dict[int, int]:
    """The counts of a stored histogram (``None``: an hour migrated without one)."""
    counts: dict[int, int] = {}
    for run in (text or "").split():
        first, _, run_counts = run.partition(":")
        for offset, count in enumerate(run_counts.split(",")):
            counts[int(first) + offset] = int(count)
    return counts


def format_buckets(counts: Mapping[int, int]) -> str:
    """The stored text of a histogram's counts (bucket index → probes)."""
    runs: list[list[int]] = []  # [first index, count, count, ...]
    for index in sorted(i for i, count in counts.items() if count):
        if runs and runs[-1][0] + len(runs[-1]) - 1 == index:
            runs[-1].append(counts[index])
        else:
            runs.append([index, counts[index]])
    return " ".join(f"{run[0]}:{','.join(map(str, run[1:]))}" for run in runs)


@dataclass(slots=True)
class Rollup:
    """Counts and latencies of some probes: one hour's, or several hours' summed."""

    probes: int = 0
    failures: int = 0
    degraded: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0
    #: bucket index → probes; empty for hours migrated from before histograms were kept
    buckets: dict[int, int] = field(default_factory=dict)

    def add(self, ok: bool, degraded: bool, latency: float) -> None:
        self.probes += 1
        self.failures += not ok
        self.degraded += degraded
        self.latency_sum += latency
        self.latency_max = max(self.latency_max, latency)
        index = bucket_of(latency)
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def merge(self, other: Rollup) -> None:
        self.probes += other.probes
        self.failures += other.failures
        self.degraded += other.degraded
        self.latency_sum += other.latency_sum
        self.latency_max = max(self.latency_max, other.latency_max)
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count

    def latency_quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0–1) of the latencies in the histogram, interpolated linearly
        inside its bucket as Prometheus' ``histogram_quantile`` does, and never above the
        largest latency seen; ``None`` without a histogram."""
        if not 0 <= q <= 1:
            raise ValueError(f"quantile {q} is not between 0 and 1")
        total = sum(self.buckets.values())
        if not total:
            return None
        rank = q * total
        seen = 0
        for index in sorted(self.buckets):
            count = self.buckets[index]
            if seen + count >= rank and count:
                if index == len(LATENCY_BOUNDS):
                    return self.latency_max
                low = LATENCY_BOUNDS[index - 1] if index else 0.0
                high = LATENCY_BOUNDS[index]
                within = min(low + (high - low) * (rank - seen) / count, high)  # rounding
                return min(within, self.latency_max)
            seen += count
        return self.latency_max  # not reached: the last bucket holds rank total


def write_hourly(conn: sqlite3.Connection, added: Mapping[tuple[int, str], Rollup]) -> None:
    """Add ``added`` ((series, hour) → the batch's rollup) to the stored rows."""
    if not added:
        return
    merged = {key: Rollup() for key in added}
    # A join, not "(series, hour) in (...)": SQLite would look the row up by series alone.
    stored = conn.execute(
        "select h.series, h.hour, h.probes, h.failures, h.degraded, h.latency_sum, "
        "h.latency_max, h.latency_buckets from json_each(?) j join hourly h "
        "on h.series = json_extract(j.value, '$[0]') and h.hour = json_extract(j.value, '$[1]')",
        [json.dumps(list(added))],
    )
    for series, hour, *counts, latency_max, buckets in stored:
        merged[series, hour] = Rollup(*counts, latency_max, parse_buckets(buckets))
    for key, rollup in added.items():
        merged[key].merge(rollup)
    insert_rows(
        conn,
        "insert or replace into hourly (series, hour, probes, failures, degraded, latency_sum, "
        "latency_max, latency_buckets)",
        [
            (
                *key,
                r.probes,
                r.failures,
                r.degraded,
                r.latency_sum,
                r.latency_max,
                format_buckets(r.buckets) or None,
            )
            for key, r in merged.items()
        ],
    )


def hourly_totals(
    conn: sqlite3.Connection, period: Interval, vendors: Collection[str] | None = None
) -> dict[Key, Rollup]:
    """Each (vendor, monitor, region)'s rollups of the hours starting in ``period``, summed
    (of ``vendors`` only, if given). Works on a read-only connection."""
    only, parameters = "", []
    if vendors is not None:
        only = " and s.vendor in (select value from json_each(?))"
        parameters = [json.dumps(list(vendors))]
    first = _first_hour_at_or_after(period.start)
    rows = conn.execute(
        "select s.vendor, s.monitor, s.region, h.probes, h.failures, h.degraded, "
        "h.latency_sum, h.latency_max, h.latency_buckets "
        # Series first (a cross join keeps SQLite to that order), then each one's hours in
        # the period by the primary key, rather than every hour ever kept.
        "from series s cross join hourly h on h.series = s.id "
        f"where h.hour >= ? and h.hour < ?{only}",
        [hour_text(first), _hour_bound(period.end), *parameters],
    )
    totals: dict[Key, Rollup] = {}
    for vendor, monitor, region, *counts, latency_max, buckets in rows:
        hour = Rollup(*counts, latency_max, parse_buckets(buckets))
        totals.setdefault((vendor, monitor, region), Rollup()).merge(hour)
    return totals


def _first_hour_at_or_after(instant: datetime) -> datetime:
    floor = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(hours=1)


def _hour_bound(end: datetime) -> str:
    """Text below which every hour starting before ``end`` sorts."""
    return hour_text(_first_hour_at_or_after(end))


def hours_of(rows: Iterable[tuple[int, int, bool, bool, float]]) -> dict[tuple[int, str], Rollup]:
    """Rollups of ``(series, at_micros, ok, degraded, latency)`` rows by (series, hour)."""
    texts: dict[int, str] = {}
    rollups: dict[tuple[int, str], Rollup] = {}
    for series, at_micros, ok, degraded, latency in rows:
        hour = at_micros - at_micros % HOUR_MICROS
        text = texts.get(hour)
        if text is None:
            text = texts[hour] = hour_text(from_db_micros(hour))
        key = (series, text)
        rollup = rollups.get(key)
        if rollup is None:
            rollup = rollups[key] = Rollup()
        rollup.add(ok, degraded, latency)
    return rollups
