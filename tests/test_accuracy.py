"""Measured against the truth: a local vendor simulator with a scripted outage timeline, probed
every second from three regions (one target per region), stored by the collector and counted by
the contract engine. Every measured interruption must lie within one interval plus timeout of
the scripted one; an outage only one region sees must make no interruption."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestServer
from support_probing import FAST, REGIONS, Timeline, region_jobs, write_config

from credits.intervals import Interval
from credits.model import Interruption
from credits.month import vendor_month
from uptime.config import Config
from uptime.sources.probes import ProbeSource
from uptime.web.app import make_app
from uptime.web.keys import PROBES

ServerFactory = Callable[..., Awaitable[TestServer]]

INTERVAL = TIMEOUT = 1.0
TOLERANCE = timedelta(seconds=INTERVAL + TIMEOUT)


def at(t0: float, offset: float) -> datetime:
    return datetime.fromtimestamp(t0 + offset, UTC)


async def measure(
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    timelines: dict[str, Timeline],
    t0: float,
    until: float,
) -> tuple[Config, list[Interruption], dict[str, list[Interval]]]:
    """Probe each region's own simulator until ``t0 + until``; return the vendor's measured
    interruptions and each region's down intervals."""
    urls = {}
    for region in REGIONS:
        server = await aiohttp_server(timelines[region].app())
        urls[region] = str(server.make_url("/"))
    config = write_config(tmp_path, urls[REGIONS[0]], interval="1s", timeout="1s")
    app = make_app(
        config,
        tmp_path / "uptime.db",
        jobs=region_jobs(config, urls),
        probing=FAST,
        tokens={},
    )
    await aiohttp_server(app)
    await asyncio.sleep(max(0.0, t0 + until - time.time()))
    now = datetime.now(UTC)
    await app[PROBES].scheduler.flush()
    source = ProbeSource(tmp_path / "uptime.db")
    try:
        seen = source.observations(["sim"], Interval(now - timedelta(minutes=5), now), now)["sim"]
    finally:
        source.close()
    middle = at(t0, until / 2)
    month = vendor_month(config.vendor("sim"), middle.year, middle.month, seen, now)
    interruptions = [part.interruption for part in month.availability.parts]
    regions = {r: sorted(seen.down.get("m0", {}).get(r, [])) for r in REGIONS}
    assert not any(seen.unknown.get("m0", {}).get(r) for r in REGIONS), seen.unknown
    return config, interruptions, regions


def close_to(measured: Interval, truth: Interval) -> bool:
    return (
        abs(measured.start - truth.start) <= TOLERANCE
        and abs(measured.end - truth.end) <= TOLERANCE
    )


async def test_quorum_with_a_separate_target_per_region(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    t0 = time.time()
    timelines = {
        # Atlanta's target is down from the start: one region only, an advisory, no outage.
        "atlanta": Timeline({"/": [(0, 5)]}, t0),
        # From 2.5 s to 5 s the other two are down as well: every region, an interruption.
        "chicago": Timeline({"/": [(2.5, 5)]}, t0),
        "california": Timeline({"/": [(2.5, 5)]}, t0),
    }
    _, interruptions, regions = await measure(aiohttp_server, tmp_path, timelines, t0, 6.5)
    (only,) = interruptions
    assert close_to(only.interval, Interval(at(t0, 2.5), at(t0, 5))), only
    assert only.regions == tuple(sorted(REGIONS)) and only.areas == ("Area 0",)
    # Atlanta saw its own target down all along; alone it counted for nothing.
    (atlanta,) = regions["atlanta"]
    assert atlanta.start <= at(t0, 0) + TOLERANCE and close_to(
        Interval(at(t0, 0), atlanta.end), Interval(at(t0, 0), at(t0, 5))
    )


async def test_measured_interruptions_are_within_one_interval_plus_timeout_of_the_truth(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    t0 = time.time()
    everyone = [(2.5, 5.5), (7.2, 8.8)]
    script = {
        "chicago": [*everyone, (9.8, 11.5)],  # and alone from 9.8 s to 11.5 s
        "california": everyone,
        "atlanta": everyone,
    }
    timelines = {region: Timeline({"/": down}, t0) for region, down in script.items()}
    _, interruptions, regions = await measure(aiohttp_server, tmp_path, timelines, t0, 12.5)

    truth = [Interval(at(t0, start), at(t0, end)) for start, end in everyone]
    assert len(interruptions) == len(truth), interruptions
    for measured, real in zip(interruptions, truth, strict=True):
        assert close_to(measured.interval, real), (measured.interval, real)
        # The timing rule only delays: a change is never seen before it happens (a probe is
        # dated when it starts, a moment before the simulator reads its clock).
        slack = timedelta(milliseconds=100)
        assert measured.interval.start >= real.start - slack
        assert measured.interval.end >= real.end - slack
    # Chicago's own outage is in its region view, within tolerance, but in no interruption.
    chicago_alone = Interval(at(t0, 9.8), at(t0, 11.5))
    assert any(close_to(i, chicago_alone) for i in regions["chicago"]), regions["chicago"]
    assert not any(i.interval.overlaps(chicago_alone) for i in interruptions)
