"""SQLite storage (sqlite-utils, WAL, migrations): imported outages and what probes saw.

Times are stored as fixed-width UTC ISO 8601 text (``2025-02-01T08:00:00.000000+00:00``) so that
text order is time order and the file stays readable with the sqlite3 shell.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from credits.intervals import Interval

if TYPE_CHECKING:
    from probes.result import ProbeResult
from uptime.store.states import ClosedInterval, Key, OpenState, StateTracker, open_as_intervals

#: vendor → monitor → region → intervals
Seen = dict[str, dict[str, dict[str, list[Interval]]]]

#: What follows "YYYY-MM-DDTHH:" in the stored text of a whole hour.
HOUR_SUFFIX = "00:00.000000+00:00"

#: Used when a result's monitor has no configured staleness (e.g. removed from the config).
DEFAULT_STALE_AFTER = timedelta(minutes=5)

migrations = Migrations("uptime-ledger")


@migrations()
def m001_outages(db: Database) -> None:
    db["outages"].create(
        {
            "vendor": str,
            "region": str,
            "start": str,
            "end": str,
            "note": str,
            "imported_at": str,
        },
        # The same (vendor, region, start, end) is the same outage: importing it twice is a no-op.
        pk=("vendor", "region", "start", "end"),
    )
    db["outages"].create_index(["start"])
    db["outages"].create_index(["end"])


@migrations()
def m002_probe_results(db: Database) -> None:
    db["results"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "at": str,
            "ok": int,
            "degraded": int,
            "latency": float,
            "status": int,
            "error": str,
            "message": str,
            "agent": str,
        }
    )
    db["results"].create_index(["at"])
    db["state_intervals"].create(
        {"vendor": str, "monitor": str, "region": str, "state": str, "start": str, "end": str},
        pk=("vendor", "monitor", "region", "start"),
    )
    db["state_intervals"].create_index(["start"])
    db["state_intervals"].create_index(["end"])
    db["open_states"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "state": str,
            "start": str,
            "last_seen": str,
            "stale_after_s": float,
        },
        pk=("vendor", "monitor", "region"),
    )
    db["agent_progress"].create({"agent": str, "last_seq": int}, pk="agent")
    db["hourly"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "hour": str,
            "probes": int,
            "failures": int,
            "degraded": int,
            "latency_sum": float,
            "latency_max": float,
        },
        pk=("vendor", "monitor", "region", "hour"),
    )


@migrations()
def m003_down_interval_index(db: Database) -> None:
    # Reports read only down and unknown intervals ending after the month starts: a partial
    # covering index answers that without touching the table.
    db.execute(
        "create index idx_state_intervals_not_up on state_intervals "
        "(\"end\", start, vendor, monitor, region, state) where state != 'up'"
    )


@migrations()
def m004_first_seen(db: Database) -> None:
    # When each (monitor, region) first reported: before that, and for a configured region
    # that never reported, nobody was looking from there.
    db["first_seen"].create(
        {"vendor": str, "monitor": str, "region": str, "at": str},
        pk=("vendor", "monitor", "region"),
    )
    db.execute(
        "insert into first_seen (vendor, monitor, region, at) "
        "select vendor, monitor, region, min(start) from ("
        "  select vendor, monitor, region, start from state_intervals"
        "  union all select vendor, monitor, region, start from open_states"
        ") group by vendor, monitor, region"
    )


@migrations()
def m005_certificate_expiry(db: Database) -> None:
    # The TLS certificate's notAfter as each HTTPS probe saw it: evidence, and a warning ahead.
    db["results"].add_column("cert_expires_at", str)


def insert_rows(
    conn: sqlite3.Connection, insert: str, rows: Sequence[Sequence[object]], upsert: str = ""
) -> None:
    """Run ``insert`` for every row with ONE statement over a JSON array of the rows.

    ``executemany`` releases the GIL for each row; with the event loop busy in the other thread
    the two hand it back and forth thousands of times a batch. One statement per table keeps
    the writer thread cheap. ``upsert`` is an optional ``on conflict ...`` clause."""
    if not rows:
        return
    columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(rows[0])))
    # "where true" lets SQLite's parser tell the upsert clause from a join constraint.
    conn.execute(
        f"{insert} select {columns} from json_each(?) where true {upsert}",
        [json.dumps(rows, separators=(",", ":"))],
    )


def _vendor_filter(vendors: Collection[str] | None) -> tuple[str, list[str]]:
    """An ``and vendor in (...)`` clause and its parameter, or nothing for every vendor."""
    if vendors is None:
        return "", []
    return " and vendor in (select value from json_each(?))", [json.dumps(list(vendors))]


def to_db_time(instant: datetime) -> str:
    """Fixed-width UTC text for an aware datetime."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class OutageRow:
    """One region's outage of one vendor, as imported from another tool's history."""

    vendor: str
    region: str
    interval: Interval
    note: str = ""


class StorageError(Exception):
    """The database file cannot be used (not SQLite, a directory, unreadable...): one line."""


@contextlib.contextmanager
def refusing_unusable(path: str | Path, what: str) -> Iterator[None]:
    """Turn SQLite's complaint about a file that cannot be ``what`` into a :class:`StorageError`
    naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as error:  # OperationalError included
        raise StorageError(f"{path}: cannot be used as {what} ({error})") from None


def open_database(path: str | Path) -> Database:
    """An SQLite file in WAL mode that waits up to 5 s for another writer."""
    db = Database(path)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA busy_timeout = 5000")
    return db


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

    def imported_outages(
        self, period: Interval, vendors: Collection[str] | None = None
    ) -> dict[str, dict[str, list[Interval]]]:
        """Every imported outage overlapping ``period`` (of ``vendors`` only, if given), as
        vendor → region → intervals (unclipped, so an outage's real end is kept). An imported
        outage names a vendor, not a monitor: it applies to all of the vendor's monitors."""
        found: dict[str, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))
        only, parameters = _vendor_filter(vendors)
        cursor = self.db.execute(
            f'select vendor, region, start, "end" from outages where start < ? and "end" > ?{only}',
            [to_db_time(period.end), to_db_time(period.start), *parameters],
        )
        for vendor, region, start, end in cursor:
            found[vendor][region].append(Interval(from_db_time(start), from_db_time(end)))
        return found

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

    def state_views(
        self, period: Interval, now: datetime, vendors: Collection[str] | None = None
    ) -> tuple[Seen, Seen]:
        """Where each region saw each monitor down, and where it was blind, overlapping
        ``period`` (of ``vendors`` only, if given): ``(down, unknown)`` as vendor → monitor →
        region → intervals. Open states are read as of ``now`` (trusted until stale, then
        unknown)."""
        found: dict[tuple[str, str, str, str], list[Interval]] = defaultdict(list)
        only, parameters = _vendor_filter(vendors)
        wanted = None if vendors is None else frozenset(vendors)
        rows = self.db.execute(
            'select state, vendor, monitor, region, start, "end" from state_intervals '
            f"where state != 'up' and \"end\" > ? and start < ?{only}",
            [to_db_time(period.start), to_db_time(period.end), *parameters],
        )
        parse = datetime.fromisoformat
        for state, vendor, monitor, region, start, end in rows:
            found[state, vendor, monitor, region].append(Interval(parse(start), parse(end)))
        for (vendor, monitor, region), current in self.tracker.open.items():
            if wanted is not None and vendor not in wanted:
                continue
            for state, interval in open_as_intervals(current, now):
                if state != "up" and interval.overlaps(period):
                    found[state, vendor, monitor, region].append(interval)
        down: Seen = {}
        unknown: Seen = {}
        for (state, vendor, monitor, region), intervals in found.items():
            target = down if state == "down" else unknown
            target.setdefault(vendor, {}).setdefault(monitor, {})[region] = intervals
        return down, unknown

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
