"""Raw probe results as stored: evidence kept long, plain successes kept briefly.

Every stored result is one row of one of two tables:

* ``evidence``: a result that failed, was degraded, carries a message, or changed its region's
  state (a region's first result, the first success after a failure or a silence): what a claim
  cites. Every field, times as fixed-width text. Kept ``probing.evidence_retention``.
* ``successes``: every other result, a plain success. Its time (``at_us``) and certificate expiry
  (``cert_expires_us``) in microseconds since the Unix epoch, its (vendor, monitor, region) as
  the id of a row of ``series``, its agent as the id of a row of ``agents``, its latency and HTTP
  status: a third of an evidence row, and most results. Kept ``probing.retention``; their counts
  and latencies stay in ``hourly`` (``uptime.store.rollups``).

The view ``results`` shows both as one table of every result kept, in the evidence's columns.
Pruning deletes in chunks of at most ``limit`` rows, so that the one writer thread can ingest
between them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from uptime.store.database import insert_rows, to_db_time

if TYPE_CHECKING:
    from probes.result import ProbeResult

#: (vendor, monitor, region)
Key = tuple[str, str, str]

#: Rows one pruning step deletes at most (a few milliseconds of the writer thread).
PRUNE_CHUNK = 5000

#: One row of ``successes``: at_us, series, agent, latency, status, cert_expires_us.
SuccessRow = tuple[int, int, int | None, float, int | None, int | None]


def is_evidence(result: ProbeResult) -> bool:
    """Whether a result says more than "up, this fast" (its state change aside)."""
    return (
        not result.ok or result.degraded or result.error is not None or result.message is not None
    )


class Ids:
    """The small integer ids that ``successes`` and ``hourly`` store instead of names.

    New ids are handed out in memory and written by :meth:`write_new` in the same transaction
    as the rows using them; after a rollback, build a new ``Ids`` from the database.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.series: dict[Key, int] = {
            (vendor, monitor, region): id_
            for id_, vendor, monitor, region in conn.execute(
                "select id, vendor, monitor, region from series"
            )
        }
        self.agents: dict[str, int] = {
            name: id_ for id_, name in conn.execute("select id, name from agents")
        }
        self._next_series = max(self.series.values(), default=0) + 1
        self._next_agent = max(self.agents.values(), default=0) + 1
        self._new_series: list[tuple[int, str, str, str]] = []
        self._new_agents: list[tuple[int, str]] = []

    def series_id(self, key: Key) -> int:
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = self._next_series
            self._next_series += 1
            self._new_series.append((found, *key))
        return found

    def agent_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        found = self.agents.get(name)
        if found is None:
            found = self.agents[name] = self._next_agent
            self._next_agent += 1
            self._new_agents.append((found, name))
        return found

    def write_new(self, conn: sqlite3.Connection) -> None:
        insert_rows(conn, "insert into series (id, vendor, monitor, region)", self._new_series)
        insert_rows(conn, "insert into agents (id, name)", self._new_agents)
        self._new_series, self._new_agents = [], []


def insert_evidence(
    conn: sqlite3.Connection, results: Sequence[ProbeResult], agent: str | None
) -> None:
    insert_rows(
        conn,
        "insert into evidence (vendor, monitor, region, at, ok, degraded, latency, status, "
        "error, message, agent, cert_expires_at)",
        [
            (
                r.vendor,
                r.monitor,
                r.region,
                to_db_time(r.at),
                int(r.ok),
                int(r.degraded),
                r.latency,
                r.status,
                r.error.value if r.error else None,
                r.message,
                agent,
                to_db_time(r.cert_expires_at) if r.cert_expires_at else None,
            )
            for r in results
        ],
    )


def insert_successes(conn: sqlite3.Connection, rows: Sequence[SuccessRow]) -> None:
    # The same success twice (a replayed batch without sequence numbers) is kept once.
    insert_rows(
        conn,
        "insert or ignore into successes (at_us, series, agent, latency, status, cert_expires_us)",
        rows,
    )


def prune_successes(conn: sqlite3.Connection, before_micros: int, limit: int) -> int:
    """Delete at most ``limit`` successes older than ``before_micros``, oldest first."""
    last = conn.execute(
        "select at_us, series from successes where at_us < ? "
        "order by at_us, series limit 1 offset ?",
        [before_micros, limit - 1],
    ).fetchone()
    if last is None:
        cursor = conn.execute("delete from successes where at_us < ?", [before_micros])
    else:
        cursor = conn.execute("delete from successes where (at_us, series) <= (?, ?)", last)
    return cursor.rowcount


def prune_evidence(conn: sqlite3.Connection, before: str, limit: int) -> int:
    """Delete at most ``limit`` evidence rows older than ``before`` (stored text), oldest first."""
    cursor = conn.execute(
        "delete from evidence where rowid in "
        "(select rowid from evidence where at < ? order by at limit ?)",
        [before, limit],
    )
    return cursor.rowcount
