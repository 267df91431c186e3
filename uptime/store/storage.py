"""The database of a running uptime-ledger, as its one writer sees it: imported outages and what
probes saw go in here; reports read them back through ``uptime.sources``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from credits.intervals import Interval

if TYPE_CHECKING:
    from probes.result import ProbeResult
from uptime.probing.spool import SPOOL_TABLES
from uptime.store.audit import write_lock
from uptime.store.database import (
    StorageError,
    from_db_time,
    insert_rows,
    open_database,
    refusing_unusable,
    to_db_micros,
    to_db_time,
)
from uptime.store.migrations import migrations
from uptime.store.results import (
    PRUNE_CHUNK,
    Ids,
    SuccessRow,
    insert_evidence,
    insert_successes,
    is_evidence,
    prune_evidence,
    prune_successes,
)
from uptime.store.rollups import hours_of, write_hourly
from uptime.store.states import (
    MAX_CLOCK_SKEW,
    ClosedInterval,
    Key,
    News,
    OpenState,
    State,
    StateTracker,
    interned,
)

#: Used when a result's monitor has no configured staleness (e.g. removed from the config).
DEFAULT_STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class OutageRow:
    """One region's outage of one vendor, as imported from another tool's history."""

    vendor: str
    region: str
    interval: Interval
    note: str = ""


def _open_state(tracker: StateTracker, key: Key) -> tuple[str, datetime] | None:
    """A key's open state and since when: a result that changes it is evidence."""
    current = tracker.open.get(key)
    return None if current is None else (current.state, current.start)


def refuse_a_spool(db: Database, path: str | Path) -> None:
    """Refuse to turn a remote agent's spool into the database (``--db`` given a spool file)."""
    tables = set(db.table_names())
    if tables >= SPOOL_TABLES and "_sqlite_migrations" not in tables:
        raise StorageError(
            f"{path}: is a remote agent's spool, not the uptime-ledger database; give --db "
            "the database file (default ./uptime.db)"
        )


def open_writable(path: str | Path) -> Database:
    """The database at ``path`` for writing: created if missing, brought to this version's
    schema (the writers' side of :func:`uptime.store.database.open_read_only`)."""
    with refusing_unusable(path, "the uptime-ledger database"):
        db = open_database(path)
        try:
            refuse_a_spool(db, path)
            migrations.apply(db)
        except BaseException:
            db.close()
            raise
        return db


class Storage:
    """The one database of a running uptime-ledger; use from one thread at a time."""

    def __init__(self, path: str | Path, *, max_clock_skew: timedelta = MAX_CLOCK_SKEW) -> None:
        self.path = Path(path)
        self.max_clock_skew = max_clock_skew
        self.news = News()
        with refusing_unusable(path, "the uptime-ledger database"):
            self.db = open_writable(path)
            self._load_memory()

    def _load_memory(self) -> None:
        """What the storage keeps in memory for speed, as committed in the database."""
        self.tracker = StateTracker(self._load_open_states(), max_skew=self.max_clock_skew)
        self.ids = Ids(self.db.conn)
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
            interned((vendor, monitor, region)): OpenState(
                state, from_db_time(start), from_db_time(last_seen), timedelta(seconds=stale)
            )
            for vendor, monitor, region, state, start, last_seen, stale in rows
        }

    def close(self) -> None:
        self.db.close()

    def reopen(self) -> None:
        """Open the file again (SQLite keeps a connection it opened read-only read-only)."""
        self.db.close()
        with refusing_unusable(self.path, "the uptime-ledger database"):
            self.db = open_writable(self.path)
            self._load_memory()

    def add_outages(
        self,
        rows: Iterable[OutageRow],
        imported_at: datetime,
        check_new: Callable[[list[OutageRow]], None] | None = None,
    ) -> int:
        """Insert outages in one transaction; rows already present are left as they are.
        ``check_new`` sees the rows that are new, under the write lock, and may refuse them
        all by raising (a closed month): then nothing is imported.

        Returns how many rows were new.
        """
        rows = list(rows)
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
        with write_lock(self.db):
            if check_new is not None:
                present = {
                    (vendor, region, start, end)
                    for vendor, region, start, end in self.db.execute(
                        "select vendor, region, start, end from outages"
                    )
                }
                check_new(
                    [
                        row
                        for row, record in zip(rows, records, strict=True)
                        if (row.vendor, row.region, record["start"], record["end"]) not in present
                    ]
                )
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
                changed = self._write_batch(batch, stale_after, agent)
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
        # After the commit: a reader that sees the count sees what it counts.
        self.news.add(changed)
        return len(batch)

    def _write_batch(
        self,
        batch: list[ProbeResult],
        stale_after: Mapping[tuple[str, str], timedelta],
        agent: str | None,
    ) -> set[str]:
        """Write ``batch``; returns the vendors whose open states or first results changed."""
        changed: set[str] = set()
        closed: list[ClosedInterval] = []
        touched: set[Key] = set()
        new_keys: list[tuple[str, str, str, str]] = []
        evidence: list[ProbeResult] = []
        successes: list[SuccessRow] = []
        hourly: list[tuple[int, int, bool, bool, float]] = []
        agent_id = self.ids.agent_id(agent)
        for r in batch:
            key = (r.vendor, r.monitor, r.region)
            limit = stale_after.get((r.vendor, r.monitor), DEFAULT_STALE_AFTER)
            before = _open_state(self.tracker, key)
            closed.extend(self.tracker.observe(r, limit))
            touched.add(key)
            moved = _open_state(self.tracker, key) != before
            if moved or key not in self.first_seen:
                changed.add(r.vendor)
            if key not in self.first_seen:
                self.first_seen[key] = r.at
                new_keys.append((*key, to_db_time(r.at)))
            series = self.ids.series_id(key)
            at_micros = to_db_micros(r.at)
            if moved or is_evidence(r):
                evidence.append(r)
            else:
                cert = r.cert_expires_at
                successes.append(
                    (
                        at_micros,
                        series,
                        agent_id,
                        r.latency,
                        r.status,
                        None if cert is None else to_db_micros(cert),
                    )
                )
            hourly.append((series, at_micros, r.ok, r.degraded, r.latency))
        conn = self.db.conn
        self.ids.write_new(conn)
        insert_evidence(conn, evidence, agent)
        insert_successes(conn, successes)
        write_hourly(conn, hours_of(hourly))
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
        return changed

    def region_states(self, now: datetime) -> dict[Key, tuple[State, datetime, datetime]]:
        """Each (vendor, monitor, region) → its state at ``now``, since when, and its last
        result. A state no longer trusted reads unknown since it went stale."""
        states = {}
        for key, current in self.tracker.open.items():
            trusted = current.last_seen + current.stale_after
            if now > trusted:
                states[key] = ("unknown", trusted, current.last_seen)
            else:
                states[key] = (current.state, current.start, current.last_seen)
        return states

    def current_states(self, now: datetime) -> list[dict[str, object]]:
        """:meth:`region_states` as one record per (vendor, monitor, region), in order."""
        return [
            {
                "vendor": vendor,
                "monitor": monitor,
                "region": region,
                "state": state,
                "since": since,
                "last_seen": last_seen,
            }
            for (vendor, monitor, region), (state, since, last_seen) in sorted(
                self.region_states(now).items()
            )
        ]

    def failures_since(self, since: Mapping[Key, datetime]) -> dict[Key, str]:
        """The latest failure of each (vendor, monitor, region) at or after its ``since``, in
        words (its message, else its failure class and status): the evidence of a region's
        current down state. Keys with no failure since are left out."""
        found = {}
        for (vendor, monitor, region), start in since.items():
            row = self.db.execute(
                "select error, status, message from evidence where at >= ? and vendor = ? "
                "and monitor = ? and region = ? and ok = 0 order by at desc limit 1",
                [to_db_time(start), vendor, monitor, region],
            ).fetchone()
            if row is not None:
                error, status, message = row
                found[vendor, monitor, region] = message or " ".join(
                    str(part) for part in (error, status) if part is not None
                )
        return found

    def prune(
        self, raw_before: datetime, evidence_before: datetime, limit: int = PRUNE_CHUNK
    ) -> int:
        """Delete at most ``limit`` raw results, oldest first: plain successes older than
        ``raw_before``, then evidence older than ``evidence_before``; state intervals and
        hourly rollups stay. Returns how many were deleted: fewer than ``limit`` once nothing
        is left to prune."""
        conn = self.db.conn
        with self.db.atomic():
            deleted = prune_successes(conn, to_db_micros(raw_before), limit)
            if deleted < limit:
                deleted += prune_evidence(conn, to_db_time(evidence_before), limit - deleted)
        return deleted
