"""Fault injection against ground truth, the long run (tests/test_faults.py is the CI-sized one).

Each repetition plays the fault script (``uptime.demo.faults.fault_script``) with rounds of
incidents ``--lengths`` seconds long against each topology in turn: ``uptime-ledger run``
probing every region itself, then a collector with three ``uptime-ledger agent`` processes
(one at a time: the simulator and the canaries share one process, and a starved simulator makes
the canaries time out, which withholds failures as a blind region's; ``--together`` runs both
at once, as tests/test_faults.py does).
Each run's report and database are compared with the truth the script implies; the summary
says how many scenarios and incidents ran, the worst error of a recorded start and end
(measured − injected, seconds), and how many incidents were missed or split, how many
interruptions were false, and any other check that failed.

    python bench/faults.py                       # 3 repetitions, rounds of 5, 10 and 20 s
    python bench/faults.py --repeat 1 --lengths 5 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import write_figures  # noqa: E402
from support_faults import TIMEOUT, Run, run_script, tolerances  # noqa: E402

from uptime.demo.faults import Comparison, compare, fault_script  # noqa: E402

TOPOLOGIES = ("run", "agents")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--lengths",
        default="5,10,20",
        help="seconds each round's faults last, comma-separated (default 5,10,20)",
    )
    parser.add_argument("--together", action="store_true", help="both topologies at once")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args()
    lengths = tuple(float(x) for x in args.lengths.split(","))
    results: dict[str, list[tuple[Run, Comparison]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        for n in range(args.repeat):

            async def one(topology: str, n: int = n) -> Run:
                script = fault_script(topology, lengths)
                return await run_script(script, topology, Path(tmp) / f"{topology}-{n}")

            async def both() -> list[Run]:
                if args.together:
                    return await asyncio.gather(*(one(t) for t in TOPOLOGIES))
                return [await one(t) for t in TOPOLOGIES]

            for run in asyncio.run(both()):
                found = compare(
                    run.script,
                    run.t0,
                    run.measured,
                    tolerances(run.script),
                    early=timedelta(seconds=TIMEOUT),
                )
                results[run.topology].append((run, found))
                print(
                    f"repetition {n + 1} {run.topology}: {len(found.incidents)} incidents, "
                    f"{len(found.problems)} problems",
                    file=sys.stderr,
                )
                for problem in found.problems:
                    print(f"  {problem}", file=sys.stderr)
    figures = {t: summary(results[t]) for t in TOPOLOGIES}
    print(table(figures, lengths, args.repeat, args.together))
    write_figures(figures, args.json, show=False)
    return 1 if any(f["problems"] for f in figures.values()) else 0


def summary(runs: list[tuple[Run, Comparison]]) -> dict:
    """The figures of one topology's runs."""
    incidents = [i for _, c in runs for i in c.incidents]
    regional = [i for _, c in runs for i in c.regional]
    starts = [i.start_error for i in incidents + regional if i.start_error is not None]
    ends = [i.end_error for i in incidents + regional if i.end_error is not None]
    worst_by_fault: dict[str, float] = defaultdict(float)
    for i in incidents:
        for error in (i.start_error, i.end_error):
            if error is not None:
                worst_by_fault[i.answer] = max(worst_by_fault[i.answer], abs(error))
    return {
        "scenarios": len(runs),
        "incidents": len(incidents),
        "regional": len(regional),
        "blind": sum(len(r.script.blind) for r, _ in runs),
        "start_error": spread(starts),
        "end_error": spread(ends),
        "worst_by_fault": dict(sorted(worst_by_fault.items())),
        "missed": sum(c.missed for _, c in runs),
        "split": sum(c.split for _, c in runs),
        "false_interruptions": sum(c.false_interruptions for _, c in runs),
        "problems": sum(len(c.problems) for _, c in runs),
    }


def spread(errors: list[float]) -> dict[str, float]:
    return {"min": min(errors), "median": statistics.median(errors), "max": max(errors)}


def table(figures: dict[str, dict], lengths: tuple[float, ...], repeat: int, together: bool) -> str:
    rounds = ", ".join(f"{x:g}" for x in lengths)
    rows = [
        f"fault injection: {repeat} repetition(s), rounds of {rounds} s, topologies "
        f"{'at once' if together else 'one at a time'}; errors are measured − injected, seconds",
        "",
        "| topology | scenarios | incidents | regional | blind | start error (min / median / max)"
        " | end error (min / median / max) | missed | split | false interruptions"
        " | other problems |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for topology, f in figures.items():
        s, e = f["start_error"], f["end_error"]
        other = f["problems"] - f["missed"] - f["split"] - f["false_interruptions"]
        rows.append(
            f"| `{topology}` | {f['scenarios']} | {f['incidents']} | {f['regional']} | "
            f"{f['blind']} | {s['min']:+.2f} / {s['median']:+.2f} / {s['max']:+.2f} | "
            f"{e['min']:+.2f} / {e['median']:+.2f} / {e['max']:+.2f} | {f['missed']} | "
            f"{f['split']} | {f['false_interruptions']} | {other} |"
        )
    rows.append("")
    for topology, f in figures.items():
        worst = ", ".join(f"{k} {v:.2f}" for k, v in f["worst_by_fault"].items())
        rows.append(f"worst |error| per fault, `{topology}`: {worst}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
