"""Benchmark: 10,000 monitors × 3 regions every 60 s from one process, as ``uptime-ledger run``.

    python bench/scheduler_scale.py [--monitors 10000] [--duration 300] [--json out.json]

Writes a vendors.yaml with ``--monitors`` HTTP monitors (``--per-vendor`` per vendor, 60 s
interval, 10 s timeout, the default ``probing:``; every region with a canary) pointing at distinct
URLs spread over ``--ports`` local nginx ports (a small static 200 page on 127.0.0.1, access_log
off), then runs, in a child process, what ``uptime-ledger run`` runs: ``load_config``,
``uptime.web.app.make_app`` (all three regions probed in-process by the real ``Scheduler``,
results stored by the collector's writer thread in a real SQLite ``Storage``) served by
``uptime.web.app.serve`` on the same event loop ``run`` picks (uvloop when importable).

The only addition is a recording ``SchedulerStats`` put in place before the first probe, to keep
every probe's lateness (actual start − scheduled start, as the scheduler measures it), so that
percentiles are exact. After ``--duration`` seconds of probing the child reads the counters,
then stops the app cleanly (as on SIGTERM) and counts the rows stored.

Reports: probes made, max / p50 / p99 / p99.9 lateness, how many started more than 1 s late,
peak resident memory (VmHWM and ru_maxrss of the child), CPU seconds (the window, and startup
included), and the load average before and after. Targets: no probe more than 1 s late, peak
RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import Nginx, free_port, loadavg, machine, status_kib, write_figures  # noqa: E402

REGIONS = ("chicago", "california", "atlanta")


def write_config(
    path: Path,
    monitors: int,
    per_vendor: int,
    ports: list[int],
    interval: int,
    timeout: int,
    canary_port: int | None,
) -> None:
    lines = ["regions:"]
    for region in REGIONS:
        canary = (
            f", canary: 'http://127.0.0.1:{canary_port}/canary/{region}'" if canary_port else ""
        )
        lines.append(f"  {region}: {{name: {region}{canary}}}")
    lines.append("vendors:")
    vendors = (monitors + per_vendor - 1) // per_vendor
    n = 0
    for v in range(vendors):
        lines += [
            f"  vendor{v:05d}:",
            f"    name: Vendor {v}",
            "    timezone: America/Los_Angeles",
            "    monitors:",
        ]
        for m in range(min(per_vendor, monitors - n)):
            port = ports[n % len(ports)]
            lines.append(
                f"      - {{id: m{m}, functional_area: Area {m}, "
                f"url: 'http://127.0.0.1:{port}/v{v:05d}/m{m}', interval: {interval}s, "
                f"timeout: {timeout}s, critical: true}}"
            )
            n += 1
        lines += [
            "    sla:",
            "      target_pct: 99.5",
            "      maintenance: counts",
        ]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------ the child


def child_main(spec: dict[str, Any]) -> None:
    from uptime.config import load_config
    from uptime.probing.scheduler import SchedulerStats
    from uptime.web.app import make_app
    from uptime.web.keys import PROBES
    from uptime.web.serve import event_loop_factory, serve

    @dataclass
    class RecordingStats(SchedulerStats):
        """SchedulerStats that also keeps every lateness (8 bytes a probe)."""

        samples: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]

        def note_lateness(self, late: float) -> None:
            self.samples.append(late)
            super().note_lateness(late)

        def as_dict(self) -> dict[str, object]:
            data = super().as_dict()
            data.pop("samples", None)
            return data

    cpu_start = time.process_time()
    loaded = time.perf_counter()
    config = load_config(spec["vendors"], spec["maintenance"])
    load_s = time.perf_counter() - loaded
    rss_after_load = status_kib("self", "VmRSS")
    hwm_after_load = status_kib("self", "VmHWM")
    app = make_app(config, spec["db"])
    holder: dict[str, Any] = {}

    async def record_ctx(app: Any) -> Any:
        # Runs right after make_app's probes context started the scheduler, before the event
        # loop turns, so no probe has started yet: swap in the recording stats.
        scheduler = app[PROBES].scheduler
        before = scheduler.stats
        scheduler.stats = RecordingStats(**vars(before))
        holder["scheduler"] = scheduler
        holder["started_before_swap"] = before.started
        yield

    app.cleanup_ctx.append(record_ctx)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        ready = asyncio.Event()
        server = loop.create_task(
            serve(app, "127.0.0.1", spec["port"], ready=lambda _: ready.set(), stop=stop)
        )
        await ready.wait()
        scheduler = holder["scheduler"]
        if spec.get("warmup"):
            # bench/hostile_targets.py: start-up on a busy machine is not what it measures.
            await asyncio.sleep(spec["warmup"])
            scheduler.stats.samples = array("d")
        jobs = len(scheduler.jobs)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        rss_start = status_kib("self", "VmRSS")
        timeline = []
        deadline = wall0 + spec["duration"]
        while (left := deadline - time.perf_counter()) > 0.01:
            await asyncio.sleep(min(spec["sample_every"], left))
            st = scheduler.stats
            point = {
                "t": round(time.perf_counter() - wall0, 1),
                "rss_mib": round(status_kib("self", "VmRSS") / 1024, 1),
                "cpu_s": round(time.process_time() - cpu0, 2),
                "started": st.started,
                "results": st.results,
                "lateness_max": round(st.lateness_max, 4),
            }
            timeline.append(point)
            print(f"  {json.dumps(point)}", file=sys.stderr, flush=True)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        st = scheduler.stats
        snapshot = {
            "jobs": jobs,
            "window_s": wall,
            "cpu_window_s": cpu,
            "stats": st.as_dict(),
            "lateness": sorted(st.samples),
            "rss_start_kib": rss_start,
            "rss_end_kib": status_kib("self", "VmRSS"),
            "hwm_window_end_kib": status_kib("self", "VmHWM"),
            "timeline": timeline,
        }
        stopping = time.perf_counter()
        stop.set()
        await server
        snapshot["shutdown_s"] = time.perf_counter() - stopping
        snapshot["results_after_stop"] = scheduler.stats.results
        return snapshot

    with asyncio.Runner(loop_factory=event_loop_factory(spec["loop"] == "uvloop")) as runner:
        loop_name = type(runner.get_loop()).__module__
        out = runner.run(main())
    late = out.pop("lateness")

    def pct(p: float) -> float:
        return late[min(len(late) - 1, int(p / 100 * len(late)))] if late else 0.0

    out.update(
        loop=loop_name,
        config_load_s=load_s,
        rss_after_load_kib=rss_after_load,
        hwm_after_load_kib=hwm_after_load,
        started_before_swap=holder["started_before_swap"],
        probes=len(late),
        lateness_max=late[-1] if late else 0.0,
        lateness_p50=pct(50),
        lateness_p99=pct(99),
        lateness_p999=pct(99.9),
        late_over_1s=sum(1 for x in late if x > 1.0),
        late_over_100ms=sum(1 for x in late if x > 0.1),
        vmhwm_kib=status_kib("self", "VmHWM"),
        ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        cpu_total_s=time.process_time() - cpu_start,
    )
    print(json.dumps(out))


# ------------------------------------------------------------------------------ the parent


class Scrapes(threading.Thread):
    """Reads ``/metrics`` and ``/`` of the child in turn, every ``every`` seconds, as
    Prometheus and status page viewers would, and keeps each request's latency."""

    def __init__(self, port: int, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.every = f"http://127.0.0.1:{port}", every
        self.halt = threading.Event()
        self.took: dict[str, list[float]] = {"/metrics": [], "/": []}
        self.failed = 0

    def run(self) -> None:
        paths = list(self.took)
        turn = 0
        while not self.halt.wait(self.every):
            path = paths[turn % len(paths)]
            turn += 1
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(self.base + path, timeout=30) as response:
                    response.read()
                self.took[path].append(time.perf_counter() - began)
            except OSError:
                self.failed += 1  # not listening yet, or stopping

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=60)

    def figures(self) -> dict[str, object]:
        out: dict[str, object] = {"failed": self.failed}
        for path, took in self.took.items():
            took = sorted(took)
            if took:
                out[path] = {
                    "requests": len(took),
                    "median_s": round(took[len(took) // 2], 4),
                    "p95_s": round(took[min(len(took) - 1, round(0.95 * (len(took) - 1)))], 4),
                    "max_s": round(took[-1], 4),
                }
        return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python bench/scheduler_scale.py --monitors 10000 --duration 300 "
        "--json bench/out/scheduler_scale.json",
    )
    parser.add_argument(
        "--monitors",
        type=int,
        default=10_000,
        help="HTTP monitors, each probed from 3 regions (default 10000)",
    )
    parser.add_argument("--per-vendor", type=int, default=10, help="monitors per vendor")
    parser.add_argument("--interval", type=int, default=60, help="seconds (default 60)")
    parser.add_argument("--timeout", type=int, default=10, help="probe timeout, seconds")
    parser.add_argument(
        "--duration", type=float, default=300.0, help="seconds of probing measured (default 300)"
    )
    parser.add_argument("--ports", type=int, default=8, help="nginx ports the URLs spread over")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument(
        "--no-canary",
        dest="canary",
        action="store_false",
        help="no region canaries (default: each region has one)",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop (default uvloop, as `uptime-ledger run`, if importable)",
    )
    parser.add_argument(
        "--sample-every",
        type=float,
        default=10.0,
        help="seconds between progress samples (RSS, CPU, counters)",
    )
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=0.0,
        help="also GET /metrics and / in turn this often while probing (0: never)",
    )
    parser.add_argument("--max-late", type=float, default=1.0, help="target, seconds")
    parser.add_argument("--max-rss-mb", type=float, default=300.0, help="target, MB")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    if not 1 <= args.monitors <= 200_000 or not 0 < args.duration <= 3600:
        parser.error("--monitors must be in [1, 200000] and --duration in (0, 3600]")
    if not 1 <= args.ports <= 64:
        parser.error("--ports must be in [1, 64]")

    info = machine()
    load_before = loadavg()
    print(f"machine: {info}", file=sys.stderr)
    print(f"load average before: {load_before}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        nginx = Nginx(workdir, [free_port() for _ in range(args.ports)], workers=args.nginx_workers)
        try:
            nginx.start()
            write_config(
                workdir / "vendors.yaml",
                args.monitors,
                args.per_vendor,
                nginx.ports,
                args.interval,
                args.timeout,
                nginx.ports[0] if args.canary else None,
            )
            (workdir / "maintenance_windows.yaml").write_text("{}\n")
            spec = {
                "vendors": str(workdir / "vendors.yaml"),
                "maintenance": str(workdir / "maintenance_windows.yaml"),
                "db": str(workdir / "uptime.db"),
                "port": free_port(),
                "duration": args.duration,
                "sample_every": args.sample_every,
                "loop": args.loop,
            }
            accepts0, requests0 = nginx.stub_status()
            nginx_cpu0 = nginx.cpu()
            child = subprocess.Popen(
                [sys.executable, __file__, "--child", json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            scrapes = Scrapes(spec["port"], args.scrape_every) if args.scrape_every else None
            try:
                if scrapes is not None:
                    scrapes.start()
                stdout, _ = child.communicate(timeout=args.duration + 600)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                raise
            finally:
                if scrapes is not None:
                    scrapes.stop()
            nginx_cpu = nginx.cpu() - nginx_cpu0
            accepts1, requests1 = nginx.stub_status()
            if child.returncode != 0:
                raise SystemExit(f"the child failed (exit {child.returncode})")
            out = json.loads(stdout.strip().splitlines()[-1])
            # Counted here, not in the child, so the child's peak memory is the app's alone.
            with sqlite3.connect(workdir / "uptime.db") as db:
                out["rows_stored"] = db.execute("select count(*) from results").fetchone()[0]
                out["rows_distinct"] = db.execute(
                    "select count(*) from (select distinct vendor, monitor, region, at "
                    "from results)"
                ).fetchone()[0]
            db_size = sum(p.stat().st_size for p in workdir.glob("uptime.db*"))
        finally:
            nginx.stop()
    load_after = loadavg()
    out.update(
        machine=info,
        args={
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"
        },
        load_average={"before": load_before, "after": load_after},
        nginx={
            "cpu_s": nginx_cpu,
            "connections": accepts1 - accepts0 - 1,
            "requests": requests1 - requests0 - 1,
        },
        db_bytes=db_size,
    )
    if scrapes is not None:
        out["scrapes"] = scrapes.figures()
    expected = out["jobs"] * args.duration / args.interval
    mib = 1024  # KiB per MiB
    sampled_peak = max((p["rss_mib"] for p in out["timeline"]), default=0.0) * mib
    peak_kib = max(out["vmhwm_kib"], out["ru_maxrss_kib"], sampled_peak)
    peak_mb = peak_kib * 1024 / 1e6
    out["peak_rss_kib"] = peak_kib
    late_ok = out["lateness_max"] <= args.max_late
    rss_ok = peak_mb < args.max_rss_mb
    st = out["stats"]
    window, cpu = out["window_s"], out["cpu_window_s"]
    rss = {k: out[f"{k}_kib"] / mib for k in ("rss_after_load", "rss_start", "rss_end")}
    ms = {k: out[f"lateness_{k}"] * 1000 for k in ("max", "p50", "p99", "p999")}
    rows = [
        (
            "jobs (monitors x regions)",
            f"{out['jobs']:,} ({args.monitors:,} x 3) every {args.interval}s "
            f"= {out['jobs'] / args.interval:.0f} probes/s",
        ),
        ("event loop", out["loop"]),
        ("measured window", f"{window:.1f} s"),
        (
            "probes made",
            f"{out['probes']:,} (expected ~{expected:,.0f}; {out['probes'] / window:.0f}/s)",
        ),
        (
            "results stored",
            f"{out['rows_stored']:,} rows after a clean stop ({out['rows_distinct']:,} "
            f"distinct; {out['results_after_stop']:,} results emitted)",
        ),
        (
            "retries / skipped / errors",
            f"{st['retries']} retries ({st['unconfirmed']} unconfirmed), {st['skipped']} "
            f"skipped ticks, {st['guard_timeouts']} guard timeouts, {st['sink_errors']} sink "
            "errors",
        ),
        ("lateness max", f"{ms['max']:.1f} ms"),
        (
            "lateness p50 / p99 / p99.9",
            f"{ms['p50']:.2f} / {ms['p99']:.2f} / {ms['p999']:.2f} ms",
        ),
        ("started > 1 s late", f"{out['late_over_1s']} (> 100 ms: {out['late_over_100ms']})"),
        (
            "peak RSS",
            f"{peak_kib / mib:.1f} MiB = {peak_mb:.1f} MB (VmHWM {out['vmhwm_kib'] / mib:.1f}, "
            f"ru_maxrss {out['ru_maxrss_kib'] / mib:.1f}, sampled VmRSS max "
            f"{sampled_peak / mib:.1f} MiB)",
        ),
        (
            "RSS along the way",
            f"after config load {rss['rss_after_load']:.1f} MiB (peak so far "
            f"{out['hwm_after_load_kib'] / mib:.1f}), probing starts {rss['rss_start']:.1f} MiB, "
            f"window ends {rss['rss_end']:.1f} MiB (peak so far "
            f"{out['hwm_window_end_kib'] / mib:.1f})",
        ),
        (
            "CPU in the window",
            f"{cpu:.1f} s ({cpu / window:.2f} cores, "
            f"{cpu / max(out['probes'], 1) * 1000:.3f} ms per probe)",
        ),
        (
            "CPU in all",
            f"{out['cpu_total_s']:.1f} s (config load took {out['config_load_s']:.1f} s wall, "
            f"shutdown {out['shutdown_s']:.1f} s)",
        ),
        (
            "nginx (excluded)",
            f"CPU {nginx_cpu:.1f} s, {out['nginx']['connections']:,} connections, "
            f"{out['nginx']['requests']:,} requests (canaries included)",
        ),
        ("database", f"{db_size / 1e6:.1f} MB"),
        *(
            (f"scrapes of {path}", json.dumps(figures))
            for path, figures in out.get("scrapes", {}).items()
        ),
        ("load average", f"before {load_before}, after {load_after}"),
        (f"target: no probe > {args.max_late:g} s late", "met" if late_ok else "NOT met"),
        (f"target: peak RSS < {args.max_rss_mb:g} MB", "met" if rss_ok else "NOT met"),
    ]
    print()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    write_figures(out, args.json, show=False)
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
