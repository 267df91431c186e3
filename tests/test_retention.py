"""Evidence retention and bounded storage on real SQLite: which results are kept how long, the
hourly rollups' latency histogram, chunked pruning, and the migration of an existing database."""

from __future__ import annotations

import asyncio
import itertools
import math
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st
from support_probing import wait_for, write_config

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from uptime.config import Probing
from uptime.sources.probes import ProbeSource
from uptime.store.database import open_database
from uptime.store.migrations import migrations
from uptime.store.recorder import Recorder
from uptime.store.rollups import (
    LATENCY_BOUNDS,
    Rollup,
    bucket_of,
    format_buckets,
    hourly_totals,
    parse_buckets,
)
from uptime.store.storage import Storage
from uptime.web.app import make_app

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STALE = {("v", "app"): timedelta(seconds=130)}  # 2 × 60 s + 10 s


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def result(
    seconds: float,
    ok: bool = True,
    *,
    region: str = "chicago",
    latency: float = 0.05,
    degraded: bool = False,
    message: str | None = None,
    cert: datetime | None = None,
) -> ProbeResult:
    return ProbeResult(
        vendor="v",
        monitor="app",
        region=region,
        at=at(seconds),
        ok=ok,
        latency=latency,
        status=200 if ok else 503,
        error=None if ok else FailureClass.STATUS,
        message=message if ok else "HTTP 503",
        degraded=degraded,
        cert_expires_at=cert,
    )


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    store = Storage(tmp_path / "uptime.db")
    yield store
    store.close()


def seconds_kept(storage: Storage, table: str) -> list[float]:
    """When the results kept in ``table`` were taken, as seconds after T0."""
    column = "at" if table == "evidence" else "at_us"
    found = []
    for (value,) in storage.db.execute(f"select {column} from {table} order by {column}"):
        moment = (
            datetime.fromisoformat(value)
            if table == "evidence"
            else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
        )
        found.append((moment - T0).total_seconds())
    return found


# ---------------------------------------------------------------- what is evidence


def test_failures_degraded_messages_and_state_changes_are_evidence(storage: Storage) -> None:
    storage.record_results(
        [
            result(0),  # the region's first result: its state starts
            result(60),
            result(120, ok=False),
            result(180, ok=False),
            result(240),  # the first success after the failure: the outage's end
            result(300),
            result(360, degraded=True, message="slow: 2.100s > 2s"),
            result(420),
            result(480, message="said something"),
            result(540),
            result(900),  # after a silence longer than the stale limit: unknown → up
            result(960),
        ],
        STALE,
    )
    assert seconds_kept(storage, "evidence") == [0, 120, 180, 240, 360, 480, 900]
    assert seconds_kept(storage, "successes") == [60, 300, 420, 540, 960]


def test_a_late_result_is_evidence_only_if_it_says_something(storage: Storage) -> None:
    storage.record_results([result(0), result(120)], STALE)
    storage.record_results([result(60), result(90, ok=False)], STALE)  # out of order
    assert seconds_kept(storage, "evidence") == [0, 90]
    assert seconds_kept(storage, "successes") == [60, 120]


def test_results_view_shows_every_kept_result_as_the_old_table_did(storage: Storage) -> None:
    expires = datetime(2027, 1, 31, 23, 59, 59, 250000, tzinfo=UTC)
    batch = [
        result(0, cert=expires),
        result(60.000001, latency=0.123456789, cert=expires),
        result(120, ok=False),
        result(180, region="atlanta"),
    ]
    storage.record_results(batch[:3], STALE, agent="chicago-1", first_seq=1)
    storage.record_results(batch[3:], STALE)  # no agent (a test or an import)
    rows = storage.db.execute("select * from results order by at, region").fetchall()
    names = ("v", "app")
    cert = "2027-01-31T23:59:59.250000+00:00"
    assert rows == [
        (*names, "chicago", t("12:00:00"), 1, 0, 0.05, 200, None, None, "chicago-1", cert),
        (*names, "chicago", "2025-03-01T12:01:00.000001+00:00", 1, 0, 0.123456789, 200, None,
         None, "chicago-1", cert),
        (*names, "chicago", t("12:02:00"), 0, 0, 0.05, 503, "status", "HTTP 503", "chicago-1",
         None),
        (*names, "atlanta", t("12:03:00"), 1, 0, 0.05, 200, None, None, None, None),
    ]  # fmt: skip
    assert seconds_kept(storage, "successes") == [60.000001]


def test_a_success_stored_twice_is_kept_once(storage: Storage) -> None:
    storage.record_results([result(0), result(60)], STALE)
    storage.record_results([result(60)], STALE)  # no sequence numbers: nothing to dedupe by
    assert seconds_kept(storage, "successes") == [60]


def test_a_failed_batch_leaves_nothing_and_the_next_one_is_stored(storage: Storage) -> None:
    storage.record_results([result(0)], STALE)
    broken = replace(result(60), vendor=None)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        storage.record_results([replace(result(30), region="atlanta"), broken], STALE)
    assert storage.db.execute("select count(*) from series").fetchone() == (1,)
    storage.record_results([result(90, region="atlanta"), result(120)], STALE)
    assert storage.db.execute("select id, region from series order by id").fetchall() == [
        (1, "chicago"),
        (2, "atlanta"),
    ]
    assert storage.db["results"].count == 3


# ---------------------------------------------------------------- pruning


def test_prune_keeps_evidence_past_the_raw_retention(storage: Storage) -> None:
    storage.record_results([result(s, ok=s != 120) for s in range(0, 600, 60)], STALE)
    hourly_before = list(storage.db["hourly"].rows)
    intervals_before = list(storage.db["state_intervals"].rows)
    assert storage.prune(raw_before=at(400), evidence_before=at(0)) == 4  # 60, 240, 300, 360
    assert seconds_kept(storage, "successes") == [420, 480, 540]
    assert seconds_kept(storage, "evidence") == [0, 120, 180]
    assert storage.prune(raw_before=at(400), evidence_before=at(150)) == 2
    assert seconds_kept(storage, "evidence") == [180]
    # The counts, latencies and state intervals the pruned rows made stay.
    assert list(storage.db["hourly"].rows) == hourly_before
    assert list(storage.db["state_intervals"].rows) == intervals_before


def test_prune_deletes_at_most_a_chunk_oldest_first(storage: Storage) -> None:
    storage.record_results([result(s) for s in range(0, 60 * 30, 60)], STALE)
    raw, evidence = at(60 * 30), at(60 * 30)
    assert storage.prune(raw, evidence, limit=7) == 7
    assert seconds_kept(storage, "successes")[0] == 8 * 60  # 60 … 420 went first
    assert storage.prune(raw, evidence, limit=7) == 7
    assert storage.prune(raw, evidence, limit=7) == 7
    assert storage.prune(raw, evidence, limit=7) == 7
    assert storage.prune(raw, evidence, limit=7) == 2  # the last success, then the evidence
    assert storage.prune(raw, evidence, limit=7) == 0
    assert storage.db["results"].count == 0


async def test_recorder_prunes_in_chunks_that_let_ingest_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer_calls: list[str] = []

    def logged(name: str, method: Callable[..., int]) -> Callable[..., int]:
        def call(self: Storage, *args: object) -> int:
            writer_calls.append(name)
            return method(self, *args)

        return call

    monkeypatch.setattr(Storage, "prune", logged("prune", Storage.prune))
    monkeypatch.setattr(Storage, "record_results", logged("ingest", Storage.record_results))
    recorder = Recorder(tmp_path / "uptime.db", STALE, {"chicago": {("v", "app")}})
    await recorder.open()
    try:
        await recorder.ingest([result(s) for s in range(0, 60 * 200, 60)])
        writer_calls.clear()
        now = at(60 * 200) + Probing().retention
        pruning = asyncio.create_task(
            recorder.prune(now, Probing().retention, Probing().evidence_retention, chunk=10)
        )
        await asyncio.sleep(0)  # the first chunk is handed to the writer thread
        assert await recorder.ingest([result(60 * 200)]) == 1
        assert await pruning == 199  # every success but the first result (evidence)
        # 20 chunks, and the batch was written right after the first one.
        assert writer_calls == ["prune", "ingest"] + ["prune"] * 19
        assert await recorder.call(lambda s: s.db["results"].count) == 2
    finally:
        await recorder.close()


async def test_collector_prunes_with_the_configured_retentions(
    aiohttp_client: object, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=401), now - timedelta(days=3)
    stale = {("sim", "m0"): timedelta(seconds=130)}

    def probe(when: datetime, ok: bool) -> ProbeResult:
        return ProbeResult("sim", "m0", "chicago", when, ok, 0.1, 200 if ok else 503)

    storage = Storage(tmp_path / "uptime.db")
    storage.record_results(
        [
            probe(old, False),  # evidence, past the 400 days
            probe(recent, False),  # evidence, kept
            probe(recent + timedelta(minutes=1), True),  # the outage's end: evidence, kept
            probe(recent + timedelta(minutes=2), True),  # a plain success, past the 48 hours
            probe(now - timedelta(hours=1), False),
            probe(now - timedelta(minutes=59), True),
            probe(now - timedelta(minutes=58), True),  # a plain success, kept
        ],
        stale,
    )
    storage.close()

    def count() -> int:
        with sqlite3.connect(tmp_path / "uptime.db") as db:
            return db.execute("select count(*) from results").fetchone()[0]

    client: TestClient = await aiohttp_client(  # type: ignore[operator]
        make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens={})
    )
    assert client.app is not None
    assert await wait_for(lambda: count() == 5, 5)
    with sqlite3.connect(tmp_path / "uptime.db") as db:
        kept = [row[0] for row in db.execute("select at from results order by at")]
    assert kept[0] == recent.isoformat(timespec="microseconds")
    assert len(kept) == 5


# ---------------------------------------------------------------- rollups


def test_hourly_rollups_keep_a_latency_histogram(storage: Storage) -> None:
    latencies = [0.09, 0.11, 0.12, 0.125, 0.13, 0.2, 2.5, 100.0]
    storage.record_results(
        [result(i * 60, latency=lat) for i, lat in enumerate(latencies[:4])], STALE
    )
    storage.record_results(
        [result(i * 60, latency=lat) for i, lat in enumerate(latencies) if i >= 4], STALE
    )
    storage.record_results([result(3600, latency=0.3)], STALE)  # the next hour
    rows = storage.db.execute(
        "select hour, probes, latency_sum, latency_max, latency_buckets from hourly order by hour"
    ).fetchall()
    assert rows == [
        ("2025-03-01T12:00Z", 8, pytest.approx(sum(latencies)), 100.0,
         "20:1,3,1,1 34:1 50:1"),
        ("2025-03-01T13:00Z", 1, 0.3, 0.3, "25:1"),
    ]  # fmt: skip
    (totals,) = hourly_totals(storage.db.conn, Interval(T0, T0 + timedelta(hours=2))).values()
    assert totals.probes == 9 and totals.latency_max == 100.0
    # Of 9 probes, the 5th (0.13 s) is the median: in the bucket (0.125 s, 0.15 s].
    assert 0.125 < totals.latency_quantile(0.5) <= 0.15
    assert totals.latency_quantile(1) == 100.0  # the overflow bucket reads as the maximum


def test_hourly_totals_read_the_hours_starting_in_the_period(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "uptime.db")
    stale = {("v", "app"): timedelta(hours=2)}
    hours = [-1, 0, 1, 2]
    storage.record_results([result(h * 3600 + 1800) for h in hours], stale)
    storage.record_results([replace(result(0), vendor="w")], {("w", "app"): timedelta(hours=2)})
    storage.close()
    # A read-only connection is enough (reports and the web read that way).
    with sqlite3.connect(f"file:{tmp_path / 'uptime.db'}?mode=ro", uri=True) as db:
        middle = hourly_totals(db, Interval(T0 - timedelta(minutes=30), at(2 * 3600)))
        only_w = hourly_totals(db, Interval(T0, at(3600)), vendors=["w"])
    assert {key: r.probes for key, r in middle.items()} == {
        ("v", "app", "chicago"): 2,  # the hours starting at 12:00 and 13:00
        ("w", "app", "chicago"): 1,
    }
    assert list(only_w) == [("w", "app", "chicago")]


@given(
    st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), min_size=1, max_size=200),
    st.floats(min_value=0, max_value=1),
)
def test_a_quantile_read_from_the_histogram_lies_in_the_true_value_s_bucket(
    latencies: list[float], q: float
) -> None:
    rollup = Rollup()
    for latency in latencies:
        rollup.add(True, False, latency)
    estimate = rollup.latency_quantile(q)
    ordered = sorted(latencies)
    true = ordered[max(1, math.ceil(q * len(ordered))) - 1]
    index = bucket_of(true)
    assert estimate is not None and estimate <= max(latencies)
    if index == len(LATENCY_BOUNDS):
        assert estimate == max(latencies)
    else:
        low = LATENCY_BOUNDS[index - 1] if index else 0.0
        assert low <= estimate <= LATENCY_BOUNDS[index]


@given(st.dictionaries(st.integers(0, len(LATENCY_BOUNDS)), st.integers(1, 10**6)))
def test_a_histogram_reads_back_as_stored(counts: dict[int, int]) -> None:
    assert parse_buckets(format_buckets(counts)) == counts


def test_a_histogram_is_stored_as_runs_of_buckets() -> None:
    assert format_buckets({22: 17, 20: 3, 21: 40, 34: 1, 35: 0}) == "20:3,40,17 34:1"
    assert parse_buckets(None) == parse_buckets("") == {}


def test_bucket_bounds_are_fixed_ten_per_decade() -> None:
    assert len(LATENCY_BOUNDS) == 50
    assert (LATENCY_BOUNDS[0], LATENCY_BOUNDS[20], LATENCY_BOUNDS[-1]) == (0.001, 0.1, 80.0)
    assert all(1 < b / a <= 1.34 for a, b in itertools.pairwise(LATENCY_BOUNDS))
    assert [bucket_of(x) for x in (0, 0.001, 0.0010001, 80.0, 80.1)] == [0, 0, 1, 49, 50]


# ---------------------------------------------------------------- the migration

#: The schema as commit 77e212f's migrations (m001 to m005) left it.
SCHEMA_BEFORE = {
    "_sqlite_migrations": (
        'CREATE TABLE "_sqlite_migrations" ( "id" INTEGER PRIMARY KEY, "migration_set" TEXT, '
        '"name" TEXT, "applied_at" TEXT )'
    ),
    "agent_progress": (
        'CREATE TABLE "agent_progress" ( "agent" TEXT PRIMARY KEY, "last_seq" INTEGER )'
    ),
    "first_seen": (
        'CREATE TABLE "first_seen" ( "vendor" TEXT, "monitor" TEXT, "region" TEXT, "at" TEXT,'
        ' PRIMARY KEY ("vendor", "monitor", "region") )'
    ),
    "hourly": (
        'CREATE TABLE "hourly" ( "vendor" TEXT, "monitor" TEXT, "region" TEXT, "hour" TEXT, '
        '"probes" INTEGER, "failures" INTEGER, "degraded" INTEGER, "latency_sum" REAL, '
        '"latency_max" REAL, PRIMARY KEY ("vendor", "monitor", "region", "hour") )'
    ),
    "idx__sqlite_migrations_migration_set_name": (
        'CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name" ON '
        '"_sqlite_migrations" ("migration_set", "name")'
    ),
    "idx_outages_end": 'CREATE INDEX "idx_outages_end" ON "outages" ("end")',
    "idx_outages_start": 'CREATE INDEX "idx_outages_start" ON "outages" ("start")',
    "idx_results_at": 'CREATE INDEX "idx_results_at" ON "results" ("at")',
    "idx_state_intervals_end": (
        'CREATE INDEX "idx_state_intervals_end" ON "state_intervals" ("end")'
    ),
    "idx_state_intervals_not_up": (
        'CREATE INDEX idx_state_intervals_not_up on state_intervals ("end", start, vendor, '
        "monitor, region, state) where state != 'up'"
    ),
    "idx_state_intervals_start": (
        'CREATE INDEX "idx_state_intervals_start" ON "state_intervals" ("start")'
    ),
    "open_states": (
        'CREATE TABLE "open_states" ( "vendor" TEXT, "monitor" TEXT, "region" TEXT, "state" '
        'TEXT, "start" TEXT, "last_seen" TEXT, "stale_after_s" REAL, PRIMARY KEY ("vendor", '
        '"monitor", "region") )'
    ),
    "outages": (
        'CREATE TABLE "outages" ( "vendor" TEXT, "region" TEXT, "start" TEXT, "end" TEXT, '
        '"note" TEXT, "imported_at" TEXT, PRIMARY KEY ("vendor", "region", "start", "end") )'
    ),
    "results": (
        'CREATE TABLE "results" ( "vendor" TEXT, "monitor" TEXT, "region" TEXT, "at" TEXT, '
        '"ok" INTEGER, "degraded" INTEGER, "latency" REAL, "status" INTEGER, "error" TEXT, '
        '"message" TEXT, "agent" TEXT , "cert_expires_at" TEXT)'
    ),
    "state_intervals": (
        'CREATE TABLE "state_intervals" ( "vendor" TEXT, "monitor" TEXT, "region" TEXT, '
        '"state" TEXT, "start" TEXT, "end" TEXT, PRIMARY KEY ("vendor", "monitor", "region", '
        '"start") )'
    ),
}


def t(hh_mm_ss: str) -> str:
    """The stored text of 2025-03-01 at ``hh:mm:ss`` UTC."""
    return f"2025-03-01T{hh_mm_ss}.000000+00:00"


#: What the code at 77e212f wrote for: chicago probed from 11:55 on (all but the 11:59 result
#: of that hour pruned already), down at 12:01, back at 12:02, slow at 12:03, a certificate
#: at 12:04; atlanta's one result at 12:00:30, in-process.
OLD_RESULTS = [
    ("v", "app", "chicago", t("11:59:00"), 1, 0, 0.1, 200, None, None, "a1", None),
    ("v", "app", "chicago", t("12:00:00"), 1, 0, 0.1, 200, None, None, "a1", None),
    ("v", "app", "chicago", t("12:01:00"), 0, 0, 10.0, None, "timeout", "timed out", "a1", None),
    ("v", "app", "chicago", t("12:02:00"), 1, 0, 0.2, 200, None, None, "a1", None),
    ("v", "app", "chicago", t("12:03:00"), 1, 1, 2.5, 200, None, "slow: 2.500s > 2s", "a1", None),
    ("v", "app", "chicago", t("12:04:00"), 1, 0, 0.123, 200, None, None, "a1", t("23:59:59")),
    ("v", "app", "atlanta", t("12:00:30"), 1, 0, 0.05, 200, None, None, "local", None),
]
OLD_HOURLY = [
    ("v", "app", "chicago", t("11:00:00"), 5, 0, 0, 0.5, 0.1),
    ("v", "app", "chicago", t("12:00:00"), 5, 1, 1, 12.923, 10.0),
    ("v", "app", "atlanta", t("12:00:00"), 1, 0, 0, 0.05, 0.05),
]
OLD_KEPT = {
    "state_intervals": [
        ("v", "app", "chicago", "up", t("11:55:00"), t("12:01:00")),
        ("v", "app", "chicago", "down", t("12:01:00"), t("12:02:00")),
    ],
    "open_states": [
        ("v", "app", "chicago", "up", t("12:02:00"), t("12:04:00"), 130.0),
        ("v", "app", "atlanta", "up", t("12:00:30"), t("12:00:30"), 130.0),
    ],
    "first_seen": [("v", "app", "chicago", t("11:55:00")), ("v", "app", "atlanta", t("12:00:30"))],
    "outages": [("v", "chicago", t("01:00:00"), t("02:00:00"), "imported", t("09:00:00"))],
    "agent_progress": [("a1", 6)],
}


def old_database(path: Path) -> None:
    db = open_database(path)
    migrations.apply(db, stop_before="m006_evidence_and_compact_results")
    schema = {
        name: " ".join(sql.split())
        for name, sql in db.execute("select name, sql from sqlite_master where sql is not null")
    }
    assert schema == SCHEMA_BEFORE  # the migrations up to m005 are still those of 77e212f
    with db.conn:
        db.conn.executemany(f"insert into results values ({', '.join('?' * 12)})", OLD_RESULTS)
        db.conn.executemany(f"insert into hourly values ({', '.join('?' * 9)})", OLD_HOURLY)
        for table, rows in OLD_KEPT.items():
            marks = ", ".join("?" * len(rows[0]))
            db.conn.executemany(f"insert into {table} values ({marks})", rows)
    db.close()


def test_migration_keeps_every_row_of_an_existing_database(tmp_path: Path) -> None:
    old_database(tmp_path / "uptime.db")
    storage = Storage(tmp_path / "uptime.db")
    try:
        db = storage.db
        # Every result is still there, field for field, through the view.
        assert sorted(db.execute("select * from results")) == sorted(OLD_RESULTS)
        # The failure, the recovery (it opened the open state), the slow result and atlanta's
        # first result are evidence; the others plain successes.
        evidence = db.execute("select region, at from evidence order by at").fetchall()
        assert evidence == [
            ("atlanta", t("12:00:30")),
            ("chicago", t("12:01:00")),
            ("chicago", t("12:02:00")),
            ("chicago", t("12:03:00")),
        ]
        assert db.execute("select count(*) from successes").fetchone() == (3,)
        for table, rows in OLD_KEPT.items():
            assert sorted(db.execute(f"select * from {table}")) == sorted(rows), table
        # Rollups keep their counts; an hour whose raw results are all here gets a histogram.
        hourly = db.execute(
            "select s.region, h.hour, h.probes, h.failures, h.degraded, h.latency_sum, "
            "h.latency_max, h.latency_buckets from hourly h join series s on s.id = h.series "
            "order by h.hour, s.region"
        ).fetchall()
        assert hourly == [
            ("chicago", "2025-03-01T11:00Z", 5, 0, 0, 0.5, 0.1, None),  # 1 raw result of 5
            ("atlanta", "2025-03-01T12:00Z", 1, 0, 0, 0.05, 0.05, "17:1"),
            ("chicago", "2025-03-01T12:00Z", 5, 1, 1, 12.923, 10.0, "20:1,1 23:1 34:1 40:1"),
        ]
        # Recording goes on from where the old code stopped.
        storage.record_results([replace(result(5 * 60, latency=0.12))], STALE, "a1", 7)
        assert storage.last_seq("a1") == 7
        row = db.execute(
            "select probes, latency_buckets from hourly join series s on s.id = series "
            "where region = 'chicago' and hour = '2025-03-01T12:00Z'"
        ).fetchone()
        assert row == (6, "20:1,2 23:1 34:1 40:1")
        assert seconds_kept(storage, "successes")[-1] == 300  # still up: a plain success
        source = ProbeSource(tmp_path / "uptime.db")
        try:
            seen = source.observations(["v"], Interval(T0 - timedelta(hours=1), at(600)), at(310))
        finally:
            source.close()
        assert seen["v"].down["app"]["chicago"] == [Interval(at(60), at(120))]
    finally:
        storage.close()
    # Opened again, nothing is migrated twice.
    Storage(tmp_path / "uptime.db").close()
