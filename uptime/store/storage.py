"""The database of a running uptime-ledger, as its one writer sees it: imported outages and what
probes saw go in here; reports read them back through ``uptime.sources``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from credits.intervals import Interval

if TYPE_CHECKING:
    from probes.result import ProbeResult
from uptime.store.database import (
    HOUR_SUFFIX,
    from_db_time,
    insert_rows,
    open_database,
    refusing_unusable,
    to_db_time,
)
from uptime.store.migrations import migrations
from uptime.store.states import ClosedInterval, Key, OpenState, StateTracker

#: Used when a result's monitor has no configured staleness (e.g. removed from the config).
DEFAULT_STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class OutageRow:
    """One region's outage of one vendor, as imported from another tool's history."""

    vendor: str
    region: str
    interval: Interval
    note: str = ""


class Storage:
    """The one database of a running uptime-ledger; use from one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with refusing_unusable(path, "the uptime-ledger database"):
            self.db = open_database(path)
            migrations.apply(self.db)
            self._load_memory()

    def _load_memory(self) -> None:
        """What the storage keeps in memory for speed, as committed in the database."""
        self.tracker = StateTracker(self._load_open_states())
        self.first_seen: dict[Key, datetime] = {
            (vendor, monitor, region): from_db_time(at)
            for vendor, monitor, region, at in self.db.execute(
                "select vendor, monitor, region, at from first_seen"
            )
        }

    def _load_open_states(self) -> dict[Key, OpenState]:
        rows = self.db.execute(
            "select vendor, monitor, region, state, start, last_seen, stale_after_s "
            "from open_states"
        )
        return {
            (vendor, monitor, region): OpenState(
                state, from_db_time(start), from_db_time(last_seen), timedelta(seconds=stale)
            )
            for vendor, monitor, region, state, start, last_seen, stale in rows
        }

    def close(self) -> None:
        self.db.close()

    def add_outages(self, rows: Iterable[OutageRow], imported_at: datetime) -> int:
        """Insert outages in one transaction; rows already present are left as they are.

        Returns how many rows were new.
        """
        imported = to_db_time(imported_at)
        records = [
            {
                "vendor": row.vendor,
                "region": row.region,
                "start": to_db_time(row.interval.start),
                "end": to_db_time(row.interval.end),
                "note": row.note,
                "imported_at": imported,
            }
            for row in rows
        ]
        with self.db.atomic():
            # "insert or ignore" changes only the rows it inserts.
            before = self.db.conn.total_changes
            self.db["outages"].insert_all(records, ignore=True, batch_size=1000)
            return self.db.conn.total_changes - before

    def last_seq(self, agent: str) -> int:
        """The last sequence number ingested from ``agent`` (0 before the first)."""
        row = self.db.execute(
            "select last_seq from agent_progress where agent = ?", [agent]
        ).fetchone()
        return row[0] if row else 0

    def record_results(
        self,
        results: Sequence[ProbeResult],
        stale_after: Mapping[tuple[str, str], timedelta],
        agent: str | None = None,
        first_seq: int | None = None,
    ) -> int:
        """Store a batch of results in one transaction and move the state intervals.

        With ``agent`` and ``first_seq`` the results carry the sequence numbers ``first_seq``,
        ``first_seq + 1``, …; those already ingested from that agent are skipped, so a replayed
        batch counts nothing twice. ``stale_after[(vendor, monitor)]`` is how long a region's
        state is trusted without a new result. Returns how many results were new.
        """
        batch = list(results)
        if agent is not None and first_seq is not None:
            already = self.last_seq(agent) - first_seq + 1
            batch = batch[max(0, already) :]
        if not batch:
            return 0
        try:
            with self.db.atomic():
                self._write_batch(batch, stale_after, agent)
                if agent is not None and first_seq is not None:
                    self.db.execute(
                        "insert into agent_progress (agent, last_seq) values (?, ?) "
                        "on conflict(agent) do update set last_seq = excluded.last_seq",
                        [agent, first_seq + len(results) - 1],
                    )
        except BaseException:
            # The tracker moved in memory; the transaction did not: reload what was committed.
            self._load_memory()
            raise
        return len(batch)

    def _write_batch(
        self,
        batch: list[ProbeResult],
        stale_after: Mapping[tuple[str, str], timedelta],
        agent: str | None,
    ) -> None:
        at_texts = [to_db_time(r.at) for r in batch]
        insert_rows(
            self.db.conn,
            "insert into results (vendor, monitor, region, at, ok, degraded, latency, status, "
            "error, message, agent, cert_expires_at)",
            [
                (
                    r.vendor,
                    r.monitor,
                    r.region,
                    at_text,
                    int(r.ok),
                    int(r.degraded),
                    r.latency,
                    r.status,
                    r.error.value if r.error else None,
                    r.message,
                    agent,
                    to_db_time(r.cert_expires_at) if r.cert_expires_at else None,
                )
                for r, at_text in zip(batch, at_texts, strict=True)
            ],
        )
        closed: list[ClosedInterval] = []
        touched: set[Key] = set()
        new_keys: list[tuple[str, str, str, str]] = []
        hourly: dict[tuple[str, str, str, str], list[float]] = {}
        for r, at_text in zip(batch, at_texts, strict=True):
            limit = stale_after.get((r.vendor, r.monitor), DEFAULT_STALE_AFTER)
            closed.extend(self.tracker.observe(r, limit))
            key = (r.vendor, r.monitor, r.region)
            touched.add(key)
            if key not in self.first_seen:
                self.first_seen[key] = r.at
                new_keys.append((*key, at_text))
            hour = at_text[:14] + HOUR_SUFFIX  # the fixed-width text of the hour's start
            bucket = hourly.setdefault((r.vendor, r.monitor, r.region, hour), [0, 0, 0, 0.0, 0.0])
            bucket[0] += 1
            bucket[1] += not r.ok
            bucket[2] += r.degraded
            bucket[3] += r.latency
            bucket[4] = max(bucket[4], r.latency)
        conn = self.db.conn
        insert_rows(
            conn, "insert or ignore into first_seen (vendor, monitor, region, at)", new_keys
        )
        insert_rows(
            conn,
            'insert or replace into state_intervals (vendor, monitor, region, state, start, "end")',
            [
                (*c.key, c.state, to_db_time(c.interval.start), to_db_time(c.interval.end))
                for c in closed
            ],
        )
        insert_rows(
            conn,
            "insert or replace into open_states (vendor, monitor, region, state, start, last_seen, "
            "stale_after_s)",
            [
                (
                    *key,
                    (o := self.tracker.open[key]).state,
                    to_db_time(o.start),
                    to_db_time(o.last_seen),
                    o.stale_after.total_seconds(),
                )
                for key in touched
            ],
        )
        insert_rows(
            conn,
            "insert into hourly (vendor, monitor, region, hour, probes, failures, degraded, "
            "latency_sum, latency_max)",
            [(*key, *values) for key, values in hourly.items()],
            "on conflict(vendor, monitor, region, hour) do update set "
            "probes = probes + excluded.probes, failures = failures + excluded.failures, "
            "degraded = degraded + excluded.degraded, "
            "latency_sum = latency_sum + excluded.latency_sum, "
            "latency_max = max(latency_max, excluded.latency_max)",
        )

    def current_states(self, now: datetime) -> list[dict[str, object]]:
        """Each (vendor, monitor, region)'s state at ``now``, with since when and its last
        result."""
        states = []
        for (vendor, monitor, region), current in sorted(self.tracker.open.items()):
            stale = now > current.trusted_until()
            states.append(
                {
                    "vendor": vendor,
                    "monitor": monitor,
                    "region": region,
                    "state": "unknown" if stale else current.state,
                    "since": current.trusted_until() if stale else current.start,
                    "last_seen": current.last_seen,
                }
            )
        return states

    def prune_results(self, older_than: datetime) -> int:
        """Delete raw results older than the retention limit; intervals and rollups stay."""
        with self.db.atomic():
            cursor = self.db.execute("delete from results where at < ?", [to_db_time(older_than)])
        return cursor.rowcount
