"""Benchmark: HTTP probes per CPU-second, ours vs blackbox_exporter, against the same local nginx.

    python bench/probe_throughput.py [--loop asyncio|uvloop|both] [--duration 10] [--reps 3]
                                     [--concurrency 50] [--rate 500] [--json out.json]

Starts one nginx (a small static 200 page on 127.0.0.1, access_log off) and one
blackbox_exporter (module ``http_2xx``: ``prober: http``), then measures, alternately, each side
probing ``http://127.0.0.1:<nginx>/`` with a fresh connection per probe:

* **ours** — a child process running the real pipeline: ``Scheduler.probe`` (the guard around
  ``probes.http.check``) on the ``probe_session`` (``force_close``: no connection reuse), results
  buffered and written in batches of ``--batch`` through ``uptime.store.recorder.Recorder.ingest``
  (its writer thread and ``Storage.record_results``, a fresh SQLite file per run), as
  ``uptime-ledger run`` does. At a fixed rate the jobs are run by the real ``Scheduler``
  (``--rate-pipeline scheduler``, default: rate × duration jobs, interval = duration, so each job
  probes once in the window) or paced by a timer (``--rate-pipeline timer``). CPU = the child's
  ``time.process_time()`` (all its threads, storage writes included).
* **blackbox** — a lean child driver (aiohttp, keep-alive to the exporter) sending
  ``GET /probe?target=http://127.0.0.1:<nginx>/&module=http_2xx`` as Prometheus does; CPU = the
  exporter process's utime + stime from ``/proc/<pid>/stat`` (the driver's CPU is not counted).
* **bare** (reference, ``--no-bare`` to skip) — bare aiohttp GETs on a ``force_close``
  connector in a child process, nothing stored: what the pipeline costs on top of aiohttp.

nginx's CPU is excluded from every side (shown for reference, with nginx's own count of
connections per probe, which must be 1.00 everywhere). Two modes, each ``--reps`` times per
side, sides taking turns, after ``--warmup`` seconds of unmeasured probing:

* **saturation** — ``--concurrency`` probes in flight for ``--duration`` seconds;
* **fixed rate** — ``--rate`` probes/s for ``--duration`` seconds (CPU milliseconds per probe).

The ratio is our probes per CPU-second over blackbox_exporter's (medians of the repetitions).

With the real Scheduler, the run stops between two sink calls: ``Scheduler.stop()`` during a
sink call stores that batch twice (the cancelled flush hands it to the sink again while the
writer thread still stores it), which would inflate our CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import (  # noqa: E402
    Blackbox,
    Nginx,
    cpu_seconds,
    free_port,
    loadavg,
    machine,
    write_figures,
)

REGIONS = ("chicago", "california", "atlanta")
SETTLE = 0.2  # seconds after the last probe before CPU is read, on both sides


# ------------------------------------------------------------------------------ the children


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop  # type: ignore[import-not-found]

        return uvloop.new_event_loop  # type: ignore[no-any-return]
    return None


class _Nginx:
    """nginx's CPU and connection/request counters, read by a child around its window."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.pids = spec["nginx_pids"]
        self.status_url = f"http://127.0.0.1:{spec['status_port']}/"

    def snapshot(self) -> tuple[float, int, int]:
        import urllib.request

        with urllib.request.urlopen(self.status_url, timeout=5) as r:
            lines = r.read().decode().splitlines()
        accepts, _, requests = (int(x) for x in lines[2].split())
        return sum(cpu_seconds(p) for p in self.pids), accepts, requests

    @staticmethod
    def delta(a: tuple[float, int, int], b: tuple[float, int, int]) -> dict[str, float]:
        # The status request itself counts one connection and one request.
        return {"nginx_cpu": b[0] - a[0], "conns": b[1] - a[1] - 1, "requests": b[2] - a[2] - 1}


async def _paced(rate: float, duration: float, launch: Callable[[], None]) -> int:
    """Call ``launch`` ``rate`` times a second for ``duration`` seconds (catching up if late)."""
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    t0 = loop.time()
    for i in range(total):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        launch()
    return total


async def _ours(spec: dict[str, Any]) -> dict[str, Any]:
    from probes.result import ProbeResult, ProbeTarget
    from uptime.probing.jobs import Job
    from uptime.probing.scheduler import Scheduler, probe_session
    from uptime.store.recorder import Recorder

    loop = asyncio.get_running_loop()
    url, timeout = spec["url"], spec["timeout"]
    keys = [
        (f"v{m // 10:04d}", f"m{m % 10}", region)
        for m in range(spec["monitors"])
        for region in REGIONS
    ]
    stale = {(v, m): timedelta(seconds=130) for v, m, _ in keys}
    collector = Recorder(spec["db"], stale, {r: {(v, m) for v, m, _ in keys} for r in REGIONS})
    await collector.open()
    session = probe_session(spec["concurrency"], reuse_connections=False)
    targets = [
        (ProbeTarget(vendor=v, monitor=m, url=url, kind="http", timeout=timeout), region)
        for v, m, region in keys
    ]
    batch, flush_every = spec["batch"], spec["flush_every"]

    # Results are buffered and stored in batches, as the scheduler does with its sink.
    buffer: list[ProbeResult] = []
    full = asyncio.Event()
    lock = asyncio.Lock()
    counts = {"probes": 0, "ok": 0}

    def emit(result: ProbeResult) -> None:
        counts["probes"] += 1
        counts["ok"] += result.ok
        buffer.append(result)
        if len(buffer) >= batch:
            full.set()

    async def flush() -> None:
        async with lock:
            while buffer:
                chunk = buffer[:batch]
                del buffer[:batch]
                await collector.ingest(chunk)

    async def flush_loop() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(full.wait(), flush_every)
            full.clear()
            await flush()

    direct = Scheduler([], session, collector.ingest)  # only its probe(): guard + check
    cursor = 0

    def next_target() -> tuple[ProbeTarget, str]:
        nonlocal cursor
        cursor = (cursor + 1) % len(targets)
        return targets[cursor]

    async def probe_one() -> None:
        emit(await direct.probe(*next_target()))

    run = _runner(spec, probe_one)

    flusher = loop.create_task(flush_loop())
    nginx = _Nginx(spec)
    out: dict[str, Any] = {}
    try:
        # Warm up (unmeasured), then store everything before the window opens.
        if spec["warmup"] > 0:
            await run(spec["warmup"])
            await flush()
        counts.update(probes=0, ok=0)
        stored0 = collector.ingested
        before = nginx.snapshot()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if spec["mode"] == "saturation" or spec["rate_pipeline"] == "timer":
            await run(spec["duration"])
        else:
            # The real scheduler: rate × interval jobs with interval = duration, so every job
            # probes once in the window, at its hashed phase; then stop (flushes the sink).
            interval = spec["duration"]
            n_jobs = int(spec["rate"] * interval)
            jobs = [
                Job(
                    ProbeTarget(
                        vendor=f"r{j // 10:05d}",
                        monitor=f"m{j % 10}",
                        url=url,
                        kind="http",
                        timeout=timeout,
                    ),
                    REGIONS[j % 3],
                    interval,
                )
                for j in range(n_jobs)
            ]
            collector.stale_after.update(
                {(j.target.vendor, j.target.monitor): timedelta(seconds=130) for j in jobs}
            )
            flusher.cancel()

            storing = 0

            async def sink(chunk: list[ProbeResult]) -> None:
                nonlocal storing
                counts["probes"] += len(chunk)
                counts["ok"] += sum(r.ok for r in chunk)
                storing += 1
                try:
                    await collector.ingest(chunk)
                finally:
                    storing -= 1

            scheduler = Scheduler(
                jobs, session, sink, concurrency=200, batch=batch, flush_every=flush_every
            )
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await scheduler.start()
            await asyncio.sleep(interval)
            # Scheduler.stop() cancels a flush that is waiting for the sink and then hands the
            # same chunk to the sink again, while the writer thread still stores the first
            # one: a duplicated batch. Stop between two sink calls (nothing awaits in between).
            while storing:
                await asyncio.sleep(0.001)
            await scheduler.stop()  # cancels the few probes in flight, stores the rest
            st = scheduler.stats
            out["scheduler"] = {
                "started": st.started,
                "results": st.results,
                "lateness_max": st.lateness_max,
                "lateness_mean": st.lateness_sum / max(st.started, 1),
                "skipped": st.skipped,
            }
        wall = time.perf_counter() - wall0
        await flush()
        await asyncio.sleep(SETTLE)
        cpu = time.process_time() - cpu0
        after = nginx.snapshot()
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        await session.close()
        stored = collector.ingested - stored0
        await collector.close()
    out.update(
        probes=counts["probes"],
        ok=counts["ok"],
        wall=wall,
        cpu=cpu,
        stored=stored,
        **_Nginx.delta(before, after),
    )
    return out


def _runner(
    spec: dict[str, Any], probe_one: Callable[[], Awaitable[None]]
) -> Callable[[float], Awaitable[None]]:
    """How a side is driven for some seconds: at saturation, ``concurrency`` workers probing back
    to back; at a fixed rate, a paced timer launching probes (and waiting for the last ones)."""
    loop = asyncio.get_running_loop()

    async def saturate(seconds: float) -> None:
        stop_at = loop.time() + seconds

        async def worker() -> None:
            while loop.time() < stop_at:
                await probe_one()

        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))

    tasks: set[asyncio.Task[None]] = set()

    def launch() -> None:
        task = loop.create_task(probe_one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def timer(seconds: float) -> None:
        await _paced(spec["rate"], seconds, launch)
        while tasks:
            await asyncio.gather(*list(tasks))

    return saturate if spec["mode"] == "saturation" else timer


async def _measure(
    spec: dict[str, Any],
    probe_one: Callable[[], Awaitable[None]],
    counts: dict[str, int],
    cpu_clock: Callable[[], float],
    settle_first: bool,
) -> dict[str, Any]:
    """Warm up, then drive ``probe_one`` for the measured window; probes, wall, the CPU that
    ``cpu_clock`` counts, and nginx's share."""
    run = _runner(spec, probe_one)
    nginx = _Nginx(spec)
    if spec["warmup"] > 0:
        await run(spec["warmup"])
    counts.update(probes=0, ok=0)
    if settle_first:
        await asyncio.sleep(SETTLE)
    before = nginx.snapshot()
    cpu0, wall0 = cpu_clock(), time.perf_counter()
    await run(spec["duration"])
    wall = time.perf_counter() - wall0
    await asyncio.sleep(SETTLE)
    cpu = cpu_clock() - cpu0
    after = nginx.snapshot()
    return {
        "probes": counts["probes"],
        "ok": counts["ok"],
        "wall": wall,
        "cpu": cpu,
        **_Nginx.delta(before, after),
    }


async def _blackbox(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp
    from yarl import URL

    probe_url = URL(spec["bb_url"], encoded=True)
    pid = spec["bb_pid"]
    counts = {"probes": 0, "ok": 0}
    limit = spec["concurrency"] if spec["mode"] == "saturation" else 0
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=30),
    )

    async def probe_one() -> None:
        ok = False
        try:
            async with session.get(probe_url) as resp:
                body = await resp.read()
            ok = resp.status == 200 and b"\nprobe_success 1" in body
        except (aiohttp.ClientError, TimeoutError):
            pass
        counts["probes"] += 1
        counts["ok"] += ok

    try:
        return await _measure(spec, probe_one, counts, lambda: cpu_seconds(pid), settle_first=True)
    finally:
        await session.close()


async def _bare(spec: dict[str, Any]) -> dict[str, Any]:
    """The reference: bare aiohttp GETs on a force_close connector, nothing stored."""
    import aiohttp
    from yarl import URL

    url = URL(spec["url"])
    counts = {"probes": 0, "ok": 0}
    limit = spec["concurrency"] if spec["mode"] == "saturation" else 200
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, force_close=True))
    timeout = aiohttp.ClientTimeout(total=spec["timeout"])

    async def probe_one() -> None:
        ok = False
        try:
            async with session.get(url, timeout=timeout) as resp:
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            pass
        counts["probes"] += 1
        counts["ok"] += ok

    try:
        return await _measure(spec, probe_one, counts, time.process_time, settle_first=False)
    finally:
        await session.close()


def worker_main(spec: dict[str, Any]) -> None:
    side = {"ours": _ours, "blackbox": _blackbox, "bare": _bare}[spec["side"]]
    with asyncio.Runner(loop_factory=_loop_factory(spec["loop"])) as runner:
        result = runner.run(side(spec))
    print(json.dumps(result))


# ------------------------------------------------------------------------------ the parent


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=spec["duration"] + spec["warmup"] + 120,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['side']} worker failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(side=spec["side"], loop=spec["loop"], mode=spec["mode"])
    probes = max(result["probes"], 1)
    result["probes_per_s"] = result["probes"] / result["wall"]
    result["cpu_per_1k"] = result["cpu"] / probes * 1000
    result["probes_per_cpu_s"] = result["probes"] / result["cpu"] if result["cpu"] else 0.0
    result["nginx_cpu_per_1k"] = result["nginx_cpu"] / probes * 1000
    result["conns_per_probe"] = result["conns"] / probes
    result["cores"] = result["cpu"] / result["wall"]
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        "probes_per_s",
        "cpu_per_1k",
        "probes_per_cpu_s",
        "nginx_cpu_per_1k",
        "conns_per_probe",
        "cores",
    )
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["failures"] = sum(r["probes"] - r["ok"] for r in runs)
    out["probes"] = statistics.median(r["probes"] for r in runs)
    return out


def print_table(summary: dict[str, Any], args: argparse.Namespace) -> None:
    head = (
        f"{'loop':8} {'mode':12} {'side':9} {'probes/s':>9} {'CPU s/1k':>9} "
        f"{'pr/CPU-s':>9} {'cores':>6} {'nginx s/1k':>10} {'conn/pr':>8} {'fail':>5}"
    )
    print(head)
    print("-" * len(head))
    for loop, modes in summary["results"].items():
        for mode, sides in modes.items():
            label = "saturation" if mode == "saturation" else f"{args.rate:g}/s"
            for side in ("ours", "blackbox", "bare"):
                if side not in sides:
                    continue
                s = sides[side]
                print(
                    f"{loop:8} {label:12} {side:9} {s['probes_per_s']:9.0f} "
                    f"{s['cpu_per_1k']:9.3f} {s['probes_per_cpu_s']:9.0f} "
                    f"{s['cores']:6.2f} {s['nginx_cpu_per_1k']:10.3f} "
                    f"{s['conns_per_probe']:8.2f} {s['failures']:5d}"
                )
            ratio = sides["ratio"]
            verdict = "met" if ratio >= args.target else "NOT met"
            print(
                f"{'':8} {label:12} ratio ours/blackbox probes per CPU-second: {ratio:.2f}x "
                f"(target >= {args.target:g}x: {verdict})"
            )
            if "ratio_bare" in sides:
                print(
                    f"{'':8} {label:12} reference: bare aiohttp / blackbox "
                    f"{sides['ratio_bare']:.2f}x; ours / bare aiohttp "
                    f"{ratio / sides['ratio_bare']:.2f}"
                )
    print(
        "\nmedians of the repetitions; CPU s/1k = CPU seconds per 1,000 probes (= CPU ms per "
        "probe); cores = CPU s / wall s;\nnginx's CPU is excluded from both sides (shown for "
        "reference); conn/pr = nginx-accepted connections per probe."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python bench/probe_throughput.py --loop both --duration 10 --reps 3 "
        "--json bench/out/probe_throughput.json",
    )
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop", "both"),
        default="both",
        help="event loop of our side (both: asyncio, then uvloop if importable)",
    )
    parser.add_argument("--mode", choices=("saturation", "rate", "both"), default="both")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="unmeasured seconds before each run (default 1)"
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions per side (default 3)")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="probes in flight at saturation (default 50)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="probes per second in the fixed-rate mode (default 500)",
    )
    parser.add_argument(
        "--rate-pipeline",
        choices=("scheduler", "timer"),
        default="scheduler",
        help="our side at a fixed rate: the real Scheduler (default) or a timer",
    )
    parser.add_argument(
        "--monitors",
        type=int,
        default=1000,
        help="distinct monitors (x 3 regions) our results are stored under",
    )
    parser.add_argument("--batch", type=int, default=500, help="results per storage write")
    parser.add_argument(
        "--flush-every",
        type=float,
        default=1.0,
        help="seconds between storage writes (or when a batch is full)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="probe timeout, both sides")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument(
        "--driver-loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the blackbox driver (default uvloop if importable)",
    )
    parser.add_argument("--target", type=float, default=2.0, help="the ratio to meet (default 2)")
    parser.add_argument(
        "--no-bare",
        dest="bare",
        action="store_false",
        help="skip the reference side: bare aiohttp GETs (force_close), nothing stored",
    )
    parser.add_argument("--json", type=Path, help="also write every run and the medians here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(json.loads(args.worker))
        return
    if args.duration <= 0 or args.duration > 600 or not 1 <= args.reps <= 20:
        parser.error("--duration must be in (0, 600] and --reps in [1, 20]")
    if not 1 <= args.concurrency <= 1000 or not 0 < args.rate <= 20000:
        parser.error("--concurrency must be in [1, 1000] and --rate in (0, 20000]")

    try:
        import uvloop  # type: ignore[import-not-found]  # noqa: F401

        have_uvloop = True
    except ImportError:
        have_uvloop = False
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    if "uvloop" in loops and not have_uvloop:
        if args.loop == "uvloop":
            parser.error("uvloop is not importable")
        loops.remove("uvloop")
        print("uvloop is not importable: asyncio only", file=sys.stderr)
    driver_loop = args.driver_loop if have_uvloop else "asyncio"
    modes = ["saturation", "rate"] if args.mode == "both" else [args.mode]
    sides = ["ours", "blackbox"] + (["bare"] if args.bare else [])

    info = machine()
    load_before = loadavg()
    print(f"machine: {info}", file=sys.stderr)
    print(f"load average before: {load_before}", file=sys.stderr)
    runs: list[dict[str, Any]] = []
    summary: dict[str, Any] = {
        "machine": info,
        "args": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "worker"
        },
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        workdir = Path(tmp)
        nginx = Nginx(workdir, [free_port()], workers=args.nginx_workers)
        blackbox = Blackbox(workdir, timeout=f"{args.timeout:g}s")
        try:
            nginx.start()
            blackbox.start()
            assert blackbox.proc is not None
            url = f"http://127.0.0.1:{nginx.ports[0]}/"
            base = {
                "url": url,
                "bb_url": blackbox.probe_url(url),
                "bb_pid": blackbox.proc.pid,
                "nginx_pids": [nginx.proc.pid, *nginx.worker_pids()],  # type: ignore[union-attr]
                "status_port": nginx.status_port,
                "duration": args.duration,
                "warmup": args.warmup,
                "concurrency": args.concurrency,
                "rate": args.rate,
                "rate_pipeline": args.rate_pipeline,
                "monitors": args.monitors,
                "batch": args.batch,
                "flush_every": args.flush_every,
                "timeout": args.timeout,
            }
            for loop in loops:
                for mode in modes:
                    per_side: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
                    for rep in range(args.reps):
                        # Rotate which side goes first, so drift hits every side alike.
                        order = sides[rep % len(sides) :] + sides[: rep % len(sides)]
                        for side in order:
                            spec = {
                                **base,
                                "side": side,
                                "mode": mode,
                                "loop": driver_loop if side == "blackbox" else loop,
                                "db": str(workdir / f"ours-{loop}-{mode}-{rep}.db"),
                            }
                            result = run_child(spec)
                            result["loop"], result["rep"] = loop, rep
                            if side == "blackbox":
                                result["driver_loop"] = driver_loop
                            runs.append(result)
                            per_side[side].append(result)
                            if side == "ours" and result["stored"] != result["probes"]:
                                print(
                                    f"  WARNING: {result['stored']} results stored for "
                                    f"{result['probes']} probes",
                                    file=sys.stderr,
                                )
                            print(
                                f"  {loop} {mode} rep {rep + 1}/{args.reps} {side:8}: "
                                f"{result['probes']} probes ({result['probes'] - result['ok']} "
                                f"failed) in {result['wall']:.2f}s = "
                                f"{result['probes_per_s']:.0f}/s, CPU {result['cpu']:.2f}s = "
                                f"{result['cpu_per_1k']:.3f} s/1k, "
                                f"{result['conns_per_probe']:.2f} conn/probe",
                                file=sys.stderr,
                            )
                            for p in Path(workdir).glob("ours-*.db*"):
                                p.unlink()
                    medians = {side: summarize(per_side[side]) for side in sides}
                    bb = medians["blackbox"]["probes_per_cpu_s"]
                    medians["ratio"] = medians["ours"]["probes_per_cpu_s"] / bb
                    if "bare" in medians:
                        medians["ratio_bare"] = medians["bare"]["probes_per_cpu_s"] / bb
                    summary["results"].setdefault(loop, {})[mode] = medians
        finally:
            blackbox.stop()
            nginx.stop()
    summary["load_average"] = {"before": load_before, "after": loadavg()}
    summary["runs"] = runs
    print()
    print_table(summary, args)
    print(f"\nload average before {load_before}, after {summary['load_average']['after']}")
    write_figures(summary, args.json, show=False)
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
