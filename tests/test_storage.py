"""Storage on real SQLite: state intervals from results, idempotent ingest, retention (read
back through the probes' source, as reports read them: tests/test_sources.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credits.intervals import Interval
from credits.month import Observations
from probes.result import FailureClass, ProbeResult
from uptime.sources.probes import ProbeSource
from uptime.store.storage import Storage

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STALE = {("v", "app"): timedelta(seconds=130)}  # 2 × 60 s + 10 s


def result(seconds: float, ok: bool, region: str = "chicago") -> ProbeResult:
    return ProbeResult(
        vendor="v",
        monitor="app",
        region=region,
        at=T0 + timedelta(seconds=seconds),
        ok=ok,
        latency=0.05,
        status=200 if ok else 503,
        error=None if ok else FailureClass.STATUS,
        message=None if ok else "HTTP 503",
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    store = Storage(tmp_path / "uptime.db")
    yield store
    store.close()


def views(storage: Storage, now_seconds: float) -> tuple[list[Interval], list[Interval]]:
    """Chicago's down and unknown intervals as a report reads them back (its own connection)."""
    period = Interval(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    source = ProbeSource(storage.path)
    try:
        seen = source.observations(["v"], period, at(now_seconds)).get("v", Observations())
    finally:
        source.close()
    return (
        sorted(seen.down.get("app", {}).get("chicago", [])),
        sorted(seen.unknown.get("app", {}).get("chicago", [])),
    )


def test_down_starts_at_first_failure_and_ends_at_first_success(storage: Storage) -> None:
    results = [result(0, True), result(60, False), result(120, False), result(180, True)]
    assert storage.record_results(results, STALE) == 4
    down, unknown = views(storage, 200)
    assert down == [Interval(at(60), at(180))]
    assert unknown == []


def test_gap_longer_than_stale_limit_is_unknown(storage: Storage) -> None:
    storage.record_results([result(0, True), result(60, True), result(400, True)], STALE)
    down, unknown = views(storage, 410)
    assert down == []
    assert unknown == [Interval(at(60 + 130), at(400))]
    # A region still silent now is unknown from the stale limit on.
    _, unknown = views(storage, 1000)
    assert unknown[-1] == Interval(at(400 + 130), at(1000))


def test_open_down_state_counts_until_now(storage: Storage) -> None:
    storage.record_results([result(0, True), result(60, False)], STALE)
    assert views(storage, 100)[0] == [Interval(at(60), at(100))]


def test_state_survives_restart(tmp_path: Path) -> None:
    first = Storage(tmp_path / "uptime.db")
    first.record_results([result(0, True), result(60, False)], STALE)
    first.close()
    second = Storage(tmp_path / "uptime.db")
    second.record_results([result(120, True)], STALE)
    assert views(second, 130)[0] == [Interval(at(60), at(120))]
    second.close()


def test_replayed_sequence_numbers_count_nothing_twice(storage: Storage) -> None:
    batch = [result(0, True), result(60, False), result(120, True)]
    assert storage.record_results(batch, STALE, agent="a1", first_seq=1) == 3
    assert storage.record_results(batch, STALE, agent="a1", first_seq=1) == 0
    # Overlapping batch: seqs 3..5, of which 3 was seen.
    more = [result(120, True), result(180, True), result(240, True)]
    assert storage.record_results(more, STALE, agent="a1", first_seq=3) == 2
    assert storage.last_seq("a1") == 5
    assert storage.db["results"].count == 5


def test_out_of_order_result_is_kept_raw_but_does_not_move_intervals(storage: Storage) -> None:
    storage.record_results([result(0, True), result(120, True)], STALE)
    storage.record_results([result(60, False)], STALE)
    assert views(storage, 130) == ([], [])
    assert storage.db["results"].count == 3


def test_hourly_rollup_and_pruning(storage: Storage) -> None:
    storage.record_results(
        [result(0, True), result(60, False), result(120, True), result(180, True)], STALE
    )
    storage.record_results([result(3600, True)], STALE)
    rows = list(storage.db["hourly"].rows)
    assert [(r["probes"], r["failures"]) for r in rows] == [(4, 1), (1, 0)]
    # Only the success at 180 s is a plain one: the first result, the failure, the recovery
    # at 120 s and the first result after the silence are evidence, kept far longer.
    assert storage.prune(raw_before=at(1800), evidence_before=at(-1)) == 1
    assert [r["at"][11:19] for r in storage.db["results"].rows_where(order_by="at")] == [
        "12:00:00",
        "12:01:00",
        "12:02:00",
        "13:00:00",
    ]
    # Intervals outlive the raw rows (the hour-long silence became unknown at 180 + 130 s).
    assert views(storage, 3601) == ([Interval(at(60), at(120))], [Interval(at(310), at(3600))])


def test_current_states(storage: Storage) -> None:
    storage.record_results([result(0, True), result(60, False, region="atlanta")], STALE)
    states = {s["region"]: s for s in storage.current_states(at(100))}
    assert states["chicago"]["state"] == "up" and states["atlanta"]["state"] == "down"
    later = {s["region"]: s["state"] for s in storage.current_states(at(1000))}
    assert later == {"chicago": "unknown", "atlanta": "unknown"}


def test_certificate_expiry_is_kept_with_the_result(storage: Storage) -> None:
    expires = datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)
    https = ProbeResult("v", "app", "chicago", T0, True, 0.1, 200, cert_expires_at=expires)
    storage.record_results([https, result(60, False)], STALE)
    stored = [r["cert_expires_at"] for r in storage.db["results"].rows_where(order_by="at")]
    assert stored == ["2027-01-31T23:59:59.000000+00:00", None]
