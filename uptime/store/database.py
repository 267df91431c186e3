"""Opening the SQLite file, and the text form of times in it.

Times are stored as fixed-width UTC ISO 8601 text (``2025-02-01T08:00:00.000000+00:00``) so that
text order is time order and the file stays readable with the sqlite3 shell. The one exception is
the bulk of raw results, plain successes (``uptime.store.results``): there the time is a whole
number of microseconds since the Unix epoch, a quarter of the bytes of the text, and the
``results`` view shows it as text again.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import json
import os
import resource
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from credits.intervals import MICROSECOND
from uptime.errors import UptimeLedgerError


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


def vendor_filter(vendors: Collection[str] | None) -> tuple[str, list[str]]:
    """An ``and vendor in (...)`` clause and its parameter, or nothing for every vendor."""
    if vendors is None:
        return "", []
    return " and vendor in (select value from json_each(?))", [json.dumps(list(vendors))]


def to_db_time(instant: datetime) -> str:
    """Fixed-width UTC text for an aware datetime."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_db_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime, exactly (no float on the way)."""
    return (instant - _EPOCH) // MICROSECOND


def from_db_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def micros_as_text(column: str) -> str:
    """SQL giving the fixed-width text of :func:`to_db_time` for a column of microseconds."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000000, 'unixepoch') "
        f"|| printf('.%06d+00:00', {column} % 1000000)"
    )


def text_as_micros(column: str) -> str:
    """SQL giving the microseconds of a column holding the fixed-width text of
    :func:`to_db_time` (the inverse of :func:`micros_as_text`)."""
    return (
        f"cast(strftime('%s', substr({column}, 1, 19)) as integer) * 1000000 "
        f"+ cast(substr({column}, 21, 6) as integer)"
    )


class StorageError(UptimeLedgerError):
    """The database file cannot be used (not SQLite, a directory, unreadable...): one line."""


class StorageUnwritable(StorageError):
    """A write failed for a reason outside the program (disk full, a read-only file or file
    system, the file size limit, an I/O error): :attr:`reason` says which, in a few words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


#: Free bytes under which a failed write is put down to a full disk.
_NEARLY_FULL = 1024 * 1024

#: The most SQLite writes at once: its largest page in a WAL frame (page plus 24-byte header).
_LARGEST_WRITE = 65536 + 24


def _largest_size(path: str | Path) -> int:
    """The size of the biggest of the database's files (itself, its WAL, its journal)."""
    sizes = [0]
    for name in (str(path), f"{path}-wal", f"{path}-journal"):
        with contextlib.suppress(OSError):
            sizes.append(os.stat(name).st_size)
    return max(sizes)


def write_failure(error: BaseException, path: str | Path) -> str | None:
    """Why writing the SQLite file at ``path`` failed with ``error``, in a few words ("disk
    full", "read-only file system", ...), or None when the cause is not the file's or the
    disk's (a locked database, a bug). SQLite reports a failed write(2) other than ENOSPC as a
    bare I/O error, so the disk, the file system and this process's limits are looked at."""
    if Path(path).is_dir():
        return None  # not a database file at all
    name = getattr(error, "sqlite_errorname", "") or ""
    errno_ = getattr(error, "errno", None)
    if name.startswith("SQLITE_READONLY") or errno_ in (_errno.EROFS, _errno.EACCES):
        where = Path(path).resolve()
        if not os.access(where, os.W_OK) or not os.access(where.parent, os.W_OK):
            return "read-only (no write permission on the file or its directory)"
        return "read-only"
    if name == "SQLITE_FULL" or errno_ == _errno.ENOSPC:
        return "disk full"
    if not (name.startswith("SQLITE_IOERR") or name == "SQLITE_CANTOPEN" or errno_):
        return None
    directory = Path(path).resolve().parent
    try:
        disk = os.statvfs(directory)
    except OSError:
        return "disk I/O error"
    if disk.f_flag & os.ST_RDONLY:
        return "read-only file system"
    if disk.f_bavail * disk.f_frsize < _NEARLY_FULL:
        return "disk full"
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    # Only when a file is at the limit, or the next write would cross it: any finite limit is
    # not the cause of every I/O error.
    if limit != resource.RLIM_INFINITY and _largest_size(path) + _LARGEST_WRITE > limit:
        return f"file size limit reached (ulimit -f: {limit} bytes)"
    if name == "SQLITE_CANTOPEN":
        return "cannot open the file (is its directory writable?)"
    return "disk I/O error"


@contextlib.contextmanager
def refusing_unusable(path: str | Path, what: str) -> Iterator[None]:
    """Turn SQLite's complaint about a file that cannot be ``what`` into a :class:`StorageError`
    naming the file (a :class:`StorageUnwritable` saying why when it cannot be written)."""
    try:
        yield
    except sqlite3.DatabaseError as error:  # OperationalError included
        reason = write_failure(error, path)
        if reason is not None and reason != "disk I/O error":  # that one says nothing more
            raise StorageUnwritable(
                f"{path}: cannot be used as {what}: {reason} ({error})", reason
            ) from None
        raise StorageError(f"{path}: cannot be used as {what} ({error})") from None


def open_database(path: str | Path) -> Database:
    """An SQLite file in WAL mode that waits up to 5 s for another writer."""
    db = Database(path)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA busy_timeout = 5000")
    return db


class DatabaseNotReady(StorageError):
    """A reader found no database, or one that no writer has brought to this version's schema:
    readers never create or migrate it."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: What a reader tells the user to do when the database is not there or not up to date.
_WRITERS = "import outages (uptime-ledger import-outages) or run the monitor (uptime-ledger run)"


def open_read_only(path: str | Path) -> Database:
    """The database at ``path`` for reading only (SQLite ``mode=ro``): reports, listings and the
    web's reads use this. It is never created, migrated or switched to WAL here; only the writer
    does that. A missing database, or one lacking any of this version's migrations, is a
    :class:`DatabaseNotReady` naming the file."""
    # Imported here: the migrations use this module's time helpers.
    from uptime.store.migrations import migrations

    path = Path(path)
    if not path.exists():
        raise DatabaseNotReady(f"{path}: no such database; {_WRITERS} first", exit_code=2)
    with refusing_unusable(path, "the uptime-ledger database"):
        conn = _connect_read_only(path)
        try:
            db = Database(conn)
            applied = {m.name for m in migrations.applied(db)}
            pending = [m.name for m in migrations.pending(db)]
        except BaseException:
            conn.close()
            raise
    if pending:
        conn.close()
        if not applied:
            raise DatabaseNotReady(f"{path}: has no uptime-ledger tables; {_WRITERS} first")
        raise DatabaseNotReady(
            f"{path}: has an older uptime-ledger schema (lacks {', '.join(pending)}); "
            "start this version's writer once (uptime-ledger run, or import-outages) to "
            "upgrade it"
        )
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        # mode=ro cannot read a WAL database whose -shm file it may not create (a read-only
        # copy in a read-only directory). With no WAL file left, every committed page is in the
        # database file itself, so reading it as immutable reads exactly what was committed.
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise DatabaseNotReady(
                f"{path}: cannot be read here: {wal.name} holds commits not yet in the "
                "database file and no reader may open it in this directory; read a copy "
                "made while no writer had it open, or from a directory this user may write"
            ) from None
    conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    conn.execute("select count(*) from sqlite_master").fetchone()
    return conn
