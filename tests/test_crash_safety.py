"""Crash safety with the real processes: kill -9 of the collector mid-ingest and of agents
mid-spool lose nothing and count nothing twice (tests/support_crash.py has the rig)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from support_crash import Rig

#: Kills of each kind in CI; bench/crash_loop.py runs more.
ROUNDS = 3


async def test_kill_9_of_collector_and_agents_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, monitors=50)
    try:
        await rig.start()
        await rig.crash_loop(ROUNDS)
    finally:
        await rig.close()
    figures = rig.check(tmp_path / "reference.db", datetime.now(UTC))
    print(rig.events, figures.as_dict())
    assert figures.collector_kills == ROUNDS and figures.agent_kills == ROUNDS
    # Not vacuous: every monitor of every region went through several rounds of probing
    # (how many depends on the machine's pace).
    assert figures.results > 3 * 50 * 3
    assert (figures.lost, figures.counted_twice, figures.conflicts) == (0, 0, 0)
    assert figures.states_equal
    assert figures.report_equal and figures.cli_report_equal
    assert set(figures.integrity.values()) == {"ok"}, figures.integrity
