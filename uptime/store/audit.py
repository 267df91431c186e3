"""The audit trail: every change finance relies on, append-only and tamper-evident.

Exclusions and their undoing, maintenance windows added from the command line, closes and
reopens of a month, and claim marks are each one :class:`Event`: when, who, what, for which
vendor and month, and the details as JSON. The trail is the record itself (``uptime.store.finance``
reads the exclusions, windows, closes and marks back from it), so nothing finance relies on can
change without an event saying so.

Each event carries the SHA-256 of the one before (``prev_hash``) and its own ``hash`` over
``prev_hash`` and its canonical JSON: editing, removing or inserting an event breaks the chain
from there on, and :func:`verify` says where. The database refuses ``UPDATE`` and ``DELETE`` on
the table (triggers); someone who drops them and edits the file is caught by :func:`verify`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from uptime.store.database import from_db_time, to_db_time

#: The ``prev_hash`` of the first event.
GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    """One entry of the audit trail (``seq`` counts from 1)."""

    seq: int
    at: datetime
    by: str
    action: str
    vendor: str | None
    month: str | None
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    by: str,
    action: str,
    vendor: str | None,
    month: str | None,
    detail: str,
) -> str:
    """The SHA-256 (hex) chaining an event to the one before it."""
    canonical = json.dumps(
        [seq, at, by, action, vendor, month, json.loads(detail)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


@contextlib.contextmanager
def write_lock(db: Database) -> Iterator[None]:
    """A transaction holding SQLite's write lock from its first statement (``BEGIN
    IMMEDIATE``), so that what is checked inside it (a closed month, the last event) cannot
    change before it commits, whichever process writes."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("begin immediate")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def append(
    db: Database,
    action: str,
    by: str,
    at: datetime,
    detail: Mapping[str, Any],
    *,
    vendor: str | None = None,
    month: str | None = None,
) -> Event:
    """Add an event at the end of the trail; call inside :func:`write_lock`, with the checks
    that allow it, so that the event and what it records commit together."""
    last = db.execute("select seq, hash from audit_events order by seq desc limit 1").fetchone()
    seq, prev_hash = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    at_text = to_db_time(at)
    detail_text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
    digest = event_hash(prev_hash, seq, at_text, by, action, vendor, month, detail_text)
    db.execute(
        "insert into audit_events (seq, at, by, action, vendor, month, detail, prev_hash, hash) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at_text, by, action, vendor, month, detail_text, prev_hash, digest],
    )
    return Event(seq, from_db_time(at_text), by, action, vendor, month, detail, prev_hash, digest)


def events(db: Database) -> list[Event]:
    """Every event, in order."""
    try:
        rows = db.execute(
            "select seq, at, by, action, vendor, month, detail, prev_hash, hash "
            "from audit_events order by seq"
        ).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []  # a database no writer has brought to this version yet has no trail
        raise
    return [
        Event(seq, from_db_time(at), by, action, vendor, month, json.loads(detail), prev, digest)
        for seq, at, by, action, vendor, month, detail, prev, digest in rows
    ]


def as_bytes(stored: bytes | str) -> bytes:
    """A stored report's bytes (a blob edited with SQL text functions comes back as text)."""
    return stored.encode() if isinstance(stored, str) else bytes(stored)


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: how many events were checked and the first problem."""

    events: int
    problem: str | None
    #: the hash of the last event (``GENESIS`` for an empty trail)
    last: str = GENESIS

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify(db: Database) -> Verdict:
    """Check the chain: numbering without gaps, each ``prev_hash`` the hash before it, each
    ``hash`` recomputed from the event as stored, every close's frozen report present and
    matching the SHA-256 its close event recorded.

    What a chain without a secret cannot see: someone who rewrites an event *and recomputes
    every hash after it* (or cuts events off the end) leaves a chain that is consistent in
    itself. The last hash, printed by ``close`` and ``audit --verify``, kept anywhere outside
    the database (the claim e-mail, a ticket, a printout) shows that too: :attr:`Verdict.last`
    must still be, or follow, the one kept."""
    rows = db.execute(
        "select seq, at, by, action, vendor, month, detail, prev_hash, hash "
        "from audit_events order by seq"
    ).fetchall()
    prev = GENESIS
    for expected, (seq, at, by, action, vendor, month, detail, prev_hash, digest) in enumerate(
        rows, start=1
    ):
        if seq != expected:
            return Verdict(len(rows), f"event {expected} is missing (next is {seq})")
        if prev_hash != prev:
            return Verdict(len(rows), f"event {seq} does not follow event {seq - 1}")
        try:
            recomputed = event_hash(prev_hash, seq, at, by, action, vendor, month, detail)
        except ValueError:
            return Verdict(len(rows), f"event {seq} has unreadable details")
        if recomputed != digest:
            return Verdict(len(rows), f"event {seq} ({action}) was changed after it was written")
        prev = digest
    closes = {row[0]: (row[5], json.loads(row[6])) for row in rows if row[3] == "close"}
    stored = dict(db.execute("select seq, report from closed_reports").fetchall())
    for seq in stored.keys() - closes.keys():
        return Verdict(len(rows), f"a frozen report names close event {seq}, which is not one")
    for seq, (month, detail) in sorted(closes.items()):
        if seq not in stored:
            return Verdict(len(rows), f"the frozen report of {month} (event {seq}) is missing")
        if hashlib.sha256(as_bytes(stored[seq])).hexdigest() != detail["sha256"]:
            return Verdict(len(rows), f"the frozen report of {month} was changed after its close")
    return Verdict(len(rows), None, prev)
