"""Benchmark: kill -9 of the collector mid-ingest and of agents mid-spool, many times.

    python bench/crash_loop.py [--rounds 30] [--monitors 50] [--seed 0] [--json PATH]

Runs tests/support_crash.py's rig (``uptime-ledger run`` as the collector with three remote
regions, three ``uptime-ledger agent`` processes, a local target answering 503 a few seconds a
minute, a recording proxy between agents and collector) for ``--rounds`` rounds: each kills
the collector with SIGKILL while a replay batch is in flight, kills one agent with SIGKILL
while it spools (the collector is down), and restarts both. Then it compares the collector's
database with every result the agents spooled (by agent and sequence number; by monitor,
region and time) and with a reference database fed the same results without a crash (state
intervals, open states, raw results, hourly rollups, the month's JSON report), and runs
``PRAGMA integrity_check`` on the database and every spool. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import write_figures  # noqa: E402
from support_crash import Rig  # noqa: E402


async def run(rounds: int, monitors: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="crash-loop-") as tmp:
        root = Path(tmp)
        rig = Rig(root, monitors=monitors)
        began = time.monotonic()
        try:
            await rig.start()
            await rig.crash_loop(rounds, seed=seed)
        finally:
            await rig.close()
        figures = rig.check(root / "reference.db", datetime.now(UTC)).as_dict()
        figures["seconds"] = round(time.monotonic() - began, 1)
        figures["monitors_per_region"] = monitors
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = asyncio.run(run(args.rounds, args.monitors, args.seed))
    write_figures(figures, args.json)
    ok = (
        figures["lost"] == 0
        and figures["counted_twice"] == 0
        and figures["conflicts"] == 0
        and figures["states_equal"]
        and figures["report_equal"]
        and figures["cli_report_equal"]
        and set(figures["integrity"].values()) == {"ok"}  # type: ignore[union-attr]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
