"""The audit trail's chain: any edit, removal or insertion of an event is found (Hypothesis)."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptime.store.audit import append, events, verify, write_lock
from uptime.store.storage import open_writable

ACTIONS = ("exclude", "exclude-undo", "maintenance-add", "claim-mark")
COLUMNS = ("at", "by", "action", "vendor", "month", "detail", "prev_hash", "hash")

details = st.dictionaries(
    st.sampled_from(["reason", "note", "ticket", "start"]),
    st.one_of(st.none(), st.text(max_size=20), st.integers(-5, 5)),
    max_size=3,
)
trails = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.text(min_size=1, max_size=8), details),
    min_size=1,
    max_size=8,
)


def written(folder: Path, trail: list[tuple[str, str, dict]]) -> Path:
    path = folder / "uptime.db"
    db = open_writable(path)
    try:
        at = datetime(2026, 11, 1, tzinfo=UTC)
        for index, (action, by, detail) in enumerate(trail):
            with write_lock(db):
                append(db, action, by, at + timedelta(seconds=index), detail, vendor="v")
        assert verify(db).intact
        assert [e.detail for e in events(db)] == [d for _, _, d in trail]
    finally:
        db.close()
    return path


def tampered(path: Path, sql: str, params: list[object]) -> bool:
    """Whether ``verify`` notices the edit ``sql`` makes."""
    with sqlite3.connect(path) as conn:
        conn.execute("drop trigger if exists audit_events_no_update")
        conn.execute("drop trigger if exists audit_events_no_delete")
        conn.execute(sql, params)
    db = open_writable(path)
    try:
        return not verify(db).intact
    finally:
        db.close()


@settings(max_examples=40, deadline=None)
@given(trail=trails, data=st.data())
def test_editing_any_field_of_any_event_breaks_the_chain(trail: list, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = written(Path(folder), trail)
        seq = data.draw(st.integers(1, len(trail)))
        column = data.draw(st.sampled_from(COLUMNS))
        with sqlite3.connect(path) as conn:
            (value,) = conn.execute(
                f"select {column} from audit_events where seq = ?", [seq]
            ).fetchone()
        replacement = data.draw(st.text(max_size=12).filter(lambda text: text != value))
        assert tampered(
            path, f"update audit_events set {column} = ? where seq = ?", [replacement, seq]
        )


@settings(max_examples=20, deadline=None)
@given(trail=trails.filter(lambda t: len(t) >= 2), data=st.data())
def test_removing_an_event_breaks_the_chain(trail: list, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = written(Path(folder), trail)
        seq = data.draw(st.integers(1, len(trail) - 1))  # the last one: see below
        assert tampered(path, "delete from audit_events where seq = ?", [seq])


def test_removing_the_last_event_is_refused_by_the_database(tmp_path: Path) -> None:
    # A chain cannot tell a trail that ends early from a shorter one: the table refuses the
    # delete itself, and the frozen reports name their close events (checked by verify).
    path = written(tmp_path, [("exclude", "ana", {"reason": "x"})])
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("delete from audit_events where seq = 1")


def test_an_event_cannot_be_replaced_or_inserted_out_of_order(tmp_path: Path) -> None:
    path = written(tmp_path, [("exclude", "ana", {"reason": "x"}), ("exclude", "bo", {})])
    with sqlite3.connect(path) as conn:
        last = conn.execute("select * from audit_events where seq = 2").fetchone()
        # INSERT OR REPLACE deletes the old row without a delete trigger: refused before.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("insert or replace into audit_events values (?,?,?,?,?,?,?,?,?)", last)
        # A new event must follow the last hash.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(
                "insert into audit_events values (3, ?, 'x', 'exclude', 'v', null, '{}', ?, ?)",
                [last[1], "f" * 64, "e" * 64],
            )


def test_a_frozen_report_cannot_be_changed_removed_or_added(tmp_path: Path) -> None:
    path = written(tmp_path, [("exclude", "ana", {"reason": "x"})])
    with sqlite3.connect(path) as conn:
        conn.execute("insert into closed_reports values (1, '2026-10', 'x', x'00')")
        for sql in (
            "update closed_reports set report = x'01'",
            "delete from closed_reports",
            "insert or replace into closed_reports values (1, '2026-10', 'x', x'02')",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="never changed"):
                conn.execute(sql)
