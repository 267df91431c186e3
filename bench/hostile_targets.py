"""Benchmark: hostile targets beside normal ones, from one process, as ``uptime-ledger run``.

    python bench/hostile_targets.py [--monitors 2000] [--hostile 50] [--duration 180] [--json out]

Writes a vendors.yaml with ``--monitors`` normal HTTP monitors (60 s interval, 10 s timeout,
three regions each, the default ``probing:``) on local nginx ports, plus ``--hostile`` monitors
of each hostile kind of tests/support_hostile.py (slowloris, endless chunked body, endless
``Content-Length`` body, megabytes of header lines, one endless header line, redirect loop), each
with ``expect.body_contains`` so that bodies are read, served from a process of their own. Then
runs the child of bench/scheduler_scale.py (``load_config``, ``make_app`` with the real
``Scheduler`` and SQLite ``Storage``, ``serve``, uvloop) for ``--duration`` seconds, recording
every probe's lateness from ``--warmup`` seconds after probing began (the start-up of a child on
a busy shared machine is not what this measures; bench/scheduler_scale.py measures it).

Reports: lateness max / p99 over every probe (normal and hostile), peak RSS of the child, and
the stored results by outcome (vendor kind × ok / failure class). Targets: no probe more than
1 s late; peak RSS under 300 MB; every normal result up; every hostile result the failure
tests/test_hostile_targets.py expects.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import Nginx, free_port, loadavg, machine, write_figures  # noqa: E402
from support_hostile import KINDS, hostile_process  # noqa: E402

NEEDLE = "needle"


def cpu_stall_us() -> int | None:
    """Microseconds some runnable task waited for a CPU, machine-wide (/proc/pressure/cpu)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None


def write_config(path: Path, monitors: int, hostile: int, kinds: list[str], ports: list[int],
                 urls: dict[str, list[str]], interval: int, timeout: int,
                 concurrency: int | None) -> None:  # fmt: skip
    lines = [f"probing: {{concurrency: {concurrency}}}"] if concurrency else []
    lines.append("regions:")
    for region in ("chicago", "california", "atlanta"):
        lines.append(f"  {region}: {{name: {region}}}")
    lines.append("vendors:")

    def vendor(vid: str, entries: list[str]) -> None:
        lines.extend([f"  {vid}:", f"    name: {vid}", "    timezone: UTC", "    monitors:"])
        lines.extend(entries)
        lines.extend(["    sla:", "      target_pct: 99.5", "      maintenance: counts"])

    for v in range(0, monitors, 10):
        vendor(
            f"normal{v // 10:04d}",
            [
                f"      - {{id: m{m}, functional_area: Area, "
                f"url: 'http://127.0.0.1:{ports[(v + m) % len(ports)]}/n{v + m}', "
                f"interval: {interval}s, timeout: {timeout}s, critical: true}}"
                for m in range(min(10, monitors - v))
            ],
        )
    for kind in kinds if hostile else ():
        vendor(
            f"hostile-{kind}",
            [
                f"      - {{id: h{m}, functional_area: Area, url: '{urls[kind][0]}/{m}', "
                f"interval: {interval}s, timeout: {timeout}s, critical: true, "
                f"expect: {{body_contains: {NEEDLE}}}}}"
                for m in range(hostile)
            ],
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python bench/hostile_targets.py --monitors 2000 --hostile 50 "
        "--duration 180 --json bench/out/hostile_targets.json",
    )
    parser.add_argument("--monitors", type=int, default=2000, help="normal monitors (x 3)")
    parser.add_argument(
        "--hostile", type=int, default=50, help="monitors of each hostile kind (0: a baseline)"
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="hostile kinds (default: all)")  # fmt: skip
    parser.add_argument("--concurrency", type=int, help="probing.concurrency (default: default)")
    parser.add_argument("--interval", type=int, default=60, help="seconds (default 60)")
    parser.add_argument("--timeout", type=int, default=10, help="probe timeout, seconds")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of probing")
    parser.add_argument("--warmup", type=float, default=30.0,
                        help="seconds probed before lateness is recorded (default 30)")  # fmt: skip
    parser.add_argument("--ports", type=int, default=4, help="nginx ports for normal monitors")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (1 <= args.monitors <= 100_000 and 0 <= args.hostile <= 1000):
        parser.error("--monitors must be in [1, 100000] and --hostile in [0, 1000]")

    info, load_before = machine(), loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp, hostile_process() as urls:
        workdir = Path(tmp)
        nginx = Nginx(workdir, [free_port() for _ in range(args.ports)])
        try:
            nginx.start()
            write_config(workdir / "vendors.yaml", args.monitors, args.hostile, args.kinds,
                         nginx.ports, urls, args.interval, args.timeout,
                         args.concurrency)  # fmt: skip
            (workdir / "maintenance_windows.yaml").write_text("{}\n")
            spec = {
                "vendors": str(workdir / "vendors.yaml"),
                "maintenance": str(workdir / "maintenance_windows.yaml"),
                "db": str(workdir / "uptime.db"),
                "port": free_port(),
                "duration": args.duration,
                "sample_every": 10.0,
                "warmup": args.warmup,
                "loop": "uvloop",
            }
            stall0, began = cpu_stall_us(), time.monotonic()
            child = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "scheduler_scale.py"), "--child",
                 json.dumps(spec)],
                stdout=subprocess.PIPE, text=True, cwd=ROOT, timeout=args.duration + 600,
                check=True,
            )  # fmt: skip
            stall1, took = cpu_stall_us(), time.monotonic() - began
            out = json.loads(child.stdout.strip().splitlines()[-1])
            with sqlite3.connect(workdir / "uptime.db") as db:
                rows = db.execute(
                    "select case when vendor like 'hostile-%' then substr(vendor, 9) "
                    "else 'normal' end, ok, coalesce(error, ''), count(*), max(latency) "
                    "from results group by 1, 2, 3 order by 1, 2, 3"
                ).fetchall()
        finally:
            nginx.stop()
    outcomes = {
        f"{kind} {'up' if ok else error}": {"results": n, "max_latency_s": round(lat, 3)}
        for kind, ok, error, n, lat in rows
    }
    peak_kib = max(out["vmhwm_kib"], out["ru_maxrss_kib"])
    st = out["stats"]
    figures = {
        "machine": info,
        "load_average": {"before": load_before, "after": loadavg()},
        # Share of the child's lifetime in which some task on the machine waited for a CPU.
        "cpu_pressure_pct": None
        if stall0 is None or stall1 is None
        else round((stall1 - stall0) / took / 1e4, 1),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "jobs": out["jobs"],
        "probes": out["probes"],
        "window_s": round(out["window_s"], 1),
        "lateness_max_ms": round(out["lateness_max"] * 1000, 1),
        "lateness_p99_ms": round(out["lateness_p99"] * 1000, 2),
        "late_over_1s": out["late_over_1s"],
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "cpu_window_s": round(out["cpu_window_s"], 1),
        "guard_timeouts": st["guard_timeouts"],
        "retries": st["retries"],
        "skipped": st["skipped"],
        "deferred": st["deferred"],
        "outcomes": outcomes,
    }
    write_figures(figures, args.json)


if __name__ == "__main__":
    main()
