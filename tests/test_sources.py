"""The sources on real SQLite: what our probes and the imported history saw, read back through
their own read-only connections, as a report reads them."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credits.intervals import Interval
from credits.month import Observations, merge_observations
from probes.result import FailureClass, ProbeResult
from uptime.sources import Source, database_sources, observe
from uptime.sources.imported import ImportedSource
from uptime.sources.probes import ProbeSource
from uptime.store.database import DatabaseNotReady
from uptime.store.storage import OutageRow, Storage

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PERIOD = Interval(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
VENDORS = ("v", "w", "o'neil")  # a quote must not break a query
STALE = {(v, "app"): timedelta(seconds=130) for v in VENDORS}
REGIONS = ("chicago", "atlanta")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def result(vendor: str, seconds: float, ok: bool, region: str = "chicago") -> ProbeResult:
    return ProbeResult(
        vendor=vendor,
        monitor="app",
        region=region,
        at=at(seconds),
        ok=ok,
        latency=0.05,
        status=200 if ok else 503,
        error=None if ok else FailureClass.STATUS,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Every vendor probed from chicago (a closed down interval, then one still open at 200 s)
    and from atlanta from 60 s on, and one imported outage each, from chicago."""
    path = tmp_path / "uptime.db"
    storage = Storage(path)
    try:
        for vendor in VENDORS:
            storage.record_results(
                [
                    result(vendor, seconds, ok)
                    for seconds, ok in ((0, True), (60, False), (120, True), (180, False))
                ]
                + [result(vendor, 60, True, "atlanta")],
                STALE,
            )
        storage.add_outages(
            [OutageRow(v, "chicago", Interval(at(600), at(900))) for v in VENDORS],
            imported_at=T0,
        )
    finally:
        storage.close()
    return path


def read(
    source: Source, vendors: tuple[str, ...], now: datetime, period: Interval = PERIOD
) -> dict[str, Observations]:
    try:
        return source.observations(vendors, period, now)
    finally:
        source.close()


def test_probes_give_down_and_blind_intervals_and_first_results(db: Path) -> None:
    seen = read(ProbeSource(db), VENDORS, at(200))
    assert set(seen) == set(VENDORS)
    w = seen["w"]
    # The open down state counts until now; atlanta is trusted until 60 + 130 s, then blind.
    assert w.down == {"app": {"chicago": [Interval(at(60), at(120)), Interval(at(180), at(200))]}}
    assert w.unknown == {"app": {"atlanta": [Interval(at(190), at(200))]}}
    assert w.first_results == {"app": {"chicago": at(0), "atlanta": at(60)}}
    assert w.reported_down == {}


def test_imported_history_is_what_each_site_reported(db: Path) -> None:
    seen = read(ImportedSource(db), VENDORS, at(200))
    assert seen == {
        v: Observations(reported_down={"chicago": [Interval(at(600), at(900))]}) for v in VENDORS
    }
    # An outage is read whole when it overlaps the period, not cut to it; one that ends as the
    # period starts does not overlap it.
    late = read(ImportedSource(db), ("w",), at(200), Interval(at(899), at(2000)))
    assert late["w"].reported_down == {"chicago": [Interval(at(600), at(900))]}
    assert read(ImportedSource(db), ("w",), at(200), Interval(at(900), at(2000))) == {}


def observe_all(db: Path, vendors: list[str]) -> dict[str, Observations]:
    sources = database_sources(db)
    try:
        return observe(sources, vendors, PERIOD, at(200))
    finally:
        for source in sources:
            source.close()


def test_reads_can_be_limited_to_some_vendors(db: Path) -> None:
    everyone = observe_all(db, list(VENDORS))
    some = observe_all(db, ["w", "o'neil"])
    assert set(everyone) == set(VENDORS)
    assert some == {"w": everyone["w"], "o'neil": everyone["o'neil"]}
    assert observe_all(db, []) == {}


def test_observe_merges_every_source_per_vendor(db: Path) -> None:
    merged = observe_all(db, ["w"])["w"]
    probes = read(ProbeSource(db), ("w",), at(200))["w"]
    assert merged == replace(probes, reported_down={"chicago": [Interval(at(600), at(900))]})


def test_first_results_survive_a_restart_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "uptime.db"
    for batch in (
        [result("v", 30, True), result("v", 60, True, "atlanta")],
        [result("v", 90, True)],
    ):
        storage = Storage(path)
        storage.record_results(batch, STALE)
        storage.close()
    seen = read(ProbeSource(path), ("v",), at(100))
    assert seen["v"].first_results == {"app": {"chicago": at(30), "atlanta": at(60)}}


def test_merging_keeps_every_interval_and_the_earliest_first_result() -> None:
    a = Observations(
        down={"app": {"chicago": [Interval(at(0), at(10))]}},
        first_results={"app": {"chicago": at(5)}},
    )
    b = Observations(
        down={"app": {"chicago": [Interval(at(20), at(30))], "atlanta": [Interval(at(0), at(1))]}},
        unknown={"hub": {"chicago": [Interval(at(0), at(2))]}},
        reported_down={"chicago": [Interval(at(40), at(50))]},
        first_results={"app": {"chicago": at(3), "atlanta": at(9)}},
    )
    assert merge_observations([a, b]) == Observations(
        down={
            "app": {
                "chicago": [Interval(at(0), at(10)), Interval(at(20), at(30))],
                "atlanta": [Interval(at(0), at(1))],
            }
        },
        unknown={"hub": {"chicago": [Interval(at(0), at(2))]}},
        reported_down={"chicago": [Interval(at(40), at(50))]},
        first_results={"app": {"chicago": at(3), "atlanta": at(9)}},
    )
    assert merge_observations([a, Observations()]) is a
    assert merge_observations([]) == Observations()


def test_a_source_cannot_write(db: Path) -> None:
    source = ProbeSource(db)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            source.db.execute("delete from outages")
    finally:
        source.close()


def test_a_source_never_creates_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotReady, match="no such database"):
        ProbeSource(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_a_probe_revision_changes_with_every_state_change(tmp_path: Path) -> None:
    """A vendor's revision changes when a region changes state, even when the new state began
    at the very millisecond of the last one, and when a start moves; it stays the same when
    only a fresh result came (last seen moved)."""
    path = tmp_path / "uptime.db"
    Storage(path).close()  # creates and migrates the database
    t0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
    now = t0 + timedelta(seconds=30)

    def write(state: str, start: datetime, last_seen: datetime) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "insert or replace into open_states (vendor, monitor, region, state, start, "
                "last_seen, stale_after_s) values ('acme', 'app', 'chicago', ?, ?, ?, 120)",
                [state, start.isoformat(timespec="microseconds"), last_seen.isoformat()],
            )

    def revision() -> object:
        source = ProbeSource(path)
        try:
            return source.revisions(["acme"], now)["acme"]
        finally:
            source.close()

    write("down", t0, t0)
    down = revision()
    write("down", t0, t0 + timedelta(seconds=10))  # a fresh result, same state
    assert revision() == down
    write("up", t0, t0 + timedelta(seconds=20))  # up at the very start of the down state
    up = revision()
    assert up.tag != down.tag
    write("up", t0 - timedelta(seconds=1), t0 + timedelta(seconds=20))  # a start moved earlier
    assert revision().tag != up.tag


def test_revisions_read_with_the_writers_news_are_those_read_without(tmp_path: Path) -> None:
    """Given the writer's news, the probe source reads a vendor's revision again only when it
    has news, is moving or went stale, and answers exactly what a fresh read answers: over a
    random run of batches (transitions, fresh results, results out of order, a vendor's
    first result) and of quiet spells in which states go stale."""
    path = tmp_path / "uptime.db"
    storage = Storage(path)
    with_news = ProbeSource(path, storage.news)
    plain = ProbeSource(path)
    read = with_news._read
    reads: list[str] = []  # each vendor whose revision it read

    def counted(vendors: Collection[str], now: datetime, before: None) -> object:
        reads.extend(vendors)
        return read(vendors, now, before)

    with_news._read = counted  # type: ignore[method-assign]
    rng = random.Random(8)
    clock = 0.0
    try:
        for _ in range(400):
            if rng.random() < 0.7:
                batch = [
                    result(
                        rng.choice(VENDORS),
                        clock - rng.choice((0, 0, 0, 5)),  # now and then a late one
                        rng.random() < 0.9,
                        rng.choice(REGIONS),
                    )
                    for _ in range(rng.randint(1, 4))
                ]
                storage.record_results(sorted(batch, key=lambda r: r.at), STALE)
            clock += rng.choice((1, 5, 10, 10, 30, 200))  # 200: past STALE, unless news
            now = at(clock)
            assert with_news.revisions(VENDORS, now) == plain.revisions(VENDORS, now)
        # Every vendor up and fresh: nothing is read again until there is news of one...
        clock += 1000
        storage.record_results([result(v, clock, True, r) for v in VENDORS for r in REGIONS], STALE)
        seen = with_news.revisions(VENDORS, at(clock))
        reads.clear()
        assert with_news.revisions(VENDORS, at(clock + 60)) == seen
        storage.record_results([result("v", clock + 61, True)], STALE)  # no news: still up
        assert with_news.revisions(VENDORS, at(clock + 62)) == seen
        assert reads == []
        storage.record_results([result("w", clock + 63, False)], STALE)
        assert with_news.revisions(VENDORS, at(clock + 64)) == plain.revisions(
            VENDORS, at(clock + 64)
        )
        assert reads == ["w"]
        # ...or one of its states goes stale (130 s after the last result).
        reads.clear()
        later = at(clock + 130)
        assert with_news.revisions(VENDORS, later) == plain.revisions(VENDORS, later)
        assert sorted(reads) == sorted(VENDORS)
    finally:
        with_news.close()
        plain.close()
        storage.close()
