"""A collector that cannot write its database, an agent that cannot write its spool, a full
spool: with the real processes (tests/support_crash.py's rig), and the failures made for real
(the file size limit of the process, a file the kernel refuses to write)."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support_crash import Rig, integrity, spooled

from uptime.probing.spool import parse_size
from uptime.probing.wire import WireError, decode_batch


def ignore_sigxfsz() -> None:
    # A process over its file size limit gets SIGXFSZ (which kills it) and then EFBIG: with
    # the signal ignored, write(2) fails as it would on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def file_size_limit(pid: int, limit: int) -> None:
    """Set a running process's file size limit (RLIMIT_FSIZE, ``ulimit -f``); 0: it can write
    no byte to any file, root included."""
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` a file its owner cannot write: chmod for a user, the immutable attribute
    (chattr +i) for root, whom permissions do not stop."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"root cannot make a file read-only here: {done.stderr.strip()}")
        undo = ["chattr", "-i", str(path)]
    else:
        path.chmod(0o444)
        undo = None
    try:
        yield
    finally:
        if undo:
            subprocess.run(undo, check=True)
        else:
            path.chmod(0o644)


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def dropped(spool: Path) -> int:
    """The spool's count of results it had no room for, read beside the agent."""
    with sqlite3.connect(f"file:{spool}?mode=ro", uri=True) as conn:
        row = conn.execute("select value from meta where key = 'dropped'").fetchone()
    return 0 if row is None else int(row[0])


#: The collector's count of an agent's results its spool had no room for.
DROPPED_METRIC = re.compile(
    rb'^uptime_ledger_agent_spool_dropped_results_total\{region="chicago",'
    rb'agent="(chicago-[0-9a-f]{12})"\} (\S+)$',
    re.MULTILINE,
)


def db_rows(db: Path) -> tuple[int, int]:
    """(results stored, the highest sequence number ingested), read beside the collector."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        results = conn.execute("select count(*) from results").fetchone()[0]
        last = conn.execute("select coalesce(max(last_seq), 0) from agent_progress").fetchone()[0]
    return results, last


def lines_with(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if text in line]


def delivered_everything(rig: Rig, region: str) -> None:
    """After the agent stopped: every result it numbered is stored once, nothing is left."""
    from uptime.probing.spool import Spool

    with Spool(rig.spool(region), region) as spool:
        numbered, pending = spool.next_seq - 1, spool.pending()
    assert pending == 0
    with sqlite3.connect(f"file:{rig.db}?mode=ro", uri=True) as conn:
        (stored,) = conn.execute("select count(*) from results").fetchone()
        (distinct,) = conn.execute(
            "select count(*) from (select distinct vendor, monitor, region, at from results)"
        ).fetchone()
        (last,) = conn.execute("select last_seq from agent_progress").fetchone()
    assert stored == distinct == last == numbered
    assert integrity(rig.db) == "ok"


async def test_a_collector_that_cannot_write_answers_503_says_why_and_recovers(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, monitors=10)
    try:
        await rig.start()
        collector = rig.start_collector(piped=True, preexec_fn=ignore_sigxfsz)
        await rig.collector_listening()
        rig.start_agent("chicago")
        await until(lambda: db_rows(rig.db)[1] >= 20, 30, "nothing stored")

        # 1. No byte may be written (the disk is full, as far as the process can tell).
        file_size_limit(collector.pid, 0)
        refused = rig.proxy.answers["chicago", 503]
        await until(lambda: rig.proxy.answers["chicago", 503] > refused, 30, "no 503")
        before = db_rows(rig.db)
        await asyncio.sleep(0.5)
        assert db_rows(rig.db) == before  # nothing partly written
        assert spooled(rig.spool("chicago")) >= 10  # the agent keeps them
        file_size_limit(collector.pid, resource.RLIM_INFINITY)
        await until(lambda: db_rows(rig.db)[1] > before[1], 30, "ingest did not resume")
        log = rig.log("collector")
        [error] = lines_with(log, "cannot store results in")  # once, not per batch
        assert f"{rig.db}: file size limit reached (ulimit -f: 0 bytes)" in error
        assert "ingest answers 503" in error
        assert lines_with(log, "can be written again (file size limit reached")
        assert "Traceback" not in log
        assert await rig.stopped(collector) == 0

        # 2. The database file is read-only when the collector starts: it serves, refuses to
        # store (503, saying so), and stores again once the file is writable, without restart.
        with read_only(rig.db):
            collector = rig.start_collector(piped=True)
            await rig.collector_listening()
            refused = rig.proxy.answers["chicago", 503]
            await until(lambda: rig.proxy.answers["chicago", 503] > refused, 30, "no 503")
            before = db_rows(rig.db)
            await asyncio.sleep(0.5)
            assert db_rows(rig.db) == before
        await until(lambda: db_rows(rig.db)[1] > before[1], 30, "ingest did not resume")
        log = rig.log("collector")
        [_, error] = lines_with(log, "cannot store results in")
        assert f"cannot store results in {rig.db}: read-only (no write permission" in error
        assert lines_with(log, "can be written again (read-only")
        assert "Traceback" not in log
        await until(lambda: spooled(rig.spool("chicago")) < 30, 30, "the spool did not drain")
        assert await rig.stopped(rig.agents["chicago"]) == 0
        assert await rig.stopped(collector) == 0
    finally:
        await rig.close()
    delivered_everything(rig, "chicago")


async def test_an_agent_that_cannot_write_its_spool_stops_with_one_line(tmp_path: Path) -> None:
    rig = Rig(tmp_path, monitors=10)
    try:
        await rig.start()  # no collector: the agent spools
        agent = rig.start_agent("chicago", piped=True, preexec_fn=ignore_sigxfsz)
        await until(lambda: spooled(rig.spool("chicago")) >= 10, 30, "nothing spooled")
        file_size_limit(agent.pid, 0)
        code = await asyncio.to_thread(agent.wait, 30)
    finally:
        await rig.close()
    assert code == 1
    log = rig.log("agent-chicago")
    [error] = lines_with(log, "uptime-ledger: error:")
    assert re.fullmatch(
        rf"uptime-ledger: error: agent chicago-[0-9a-f]{{12}} cannot write its spool "
        rf"{re.escape(str(rig.spool('chicago')))}: file size limit reached \(ulimit -f: 0 "
        r"bytes\) \(.+\); stopping rather than probing results it cannot keep "
        r"\(\d+ results probed since were not kept\)",
        error,
    ), error
    assert "Traceback" not in log
    assert spooled(rig.spool("chicago")) >= 10  # what it had spooled is still there
    assert integrity(rig.spool("chicago")) == "ok"


async def test_a_full_spool_keeps_the_oldest_and_the_collector_counts_the_rest(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, monitors=150)
    cap = 100_000
    try:
        await rig.start()  # no collector yet: the agent spools until its cap
        rig.start_agent("chicago", "--spool-max", "100KB")
        await until(lambda: "is full" in rig.log("agent-chicago"), 40, "the spool never filled")
        # Three rounds dropped (150 monitors probed every second): every monitor's results
        # then have a hole of several seconds, checked below (one round made a 2 s gap).
        await until(lambda: dropped(rig.spool("chicago")) >= 3 * 150, 30, "no batch dropped")
        with sqlite3.connect(f"file:{rig.spool('chicago')}?mode=ro", uri=True) as conn:
            meta = dict(conn.execute("select key, value from meta"))
            (pages,) = conn.execute("pragma page_count").fetchone()
            (free,) = conn.execute("pragma freelist_count").fetchone()
            (page,) = conn.execute("pragma page_size").fetchone()
        assert int(meta["dropped"]) >= 150
        # At most one batch (150 results, a few kB) past the cap.
        assert (pages - free) * page <= cap + 150 * 400
        rig.start_collector()
        await rig.collector_listening()
        await until(lambda: "below its cap again" in rig.log("agent-chicago"), 40, "not drained")
        # A batch or two later the collector has the final count.
        url = f"http://127.0.0.1:{rig.collector_port}/metrics"

        def read() -> bytes:
            return urllib.request.urlopen(url, timeout=30).read()

        deadline = time.monotonic() + 30
        while True:
            metrics = await asyncio.to_thread(read)
            counted = DROPPED_METRIC.search(metrics)
            if counted and float(counted[2]) == dropped(rig.spool("chicago")):
                break
            assert time.monotonic() < deadline, metrics[-2000:]
            await asyncio.sleep(0.2)
        assert await rig.stopped(rig.agents["chicago"]) == 0
        assert await rig.stopped(rig.collector) == 0
    finally:
        await rig.close()
    log = rig.log("agent-chicago")
    [full] = lines_with(log, "is full")
    assert "--spool-max 100000 bytes): new results are not spooled (the oldest are kept)" in full
    with sqlite3.connect(f"file:{rig.spool('chicago')}?mode=ro", uri=True) as conn:
        meta = dict(conn.execute("select key, value from meta"))
    assert counted, metrics[-2000:]
    assert counted[1].decode() == meta["agent_id"]
    assert float(counted[2]) == int(meta["dropped"]) > 0
    [below] = lines_with(log, "below its cap again")
    assert f"{meta['dropped']} results were not spooled while it was full" in below
    delivered_everything(rig, "chicago")
    # The oldest were kept, the newest dropped: a monitor's results have a hole after its
    # first ones, while the spool was full.
    with sqlite3.connect(f"file:{rig.db}?mode=ro", uri=True) as conn:
        at = [
            datetime.fromisoformat(row[0])
            for row in conn.execute("select at from results where monitor = 'm0' order by at")
        ]
    holes = [b - a for a, b in itertools.pairwise(at) if b - a > timedelta(seconds=2.5)]
    assert len(holes) == 1 and holes[0] >= timedelta(seconds=2)


SIZES = [
    ("500MB", 500_000_000),
    ("2GB", 2_000_000_000),
    ("800KiB", 800 * 1024),
    ("1 GiB", 2**30),
    ("100000", 100_000),
    ("1tb", 10**12),
]


@pytest.mark.parametrize(("text", "size"), SIZES, ids=[t for t, _ in SIZES])
def test_spool_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5XB", "is not a size"),
        ("1.5GB", "is not a size"),
        ("", "is not a size"),
        ("99KB", "expected from 100KB to 1TB"),
        ("2TB", "expected from 100KB to 1TB"),
    ],
)
def test_bad_spool_sizes(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_size(text)


@pytest.mark.parametrize("dropped", [-1, True, "3", 2**63, 1.5])
def test_a_bad_spool_dropped_count_is_refused(dropped: object) -> None:
    body = {"agent": "chicago-a", "region": "chicago", "first_seq": 1, "results": []}
    assert decode_batch(body).spool_dropped == 0  # optional
    with pytest.raises(WireError, match=r"body\.spool_dropped"):
        decode_batch({**body, "spool_dropped": dropped})


async def test_a_full_database_refuses_the_whole_batch_and_takes_the_next(tmp_path: Path) -> None:
    # SQLite's own "database or disk is full" (SQLITE_FULL), as on a full disk: the page limit
    # of the collector's connection stands for the disk's size.
    from probes.result import ProbeResult
    from uptime.probing.wire import Batch
    from uptime.store.database import StorageUnwritable
    from uptime.store.recorder import Recorder
    from uptime.store.storage import Storage

    db = tmp_path / "uptime.db"

    def small() -> Storage:
        storage = Storage(db)
        (pages,) = storage.db.execute("pragma page_count").fetchone()
        storage.db.execute(f"pragma max_page_count = {pages + 2}")
        return storage

    recorder = Recorder(small, {}, {"chicago": {("v", "m")}})
    await recorder.open()
    now = datetime.now(UTC)

    def batch(first: int, count: int) -> Batch:
        results = tuple(
            ProbeResult("v", "m", "chicago", now + timedelta(seconds=i), ok=i % 2 == 0, latency=0.1)
            for i in range(first, first + count)
        )
        return Batch("chicago-a", "chicago", first, results)

    try:
        with pytest.raises(StorageUnwritable, match="disk full") as caught:
            await recorder.ingest_batch(batch(1, 3000))
        assert caught.value.reason == "disk full"
        assert await recorder.call(lambda s: s.last_seq("chicago-a")) == 0  # nothing of it
        assert (
            await recorder.call(
                lambda s: s.db.execute("select count(*) from results").fetchone()[0]
            )
            == 0
        )
        await recorder.call(lambda s: s.db.execute("pragma max_page_count = 1000000"))
        assert await recorder.ingest_batch(batch(1, 3000)) == (3000, 0, 3000)
        assert recorder.unwritable is None
    finally:
        await recorder.close()


def test_a_database_that_cannot_be_migrated_says_read_only(tmp_path: Path) -> None:
    from uptime.store.database import StorageUnwritable
    from uptime.store.storage import Storage

    db = tmp_path / "uptime.db"
    sqlite3.connect(db).close()  # an empty SQLite file: its tables are still to be made
    with read_only(db), pytest.raises(StorageUnwritable) as caught:
        Storage(db)
    assert str(caught.value).startswith(
        f"{db}: cannot be used as the uptime-ledger database: read-only (no write permission"
    )


#: In a child process under a file size limit (``ulimit -f``) of argv[2] bytes: a real write
#: that crosses it (argv[3] "write") or another I/O error (argv[3] "other"), put into words.
UNDER_A_LIMIT = """
import resource, signal, sqlite3, sys
from uptime.store.database import write_failure
path, limit, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
if case == "write":
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("create table if not exists t (x)")
            conn.executemany("insert into t values (?)", [(b"x" * 1000,)] * 2000)
    except sqlite3.Error as error:
        print(write_failure(error, path))
else:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorname = "SQLITE_IOERR_WRITE"  # what a failed write(2) gives, EIO say
    print(write_failure(error, path))
"""


@pytest.mark.parametrize(
    ("limit", "case", "reason"),
    [
        (200_000, "write", "file size limit reached (ulimit -f: 200000 bytes)"),
        (2**30, "other", "disk I/O error"),  # a small file far below a finite limit
    ],
    ids=["at-the-limit", "far-below-it"],
)
def test_a_file_size_limit_is_named_only_when_the_file_reaches_it(
    tmp_path: Path, limit: int, case: str, reason: str
) -> None:
    db = tmp_path / "uptime.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x)")
    conn.close()
    done = subprocess.run(
        [sys.executable, "-c", UNDER_A_LIMIT, str(db), str(limit), case],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == reason
