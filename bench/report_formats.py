"""Benchmark: the report's formats, rendered from one month's context.

    python bench/report_formats.py [--vendors 1000] [--pdf-vendors 50] [--runs 5] [--workdir DIR]

Prepares (once per size, as ``bench/report_month.py`` does) a vendors.yaml and a database of N
vendors × 3 regions with 30 interruptions each in March 2025, computes the month's context once
(``reports.runner.report`` with ``--format json``, parsed back: what every renderer is given)
and then times, ``--runs`` times each, rendering it as JSON, CSV (both ``--rows``) and HTML for
``--vendors`` vendors, and as PDF (Letter; Chromium started for each run, as the command does)
for the first ``--pdf-vendors`` of them. Prints the median (min-max) of each and the sum of the
JSON, CSV and HTML medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import loadavg  # noqa: E402
from report_month import fill_database, write_config  # noqa: E402

from reports import csv_report, html_report, json_report, pdf_report  # noqa: E402
from reports.context import MonthContext  # noqa: E402
from reports.runner import (  # noqa: E402
    render_formats,
    report,
    usable_cpus,
    without_cycle_collector,
)
from uptime.config import load_config  # noqa: E402

NOW = datetime(2025, 4, 2, tzinfo=UTC)


def prepare(workdir: Path, vendors: int) -> MonthContext:
    if not (workdir / "uptime.db").exists():
        workdir.mkdir(parents=True, exist_ok=True)
        write_config(workdir / "vendors.yaml", vendors)
        (workdir / "maintenance_windows.yaml").write_text("{}\n")
        fill_database(workdir / "uptime.db", vendors)
    config = load_config(workdir / "vendors.yaml", workdir / "maintenance_windows.yaml")
    return json_report.parse(report(config, workdir / "uptime.db", 2025, 3, jobs=2, now=NOW))


def timed(render: Callable[[MonthContext], bytes], month: MonthContext, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        # As reports.runner.report calls a renderer: with the cycle collector off.
        with without_cycle_collector():
            started = time.perf_counter()
            render(month)
            times.append(time.perf_counter() - started)
    return sorted(times)


def line(name: str, times: list[float], size: int) -> str:
    median = statistics.median(times)
    return f"{name}: {median:.3f}s ({times[0]:.3f}-{times[-1]:.3f}) {size / 1e6:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--pdf-vendors", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "report_month")
    args = parser.parse_args()
    month = prepare(args.workdir / str(args.vendors), args.vendors)
    interruptions = sum(len(v.interruptions) for v in month.vendors)
    print(f"vendors={len(month.vendors)} interruptions={interruptions} runs={args.runs}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in loadavg())}")
    total = 0.0
    for name, render in (
        ("json", json_report.render),
        ("csv --rows vendors", csv_report.render_vendors),
        ("csv --rows interruptions", csv_report.render_interruptions),
        ("html", html_report.render),
    ):
        times = timed(render, month, args.runs)
        total += statistics.median(times)
        print(line(name, times, len(render(month))))
    print(f"json + csv (both) + html, one after the other: {total:.3f}s")
    # As `run` writes last month's report: the three formats of one computed month, HTML in a
    # forked process beside JSON and CSV (reports.runner.render_formats).
    cpus = usable_cpus()
    times = timed(
        lambda m: b"".join(render_formats(m, ["json", "csv", "html"], cpus).values()),
        month,
        args.runs,
    )
    print(line(f"json + csv + html side by side ({cpus} CPUs)", times, 0))
    few = dataclasses.replace(month, vendors=month.vendors[: args.pdf_vendors])
    times = timed(pdf_report.render, few, args.runs)
    print(line(f"pdf, {len(few.vendors)} vendors", times, len(pdf_report.render(few))))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in loadavg())}")


if __name__ == "__main__":
    main()
