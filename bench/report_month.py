"""Benchmark: the monthly JSON report for 1,000 vendors × 3 regions, 30 interruptions each.

    python bench/report_month.py [--vendors 1000] [--runs 5] [--jobs 1 2] [--workdir DIR]

Prepares (once per size) a vendors.yaml with N vendors and an SQLite database whose state
intervals hold, for every vendor and each of its 3 regions, 30 down intervals in March 2025
(recorded through the same ``Storage.record_results`` path the probes use). Then it runs the
report command in a fresh process ``--runs`` times for each ``--jobs`` value —
``uptime-ledger report --month 2025-03 --format json --jobs N`` as a user runs it — and prints
the median (min-max) wall time from spawn to exit and of its ``main()`` (configuration loading
included, interpreter start-up and imports not), the peak RSS of the process and of its largest
worker, and, from one more run sampled every 5 ms, the peak of the summed proportional set size
(PSS) of the process and its workers: the memory they use together, shared pages counted once.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import children, loadavg, pss_kib  # noqa: E402

from credits.intervals import Interval  # noqa: E402
from probes.result import FailureClass, ProbeResult  # noqa: E402
from uptime.store.storage import Storage  # noqa: E402

REGIONS = ("chicago", "california", "atlanta")
MONTH_START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


#: Every benchmark vendor's contract, as vendors.yaml lines (bench/web.py uses it too).
SLA_LINES = (
    "    sla:",
    "      target_pct: 99.5",
    "      maintenance: counts",
    "      credit: {kind: full_hours, rounding: incident, scope: all, percent_per_hour: 100}",
    "      fee: {amount: '744.00', per: month, currency: USD}",
)


def write_config(path: Path, vendors: int) -> None:
    lines = ["regions:"] + [f"  {r}: {{name: {r}}}" for r in REGIONS] + ["vendors:"]
    for n in range(vendors):
        lines += [
            f"  vendor{n:04d}:",
            f"    name: Vendor {n}",
            "    timezone: America/Los_Angeles",
            "    monitors:",
            "      - {id: app, functional_area: App, url: 'https://app.example.invalid/',"
            " interval: 60s, timeout: 10s, critical: true}",
            *SLA_LINES,
        ]
    path.write_text("\n".join(lines) + "\n")


def seen_down(
    vendor: str, monitor: str, region: str, outage: Interval, skew: timedelta
) -> tuple[ProbeResult, ...]:
    """A region's failed result at the outage's start and its next success at the end, both
    ``skew`` late (each site sees an outage a few seconds apart from the others)."""
    return tuple(
        ProbeResult(
            vendor,
            monitor,
            region,
            when + skew,
            ok,
            0.1,
            status=200 if ok else 503,
            error=None if ok else FailureClass.STATUS,
        )
        for when, ok in ((outage.start, False), (outage.end, True))
    )


def fill_database(path: Path, vendors: int) -> int:
    rng = random.Random(2025)
    storage = Storage(path)
    stale = {(f"vendor{n:04d}", "app"): timedelta(days=2) for n in range(vendors)}
    rows = 0
    for n in range(vendors):
        vendor = f"vendor{n:04d}"
        batch: list[ProbeResult] = []
        outages = []
        at = MONTH_START
        for _ in range(30):
            at += timedelta(minutes=rng.randint(60, 1380))
            length = timedelta(minutes=rng.randint(5, 90))
            outages.append((at, length))
            at += length
        for region in REGIONS:
            # Each site sees the same outage, a few seconds apart, as real probes would.
            for start, length in outages:
                skew = timedelta(seconds=rng.randint(0, 50))
                batch += seen_down(vendor, "app", region, Interval(start, start + length), skew)
        rows += storage.record_results(batch, stale)
    storage.close()
    return rows


def report_args(workdir: Path, jobs: int, out: Path) -> list[str]:
    """The command line of the measured report, after the interpreter's own arguments."""
    return [
        *("--vendors", str(workdir / "vendors.yaml")),
        *("--maintenance", str(workdir / "maintenance_windows.yaml")),
        *("--db", str(workdir / "uptime.db")),
        *("report", "--month", "2025-03", "--format", "json"),
        *("--jobs", str(jobs), "--out", str(out)),
    ]


def run_once(workdir: Path, jobs: int) -> dict[str, float]:
    """One ``report`` run in a fresh process: its wall time from spawn to exit, the wall time
    of its ``main()``, and the peak RSS of the process and of its largest worker."""
    child = (
        "import resource, sys, time\n"
        "sys.path.insert(0, 'bench')\n"
        "from _harness import status_kib\n"
        "from uptime.cli import main\n"
        "start = time.perf_counter()\n"
        "code = main(sys.argv[1:])\n"
        "wall = time.perf_counter() - start\n"
        # Not ru_maxrss for this process: Linux carries it over exec from the forking parent
        # (this benchmark), so it would report the benchmark's own size when that is larger.
        "own = status_kib('self', 'VmHWM')\n"
        "workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(wall, own, workers, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    out = workdir / "report.json"
    command = [sys.executable, "-c", child, *report_args(workdir, jobs, out)]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    process_wall = time.perf_counter() - started
    main_wall, own_kib, workers_kib = proc.stderr.strip().splitlines()[-1].split()
    report = json.loads(out.read_text())
    assert len(report["vendors"]) > 0
    return {
        "process_wall": process_wall,
        "main_wall": float(main_wall),
        "own_mib": int(own_kib) / 1024,
        "worker_mib": int(workers_kib) / 1024,
    }


def peak_total_pss(workdir: Path, jobs: int) -> float:
    """One more run, sampling every 5 ms the summed PSS of the report process and its workers
    (a separate run: the sampling costs CPU the timed runs should not share). MiB."""
    out = workdir / "report-pss.json"
    command = [sys.executable, "-m", "uptime.cli", *report_args(workdir, jobs, out)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, pss_kib(proc.pid) + sum(map(pss_kib, children(proc.pid))))
        time.sleep(0.005)
    assert proc.returncode == 0
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="report --jobs values to measure"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "report_month")
    args = parser.parse_args()
    workdir = args.workdir / str(args.vendors)
    if not (workdir / "uptime.db").exists():
        workdir.mkdir(parents=True, exist_ok=True)
        write_config(workdir / "vendors.yaml", args.vendors)
        (workdir / "maintenance_windows.yaml").write_text("{}\n")
        started = time.perf_counter()
        rows = fill_database(workdir / "uptime.db", args.vendors)
        print(f"prepared {rows} results in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in loadavg())}")
    for jobs in args.jobs:
        runs = [run_once(workdir, jobs) for _ in range(args.runs)]
        report = json.loads((workdir / "report.json").read_text())
        interruptions = sum(len(v["interruptions"]) for v in report["vendors"])
        figures = []
        for key in ("process_wall", "main_wall"):
            values = sorted(r[key] for r in runs)
            figures.append(
                f"{key}_s={statistics.median(values):.3f} ({values[0]:.3f}-{values[-1]:.3f})"
            )
        figures.append(f"peak_rss_mib={max(r['own_mib'] for r in runs):.1f}")
        figures.append(f"worker_peak_rss_mib={max(r['worker_mib'] for r in runs):.1f}")
        figures.append(f"peak_total_pss_mib={peak_total_pss(workdir, jobs):.1f}")
        print(
            f"vendors={args.vendors} interruptions={interruptions} jobs={jobs} "
            f"runs={args.runs} " + " ".join(figures)
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in loadavg())}")


if __name__ == "__main__":
    main()
