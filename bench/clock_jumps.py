"""Benchmark: the wall clock stepped by minutes under a real ``uptime-ledger run``.

    python bench/clock_jumps.py [--jumps +300 -300 +60 -60] [--down-for 20] [--json out.json]

Runs tests/support_clock.py's ``run_with_jump`` once per step, all at once (each its own
``uptime-ledger run`` with Debian's libfaketime preloaded, its monotonic clock real, probing a
local target every second with a 1 s timeout): the target goes down for ``--down-for`` seconds
and the wall clock steps ``--step-after`` seconds into the outage. A step back takes its own size
in real time to play out. Reports per step: the real downtime, the downtime stored per region,
the worst error, the unknown time stored, and the step logged.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import loadavg, machine, write_figures  # noqa: E402
from support_clock import run_with_jump  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python bench/clock_jumps.py --jumps +300 -300 --json "
        "bench/out/clock_jumps.json",
    )
    parser.add_argument("--jumps", nargs="+", type=int, default=[300, -300, 60, -60],
                        help="steps in seconds, signed (default +300 -300 +60 -60)")  # fmt: skip
    parser.add_argument("--down-for", type=float, default=20.0, help="outage, seconds")
    parser.add_argument("--step-after", type=float, default=5.0, help="into the outage, s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not all(1 <= abs(j) <= 3600 for j in args.jumps) or args.step_after >= args.down_for:
        parser.error("each jump must be 1 to 3600 s either way, --step-after < --down-for")
    before = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-clock-") as tmp:
        dirs = [Path(tmp) / f"run{i}" for i in range(len(args.jumps))]
        for d in dirs:
            d.mkdir()
        with ThreadPoolExecutor(len(dirs)) as pool:
            futures = [
                pool.submit(run_with_jump, d, jump, down_for=args.down_for,
                            step_after=args.step_after)
                for d, jump in zip(dirs, args.jumps, strict=True)
            ]  # fmt: skip
            runs = [f.result() for f in futures]
    rows = [
        {
            "jump_s": run.jump,
            "true_down_s": round(run.true_down, 2),
            "stored_down_s": {k: round(v, 2) for k, v in run.down.items()},
            "worst_error_s": round(run.worst_error(), 2),
            "unknown_max_s": round(max(run.unknown.values()), 2),
            "steps_logged_s": run.steps_logged,
        }
        for run in runs
    ]
    figures = {"machine": machine(), "load_average": {"before": before, "after": loadavg()},
               "args": {k: str(v) for k, v in vars(args).items()}, "runs": rows}  # fmt: skip
    write_figures(figures, args.json)


if __name__ == "__main__":
    main()
