"""The wall clock stepped by NTP under a real ``uptime-ledger run`` (libfaketime in the child,
its monotonic clock real): the stored downtime is off by no more than the step, no unknown time
beyond the step appears, nothing is invented while the target is up, and each step is logged
once with its direction and size (tests/support_clock.py; minutes-long steps: bench/clock_jumps.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support_clock import REGIONS, JumpRun, run_with_jump

from uptime.config import load_config
from uptime.probing.jobs import stale_limits
from uptime.store.states import MAX_CLOCK_SKEW

#: (step in seconds, how long the target is down). A step back of up to a minute (MAX_CLOCK_SKEW)
#: freezes the intervals until the clock has caught up, which costs its size in waiting, so it is
#: short here; a longer one (the stored "last seen" is then in the future, distrusted) and forward
#: steps cost nothing and are minutes long.
RUNS = ((120, 5.0), (-6, 5.0), (-120, 5.0), (120, 0.0))
#: How far into the outage the clock steps (run_with_jump's default), in seconds.
STEP_AFTER = 2.0
#: Seconds of slack for a probe's dating (it is stamped when it starts) and a busy machine.
SLACK = 3.0


def test_a_wall_clock_step_moves_downtime_by_at_most_its_size_and_is_logged(
    tmp_path: Path,
) -> None:
    dirs = [tmp_path / f"run{i}" for i in range(len(RUNS))]
    for d in dirs:
        d.mkdir()
    with ThreadPoolExecutor(len(RUNS)) as pool:
        futures = [
            pool.submit(run_with_jump, d, jump, down_for=down_for)
            for d, (jump, down_for) in zip(dirs, RUNS, strict=True)
        ]
        runs: list[JumpRun] = [f.result() for f in futures]
    config = load_config(dirs[0] / "vendors.yaml", dirs[0] / "maintenance_windows.yaml")
    stale = stale_limits(config)[("sim", "app")].total_seconds()  # 3.5 s here
    for run, (jump, down_for) in zip(runs, RUNS, strict=True):
        figures = (jump, down_for, run.true_down, run.down, run.unknown, run.steps_logged)
        assert len(run.steps_logged) == 1, (figures, run.stderr)
        assert abs(run.steps_logged[0] - jump) < 0.5, figures
        assert set(run.down) == set(REGIONS)
        assert max(run.unknown.values()) <= abs(jump), figures
        if down_for:
            assert run.worst_error() <= abs(jump), figures
            # Every region saw the outage: a step does not hide all of it.
            assert min(run.down.values()) > 0, figures
        else:
            assert run.down == dict.fromkeys(REGIONS, 0.0), figures
        if jump > 0:
            # Forward: the last state before the step is trusted until stale, so the outage is
            # stored at most that much longer; the skipped time past that is unknown.
            assert max(run.down.values()) <= run.true_down + stale, figures
            for unknown in run.unknown.values():
                assert abs(unknown - (jump - stale)) <= SLACK, figures
        if jump < 0:
            # A step back leaves no gap: the stamps only repeat times already covered.
            assert run.unknown == dict.fromkeys(REGIONS, 0.0), figures
        if down_for and -jump > MAX_CLOCK_SKEW.total_seconds():
            # Back by more than the skew limit: at most the part before the step is lost.
            assert run.worst_error() <= STEP_AFTER + SLACK, figures
