"""Fault injection against ground truth (issue 10): the real processes, time-compressed, against
the vendor simulator playing a script of faults; the month's report and the database's region
views compared with the truth the script implies (uptime.demo.faults).

Both topologies run one after the other (one module fixture): ``uptime-ledger run`` probing all
three regions itself, then a collector with three ``uptime-ledger agent`` processes. Not at
once: on a loaded machine the simulator (which serves the canaries too) starves, and the
agents' starts came up to 2.9 s late against the 2 s bound (docs/reliability.md). The longer
runs are ``bench/faults.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support_faults import TIMEOUT, Answers, Run, run_script, sites, tolerances

from credits.intervals import Interval
from probes.http import check
from probes.result import ProbeResult, ProbeTarget
from uptime.demo.faults import (
    BLIND_REGION,
    DOWN_WHILE_BLIND,
    EXPECTED_CLASS,
    EXPECTED_MESSAGE,
    GLOBAL_FAULTS,
    REGIONAL,
    REGIONS,
    Blind,
    Fault,
    FaultScript,
    Measured,
    compare,
    fault_script,
)
from uptime.probing.jobs import Job
from uptime.probing.scheduler import Scheduler, probe_session

TOPOLOGIES = ("run", "agents")
#: Rounds of faults (each fault's length in seconds): one each, the agents' longer (regional
#: faults, then a blind region); bench/faults.py plays more and longer ones.
LENGTHS = {"run": (3.0,), "agents": (3.0,)}
#: A probe is dated when it starts and meets the vendor as it is up to its timeout later.
EARLY = timedelta(seconds=TIMEOUT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    def one(topology: str) -> Run:
        workdir = tmp_path_factory.mktemp(f"faults-{topology}")
        return asyncio.run(run_script(fault_script(topology, LENGTHS[topology]), topology, workdir))

    return {topology: one(topology) for topology in TOPOLOGIES}


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_injected_fault_is_measured_as_the_truth_implies(
    runs: dict[str, Run], topology: str
) -> None:
    run = runs[topology]
    bounds = tolerances(run.script)
    result = compare(run.script, run.t0, run.measured, bounds, early=EARLY)
    logs = "\n".join(run.logs)
    assert not result.problems, "\n".join(result.problems) + "\n" + logs
    # Every failing fault every region sees: one interruption each, none missed, none split,
    # none invented; with agents, also the outage seen while chicago was blind.
    rounds = len(LENGTHS[topology])
    assert len(result.incidents) == len(GLOBAL_FAULTS) * rounds + (topology == "agents")
    assert (result.missed, result.split, result.false_interruptions) == (0, 0, 0)
    for incident in result.incidents:
        bound = bounds[incident.vendor].total_seconds()
        assert incident.start_error is not None and incident.end_error is not None
        assert -TIMEOUT <= incident.start_error <= bound, incident
        assert -TIMEOUT <= incident.end_error <= bound, incident
    assert run.exits == dict.fromkeys(run.exits, 0), logs


def test_regional_faults_are_advisories_and_a_blind_region_is_unknown(
    runs: dict[str, Run],
) -> None:
    run = runs["agents"]
    result = compare(run.script, run.t0, run.measured, tolerances(run.script), early=EARLY)
    # Atlanta's 503 and chicago's refused connection: each in its own region's view only.
    assert [(r.answer, len(r.measured)) for r in result.regional] == [
        ("down@atlanta", 1),
        ("refused@chicago", 1),
    ]
    assert not any(vendor in run.measured.interruptions for vendor in REGIONAL)
    # Chicago's network down: unknown for every vendor, never down; the outage in the middle
    # of it counted from the two regions that could see.
    (blind,) = run.script.blind
    spell = Interval(run.t0 + timedelta(seconds=blind.start), run.t0 + timedelta(seconds=blind.end))
    for vendor in run.script.vendors:
        assert any(i.overlaps(spell) for i in run.measured.unknown[vendor][BLIND_REGION])
        assert not any(i.overlaps(spell) for i in run.measured.down[vendor].get(BLIND_REGION, []))
    (during,) = [
        regions for i, regions in run.measured.interruptions[DOWN_WHILE_BLIND] if i.overlaps(spell)
    ]
    assert during == ("atlanta", "california")


def test_the_report_counts_the_incidents_as_downtime(runs: dict[str, Run]) -> None:
    # The report's own figures agree with its interruptions (no downtime from the advisories).
    for run in runs.values():
        for entry in run.report["vendors"]:
            counted = sum(i["minutes"] for i in entry["interruptions"])
            assert entry["minutes"]["downtime"] == pytest.approx(counted, abs=0.02)
            if entry["vendor"] in ("slow", *REGIONAL):
                assert entry["interruptions"] == [] and entry["minutes"]["downtime"] == 0


# ------------------------------------------------------------------ the simulator's faults


async def test_each_fault_reaches_the_probe_as_its_failure_class(tmp_path: Path) -> None:
    # In-process and quick: the probe against the simulator's every answer, trusting its CA.
    import ssl

    script = FaultScript(("v",), REGIONS, ())
    answers = Answers(script)
    async with sites(answers, tmp_path) as where:
        context = ssl.create_default_context(cafile=str(where.ca_file))
        connector = aiohttp.TCPConnector(ssl=context, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            target = ProbeTarget(
                "v", "app", f"{where.base}v/app", "http", body_contains="ok", max_latency=1.0
            )
            answers.t0 = datetime.now(UTC).timestamp() - 1
            for answer, expected in EXPECTED_CLASS.items():
                answers.script = FaultScript(("v",), REGIONS, (Fault("v", answer, 0, 1e9),))
                result = await check(target, session, 2.0)
                assert result.error == expected, (answer, result)
                assert result.degraded == (answer == "slow"), result
                if expected is not None:
                    assert EXPECTED_MESSAGE[answer] in (result.message or ""), result
            # A blind region is refused everything, its canary included; the others are not.
            answers.script = FaultScript(("v",), REGIONS, (), (Blind("chicago", 0, 1e9),))
            assert answers("/_canary/chicago", None, datetime.now(UTC)) == "refused"
            assert answers("/v/app", "chicago", datetime.now(UTC)) == "refused"
            assert answers("/v/app", "atlanta", datetime.now(UTC)) == "up"


# ------------------------------------------------------------------ the comparison itself


def test_the_comparison_catches_a_missed_a_split_a_late_and_a_false_interruption() -> None:
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    script = FaultScript(
        ("a", "b"),
        REGIONS,
        (
            Fault("a", "down", 0, 3),
            Fault("a", "error", 10, 13),
            Fault("a", "hang", 20, 23),
            # Two rounds close together: the first one's interruption reaches into the second's
            # tolerance, and is still the first one's only.
            Fault("a", "down", 50, 53),
            Fault("a", "down", 55, 58),
            Fault("b", "down", 0, 3, frozenset({"atlanta"})),
        ),
        (Blind("chicago", 30, 40),),
    )
    everyone = tuple(sorted(REGIONS))
    measured = Measured(
        interruptions={
            "a": [
                (Interval(at(0.5), at(3.9)), everyone),  # within 2 s: fine
                (Interval(at(10.5), at(11)), everyone),  # the 500, split in two...
                (Interval(at(12), at(13.5)), everyone),
                # ...the hang missed; and one nobody injected, naming the blind region:
                (Interval(at(33), at(35)), everyone),
                (Interval(at(50.5), at(53.9)), everyone),
                (Interval(at(55.8), at(58.5)), everyone),
            ],
            "b": [(Interval(at(0.2), at(3.1)), everyone)],  # a regional fault counted
        },
        down={
            "a": {"chicago": [Interval(at(33), at(35))]},
            "b": {"atlanta": [Interval(at(0.2), at(5.5))]},
        },
        unknown={"a": {}, "b": {"chicago": [Interval(at(34), at(40))]}},
    )
    bounds = dict.fromkeys("ab", timedelta(seconds=2))
    result = compare(script, t0, measured, bounds)
    assert (result.missed, result.split, result.false_interruptions) == (1, 1, 2)
    text = "\n".join(result.problems)
    assert "answer='hang'" in text and "missed" in text
    assert "split into 2" in text
    assert "measured end" in text and "+2.500s" in text  # atlanta's view of b ended late
    assert "a down while blind" in text and "a's interruption" in text
    assert "a never unknown while blind" in text
    assert "no status failure recorded, only []" in text  # none given at all
    assert result.worst("start") == pytest.approx(0.8)
    rounds = [p for p in result.problems if "start=5" in p and "failure recorded" not in p]
    assert rounds == []


# ------------------------------------------------------------------ a blind region's retries


async def test_a_canary_check_from_before_the_retries_does_not_vouch_for_them(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    # The region's network goes down just after its canary answered. The monitor's failure is
    # retried over 1.5 s; by then that canary answer is old news and must not vouch for it:
    # a fresh canary check fails, and the failure is withheld (the region is blind, not down).
    network = {"up": True}

    async def target(request: web.Request) -> web.Response:
        return web.Response(status=200 if network["up"] else 503)

    async def canary(request: web.Request) -> web.Response:
        if network["up"]:
            asyncio.get_running_loop().call_later(0.05, network.update, {"up": False})
            return web.Response(text="ok")
        return web.Response(status=503)

    urls = []
    for handler in (target, canary):
        app = web.Application()
        app.router.add_get("/", handler)
        urls.append(str((await aiohttp_server(app)).make_url("/")))
    results: list[ProbeResult] = []
    session = probe_session(10)
    scheduler = Scheduler(
        [Job(ProbeTarget("v", "app", urls[0], "http", timeout=0.5), "chicago", 0.5)],
        session,
        results.extend,
        retries=1,
        retry_within=1.5,
        canaries={"chicago": urls[1]},
        canary_every=10.0,  # checked once at start, then only when a failure asks
        flush_every=0.05,
    )
    try:
        await scheduler.start()
        await asyncio.sleep(2.5)  # the first failure by 0.6 s, its retry 1.5 s later
        await scheduler.stop()
    finally:
        await session.close()
    assert not network["up"]
    assert [r for r in results if not r.ok] == [], results
    assert scheduler.stats.withheld >= 1
    assert scheduler.canary_states() == {"chicago": False}
