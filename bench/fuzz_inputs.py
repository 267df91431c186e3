"""Hostile input, the long run: fuzz the YAML loader and the CSV importer, time the refusals.

    python bench/fuzz_inputs.py [--scale 40] [--runs 5] [--json out.json]

1. Runs the Hypothesis fuzz tests of tests/test_hostile_input.py with ``--scale`` times their
   CI examples, from a random seed (CI runs them derandomized), and prints how many inputs
   were tried and how each ended (a load, an import, one located error; anything else fails
   the test and is printed by pytest).
2. Loads hostile YAML files in a fresh child process each (``--runs`` times): the time to
   refuse each, median, and the child's peak memory (ru_maxrss) against loading the shipped
   files. ``--scale 0`` runs only this part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import write_figures  # noqa: E402

CHILD = """
import sys, time
from uptime.config import ConfigError, load_config
started = time.perf_counter()
try:
    load_config(sys.argv[1], sys.argv[2])
    said = "loaded"
except ConfigError as error:
    said = str(error)
seconds = time.perf_counter() - started
# Peak resident memory of this process since exec (ru_maxrss would include the parent's).
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]
print(seconds, peak, said, sep="\\t")
"""


def hostile_files() -> dict[str, str]:
    laughs = ["x:", "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"  - &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    merges = ["x:", "  - &m0 {a: 1, b: 2}"]
    merges += [f"  - &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 9)}]}}" for n in range(1, 9)]
    chain = ["x:", "  m0: &m0 {k0: 1}"]
    chain += [f"  m{n}: &m{n} {{<<: *m{n - 1}, k{n}: 1}}" for n in range(1, 20_000)]
    return {
        "shipped vendors.yaml (baseline)": (ROOT / "vendors.yaml").read_text(encoding="utf-8"),
        "billion laughs: 9 aliases x 9 levels of lists (387 M values)": "\n".join(laughs),
        "merge laughs: 9 merges x 9 levels": "\n".join(merges),
        "chained merges: 20,000 mappings each merging the one before": "\n".join(chain),
        "nesting 100,000 deep": "x: " + "[" * 100_000 + "]" * 100_000,
    }


def measure(runs: int) -> list[dict[str, object]]:
    found = []
    with tempfile.TemporaryDirectory() as work:
        for name, text in hostile_files().items():
            path = Path(work) / "vendors.yaml"
            path.write_text(text + "\n", encoding="utf-8")
            samples = []
            for _ in range(runs):
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        str(path),
                        str(ROOT / "maintenance_windows.yaml"),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=True,
                )
                seconds, rss, said = done.stdout.strip().split("\t", 2)
                samples.append((float(seconds), int(rss)))
            found.append(
                {
                    "file": name,
                    "bytes": len(text.encode()),
                    "seconds_median": statistics.median(s for s, _ in samples),
                    "peak_vmhwm_kib_max": max(r for _, r in samples),
                    "outcome": said.replace(str(path), "vendors.yaml"),
                }
            )
            print(f"{name}: {found[-1]}", flush=True)
    return found


def fuzz(scale: int) -> dict[str, object]:
    import pytest

    os.environ["UPTIME_FUZZ_SCALE"] = str(scale)
    os.environ["UPTIME_FUZZ_RANDOM"] = "1"
    started = time.perf_counter()
    code = pytest.main(
        [
            str(ROOT / "tests" / "test_hostile_input.py"),
            "-k",
            "fuzzed",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-show-statistics",
        ]
    )
    from support_fuzz import TALLY  # after pytest imported it, so its asserts are rewritten

    return {
        "scale": scale,
        "exit_status": int(code),
        "seconds": round(time.perf_counter() - started, 1),
        "inputs": dict(TALLY),
        "inputs_total": sum(TALLY.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    summary = {"fuzz": fuzz(args.scale) if args.scale else None, "refusals": measure(args.runs)}
    write_figures(summary, args.json)


if __name__ == "__main__":
    main()
