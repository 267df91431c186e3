"""``uptime.web.months.Months``: a vendor-month is kept while it is still true and computed
again when its inputs change or it moves with the clock (real SQLite, the real sources)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support_probing import REGIONS, write_config

from credits.intervals import Interval
from credits.month import Observations, VendorMonth
from probes.result import FailureClass, ProbeResult
from uptime.config import Config
from uptime.probing.jobs import stale_limits
from uptime.sources import Revision, Source, database_sources
from uptime.sources.imported import ImportedSource
from uptime.sources.probes import ProbeSource
from uptime.store.storage import OutageRow, Storage
from uptime.web.months import Months

T0 = datetime(2026, 2, 20, tzinfo=UTC)
STEP = timedelta(minutes=10)
MARCH = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return write_config(tmp_path, "http://127.0.0.1:9/", interval="10m", timeout="10s")


def results(config: Config, start: datetime, end: datetime, down: Interval | None = None):
    out = []
    at = start
    while at < end:
        failing = down is not None and down.start <= at < down.end
        out.extend(
            ProbeResult(
                "sim",
                "m0",
                region,
                at,
                ok=not failing,
                latency=0.01,
                status=503 if failing else 200,
                error=FailureClass.STATUS if failing else None,
            )
            for region in REGIONS
        )
        at += STEP
    return out


class Counted:
    """A ``make`` that counts its calls and returns the month's counted minutes."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, month: VendorMonth, seen: Observations) -> timedelta:
        self.calls += 1
        return month.availability.counted


@pytest.fixture
def storage(tmp_path: Path, config: Config) -> AsyncIterator[Storage]:
    store = Storage(tmp_path / "uptime.db")
    # February: down 10:00-11:00 on the 25th from every region; up to March 10 since.
    store.record_results(
        results(
            config,
            T0,
            MARCH,
            Interval(T0 + timedelta(days=5, hours=10), T0 + timedelta(days=5, hours=11)),
        ),
        stale_limits(config),
    )
    yield store
    store.close()


@pytest.fixture
async def months(tmp_path: Path, config: Config, storage: Storage) -> AsyncIterator[Months]:
    kept = Months(config, functools.partial(database_sources, tmp_path / "uptime.db"))
    yield kept
    await kept.close()


async def test_a_past_month_is_kept_until_its_inputs_change(
    months: Months, storage: Storage, config: Config
) -> None:
    vendor = config.vendors[0]
    make = Counted()
    february = [(vendor, 2026, 2)]
    assert await months.get("t", make, february, MARCH) == [timedelta(hours=1)]
    assert await months.get("t", make, february, MARCH + timedelta(hours=1)) == [timedelta(hours=1)]
    assert make.calls == 1
    # Another kind of value is its own.
    other = Counted()
    await months.get("other", other, february, MARCH)
    assert other.calls == 1 and make.calls == 1
    # An imported outage of February: computed again, and counted.
    storage.add_outages(
        [
            OutageRow(
                "sim", region, Interval(T0 + timedelta(days=6), T0 + timedelta(days=6, hours=2))
            )
            for region in REGIONS
        ],
        MARCH,
    )
    assert await months.get("t", make, february, MARCH + timedelta(hours=2)) == [timedelta(hours=3)]
    assert make.calls == 2
    # A new state transition (a failure now) ends the state open since February: the
    # vendor's February is computed again.
    later = MARCH + timedelta(hours=2)
    storage.record_results(
        results(config, MARCH, later, Interval(later - STEP, later)), stale_limits(config)
    )
    assert await months.get("t", make, february, later) == [timedelta(hours=3)]
    assert make.calls == 3
    # Transitions of March only (the failure ends, another comes and goes) leave it kept.
    recovered = later + timedelta(hours=2)
    storage.record_results(
        results(config, later, recovered, Interval(later + STEP, later + 3 * STEP)),
        stale_limits(config),
    )
    assert await months.get("t", make, february, recovered) == [timedelta(hours=3)]
    assert make.calls == 3
    # Its current month is computed again all the same.
    march = Counted()
    assert await months.get("t", march, [(vendor, 2026, 3)], recovered) == [3 * STEP]
    assert march.calls == 1


async def test_a_current_month_is_computed_again_while_a_down_state_is_open(
    months: Months, storage: Storage, config: Config
) -> None:
    vendor = config.vendors[0]
    make = Counted()
    march = [(vendor, 2026, 3)]
    now = MARCH - timedelta(minutes=5)  # just after the last result: up and fresh
    assert await months.get("t", make, march, now) == [timedelta(0)]
    assert await months.get("t", make, march, now + timedelta(seconds=5)) == [timedelta(0)]
    assert make.calls == 1  # healthy: nothing moves with the clock
    # Down from every region since MARCH, and still down: the month grows with the clock.
    storage.record_results(
        results(config, MARCH, MARCH + STEP, Interval(MARCH, MARCH + STEP)), stale_limits(config)
    )
    first = MARCH + timedelta(minutes=5)
    assert await months.get("t", make, march, first) == [timedelta(minutes=5)]
    assert make.calls == 2
    assert await months.get("t", make, march, first + timedelta(minutes=1)) == [
        timedelta(minutes=6)
    ]
    assert make.calls == 3
    # Within ``min_age`` of the last computation it is kept.
    assert await months.get("t", make, march, first + timedelta(minutes=1, milliseconds=100)) == [
        timedelta(minutes=6)
    ]
    assert make.calls == 3


class CountedProbes(ProbeSource):
    """The probe source, counting its reads of an ended month's revisions."""

    bounded_reads = 0

    def revisions(
        self, vendors: Collection[str], now: datetime, before: datetime | None = None
    ) -> dict[str, Revision]:
        if before is not None:
            self.bounded_reads += 1
        return super().revisions(vendors, now, before)


async def test_an_ended_months_revisions_are_read_again_only_after_news_of_the_vendor(
    tmp_path: Path, storage: Storage, config: Config
) -> None:
    opened: list[CountedProbes] = []

    def open_sources() -> list[Source]:  # on the months' thread, which owns the connections
        opened.append(CountedProbes(tmp_path / "uptime.db"))
        return [opened[0], ImportedSource(tmp_path / "uptime.db")]

    months = Months(config, open_sources)
    try:
        vendor = config.vendors[0]
        make = Counted()
        february = [(vendor, 2026, 2)]
        assert await months.get("t", make, february, MARCH) == [timedelta(hours=1)]
        assert opened[0].bounded_reads == 1
        # Nothing new seen of the vendor (its states still fresh): February's revision is not
        # read again.
        assert await months.get("t", make, february, MARCH + timedelta(minutes=5)) == [
            timedelta(hours=1)
        ]
        assert opened[0].bounded_reads == 1 and make.calls == 1
        # A transition in March: read again (and February, unchanged by it, stays kept).
        later = MARCH + timedelta(hours=2)
        storage.record_results(
            results(config, MARCH, later, Interval(later - STEP, later)), stale_limits(config)
        )
        assert await months.get("t", make, february, later) == [timedelta(hours=1)]
        assert opened[0].bounded_reads == 2
    finally:
        await months.close()


def unmonitored(month: VendorMonth, seen: Observations) -> timedelta:
    return month.availability.unmonitored


@pytest.mark.parametrize("ended", [False, True], ids=["current month", "ended month"])
async def test_a_gap_filled_by_a_replayed_spool_is_counted_again(
    tmp_path: Path, config: Config, ended: bool
) -> None:
    """Every region stops reporting 2 hours before February ends and goes stale; its agent
    then replays what it spooled, filling the gap without a new state (the revision stays the
    same). A month computed during the gap is computed again once it no longer moves, the
    current month and an ended one alike, as a fresh computation has it."""
    store = Storage(tmp_path / "uptime.db")
    limits = stale_limits(config)
    end = datetime(2026, 3, 1, tzinfo=UTC)
    cut = end - timedelta(hours=2)
    store.record_results(results(config, end - timedelta(days=2), cut), limits)
    # During the gap: before February's end, or after it (then February has ended).
    now = end + timedelta(hours=1) if ended else end - timedelta(minutes=30)
    vendor = config.vendors[0]
    february = [(vendor, 2026, 2)]
    months = Months(config, functools.partial(database_sources, tmp_path / "uptime.db"))
    try:
        [blind] = await months.get("t", unmonitored, february, now)
        assert blind > timedelta(0)
        store.record_results(results(config, cut, now), limits)  # the replayed spool
        later = now + timedelta(seconds=11)  # past min_age
        [got] = await months.get("t", unmonitored, february, later)
        fresh = Months(config, functools.partial(database_sources, tmp_path / "uptime.db"))
        try:
            assert [got] == await fresh.get("t", unmonitored, february, later)
        finally:
            await fresh.close()
        assert got < blind
    finally:
        await months.close()
        store.close()
