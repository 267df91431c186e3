"""Benchmark: database bytes per monitor-month, through the collector's real ingest path.

    python bench/storage_growth.py [--monitors 20] [--days 60] [--runs 3]
        [--old-code DIR] [--json PATH]

Simulates ``--days`` days of ``--monitors`` HTTPS monitors probed once a minute from 3 regions,
time-compressed: synthetic ``ProbeResult``s with simulated timestamps go through
``Recorder.ingest`` (the writer thread and ``Storage.record_results``, the path of
``POST /api/v1/results`` and of in-process agents) in batches of up to ``--batch`` results, in
time order, and at every simulated hour the collector's pruning runs as ``uptime.web.app``'s
``prune_ctx`` runs it, with the code's default retention settings. Each region sees 99.9 % of
its probes up: outages of 1 to 15 minutes (half of them seen by all three regions, half by one;
half timeouts, half HTTP 503), plus 0.05 % of successes slower than the monitor's latency
limit (degraded). Every failure is kept as evidence.

After every simulated day the WAL is checkpointed and the file's size read; at days 30 and
``--days`` the bytes of each table and index (SQLite's ``dbstat``). The figures, per monitor:
the file after 30 days, after ``--days`` days, and the growth per monitor-month (30 days) from
day 30 on, when the raw window is long full: the steady state.

``--old-code DIR`` runs the same simulation on another checkout (e.g. ``git archive 77e212f``
unpacked), with its own defaults, side by side; then opens the last old database with this
code, which migrates it, and times the migration and the first prune. Each run is a fresh
child process; several runs use different random outages, and the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("chicago", "california", "atlanta")
START = datetime(2025, 1, 1, tzinfo=UTC)
STALE = timedelta(seconds=130)  # 2 × 60 s interval + 10 s timeout
MONTH_DAYS = 30
DOWN_SHARE = 0.001
DEGRADED_SHARE = 0.0005
MAX_LATENCY = 2.0


# ---------------------------------------------------------------- the simulated probes


def outages(rng: random.Random, monitors: int, minutes: int) -> dict[tuple[int, str], dict]:
    """(monitor, region) → {simulated minute seen down: "timeout" or "503"}: DOWN_SHARE of the
    minutes, in outages of 1–15 minutes, half of the down time in outages all regions see."""
    down: dict[tuple[int, str], dict[int, str]] = {
        (m, r): {} for m in range(monitors) for r in REGIONS
    }

    def add(m: int, regions: tuple[str, ...]) -> int:
        length = rng.randint(1, 15)
        start = rng.randrange(minutes - length)
        kind = rng.choice(("timeout", "503"))
        for region in regions:
            down[m, region].update(dict.fromkeys(range(start, start + length), kind))
        return length

    for m in range(monitors):
        shared = 0
        while shared < minutes * DOWN_SHARE / 2:
            shared += add(m, REGIONS)
        for region in REGIONS:
            alone = 0
            while alone < minutes * DOWN_SHARE / 2:
                alone += add(m, (region,))
    return down


def simulated_results(
    monitors: int, days: int, seed: int, certs: bool = True
) -> Iterator[tuple[datetime, list[Any]]]:
    """Every result of the simulation, in time order, one simulated minute at a time (with a
    certificate expiry on every answered HTTPS probe if ``certs``)."""
    from probes.result import FailureClass, ProbeResult

    rng = random.Random(seed)
    down = outages(rng, monitors, days * 1440)
    series = [(m, r) for m in range(monitors) for r in REGIONS]
    # Each series probes at its own second of the minute, as the scheduler spreads them.
    offsets = {key: timedelta(seconds=60 * i / len(series)) for i, key in enumerate(series)}
    base = {key: rng.uniform(0.04, 0.4) for key in series}
    # Each monitor's certificate is renewed for 90 days when it expires.
    renewals = {m: START + timedelta(days=rng.randint(20, 80)) for m in range(monitors)}
    for minute in range(days * 1440):
        at0 = START + timedelta(minutes=minute)
        batch = []
        for key in series:
            m, region = key
            at = at0 + offsets[key] + timedelta(microseconds=rng.randrange(200_000))
            cert = renewals[m] if renewals[m] > at else renewals[m] + timedelta(days=90)
            if not certs:
                cert = None
            vendor = f"vendor{m:03d}"
            kind = down[key].get(minute)
            if kind == "timeout":
                batch.append(
                    ProbeResult(vendor, "app", region, at, False, 10.0 + rng.random() / 100,
                                None, FailureClass.TIMEOUT, "timed out after 10s")
                )  # fmt: skip
            elif kind == "503":
                batch.append(
                    ProbeResult(vendor, "app", region, at, False, base[key], 503,
                                FailureClass.STATUS, "HTTP 503", cert_expires_at=cert)
                )  # fmt: skip
            elif rng.random() < DEGRADED_SHARE:
                latency = MAX_LATENCY * 1.5
                batch.append(
                    ProbeResult(vendor, "app", region, at, True, latency, 200, None,
                                f"slow: {latency:.3f}s > {MAX_LATENCY:g}s", degraded=True,
                                cert_expires_at=cert)
                )  # fmt: skip
            else:
                batch.append(
                    ProbeResult(vendor, "app", region, at, True,
                                base[key] * rng.lognormvariate(0, 0.2), 200,
                                cert_expires_at=cert)
                )  # fmt: skip
        yield at0, batch


# ---------------------------------------------------------------- one run, in a child process


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def table_bytes(storage: Any) -> dict[str, int]:
    rows = storage.db.execute("select name, sum(pgsize) from dbstat group by name")
    return {name: size for name, size in rows}


def row_counts(storage: Any) -> dict[str, int]:
    names = [
        row[0]
        for row in storage.db.execute(
            "select name from sqlite_master where type in ('table', 'view') "
            "and name not like 'sqlite_%' and name not like '_sqlite_%'"
        )
    ]
    return {n: storage.db.execute(f"select count(*) from [{n}]").fetchone()[0] for n in names}


def checkpoint(storage: Any) -> tuple[int, int]:
    storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages, free, size = (
        storage.db.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("page_count", "freelist_count", "page_size")
    )
    return db_bytes(storage.path), (pages - free) * size


def timed(cls: type, name: str) -> list[tuple[float, float]]:
    """Wrap ``cls.name`` so that every call logs (wall seconds, CPU seconds of its thread): the
    writer thread's own cost, whatever else the machine is doing."""
    log: list[tuple[float, float]] = []
    method = getattr(cls, name)

    def call(self: Any, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return method(self, *args)
        finally:
            log.append((time.perf_counter() - wall, time.thread_time() - cpu))

    setattr(cls, name, call)
    return log


async def prune_as_the_collector(recorder: Any, now: datetime) -> int:
    """What ``uptime.web.app``'s ``prune_ctx`` does at ``now``, with this code's defaults."""
    from uptime.config import Probing

    probing = Probing()
    if "older_than" in inspect.signature(recorder.prune).parameters:  # before issue 7
        return await recorder.prune(now - probing.retention)
    return await recorder.prune(now, probing.retention, probing.evidence_retention)


async def simulate(args: argparse.Namespace) -> dict[str, Any]:
    from uptime.config import Probing
    from uptime.store.recorder import Recorder
    from uptime.store.storage import Storage

    writes = timed(Storage, "record_results")
    prunes = timed(Storage, "prune" if hasattr(Storage, "prune") else "prune_results")
    stale = {(f"vendor{m:03d}", "app"): STALE for m in range(args.monitors)}
    monitors = {r: {(vendor, "app") for vendor, _ in stale} for r in REGIONS}
    recorder = Recorder(Path(args.db), stale, monitors)
    await recorder.open()
    daily: list[dict[str, int]] = []
    tables: dict[int, dict[str, int]] = {}
    counts: dict[int, dict[str, int]] = {}
    pending: list[Any] = []

    async def measure(day: int) -> None:
        file_bytes, used = await recorder.call(checkpoint)
        daily.append({"day": day, "file_bytes": file_bytes, "used_bytes": used})
        if day in (MONTH_DAYS, args.days):
            tables[day] = await recorder.call(table_bytes)
            counts[day] = await recorder.call(row_counts)

    try:
        for at0, batch in simulated_results(args.monitors, args.days, args.seed, args.certs):
            if at0.minute == 0 and at0 > START:
                await recorder.ingest(pending)
                pending.clear()
                await prune_as_the_collector(recorder, at0)  # every simulated hour
                if at0.hour == 0:
                    await measure((at0 - START).days)
            for result in batch:
                pending.append(result)
                if len(pending) >= args.batch:
                    await recorder.ingest(pending)
                    pending.clear()
        await recorder.ingest(pending)
        await prune_as_the_collector(recorder, START + timedelta(days=args.days))
        await measure(args.days)
    finally:
        await recorder.close()
    probing = Probing()
    return {
        "code": str(Path(sys.modules["uptime"].__file__).resolve().parent.parent),
        "settings": {k: str(getattr(probing, k, "-")) for k in ("retention", "evidence_retention")},
        "results": recorder.ingested,
        "writer_wall_s": sum(wall for wall, _ in writes),
        "writer_cpu_s": sum(cpu for _, cpu in writes),
        "prune_calls": len(prunes),
        "prune_call_max_s": max((wall for wall, _ in prunes), default=0.0),
        "daily": daily,
        "tables": tables,
        "counts": counts,
    }


async def migrate(args: argparse.Namespace) -> dict[str, Any]:
    """Open a database of other code with this one (migrating it), then prune as the
    collector's first prune would; or, with ``--child prune-once``, run that code's own prune
    of the same rows."""
    from uptime.store.recorder import Recorder
    from uptime.store.storage import Storage

    prunes = timed(Storage, "prune" if hasattr(Storage, "prune") else "prune_results")
    recorder = Recorder(Path(args.db), {}, {})
    started = time.perf_counter()
    await recorder.open()
    opened_s = time.perf_counter() - started
    try:
        before = await recorder.call(row_counts)
        started = time.perf_counter()
        if args.child == "prune-once":  # everything the first prune of new code deletes
            pruned = await recorder.prune(START + timedelta(days=args.days - 2))
        else:
            pruned = await prune_as_the_collector(recorder, START + timedelta(days=args.days))
        prune_s = time.perf_counter() - started
        after = await recorder.call(row_counts)
        file_bytes, used = await recorder.call(checkpoint)
    finally:
        await recorder.close()
    return {
        "open_s": opened_s,
        "rows_before": before,
        "pruned": pruned,
        "prune_s": prune_s,
        "prune_calls": len(prunes),
        "prune_call_max_s": max((wall for wall, _ in prunes), default=0.0),
        "rows_after": after,
        "file_bytes": file_bytes,
        "used_bytes": used,
    }


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.code)
    work = simulate if args.child == "simulate" else migrate
    print(json.dumps(asyncio.run(work(args))))


# ---------------------------------------------------------------- the parent


def run_child(kind: str, code: Path, db: Path, args: argparse.Namespace, seed: int) -> dict:
    command = [
        sys.executable, __file__, "--child", kind, "--code", str(code), "--db", str(db),
        "--monitors", str(args.monitors), "--days", str(args.days), "--batch", str(args.batch),
        "--seed", str(seed), *([] if args.certs else ["--no-certs"]),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} run on {code} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def figures(run: dict[str, Any], monitors: int, days: int) -> dict[str, float]:
    size = {d["day"]: d["file_bytes"] for d in run["daily"]}
    used = {d["day"]: d["used_bytes"] for d in run["daily"]}
    per_month = MONTH_DAYS / (days - MONTH_DAYS) / monitors
    return {
        "file_per_monitor_day30": size[MONTH_DAYS] / monitors,
        "file_per_monitor_end": size[days] / monitors,
        "growth_per_monitor_month": (size[days] - size[MONTH_DAYS]) * per_month,
        "used_growth_per_monitor_month": (used[days] - used[MONTH_DAYS]) * per_month,
        "bytes_per_result_day30": size[MONTH_DAYS] / (monitors * len(REGIONS) * 1440 * MONTH_DAYS),
        "writer_cpu_us_per_result": run["writer_cpu_s"] / run["results"] * 1e6,
        "writer_wall_us_per_result": run["writer_wall_s"] / run["results"] * 1e6,
        "prune_call_max_ms": run["prune_call_max_s"] * 1e3,
    }


def median_figures(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    each = [figures(r, args.monitors, args.days) for r in runs]
    return {
        key: {
            "median": statistics.median(f[key] for f in each),
            "min": min(f[key] for f in each),
            "max": max(f[key] for f in each),
        }
        for key in each[0]
    }


def per_monitor_tables(run: dict[str, Any], day: int, monitors: int) -> dict[str, float]:
    return {
        name: size / monitors
        for name, size in sorted(run["tables"][str(day)].items(), key=lambda kv: -kv[1])
    }


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB" if n < 1e6 else f"{n / 1e6:,.2f} MB"


def report(out: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"{args.monitors} monitors × 3 regions, 1 probe/min, {args.days} simulated days, "
          f"batches of {args.batch}, {'HTTPS' if args.certs else 'plain HTTP'}, "
          f"{args.runs} runs (median, min–max)")  # fmt: skip
    rows = [
        ("file per monitor after 30 days", "file_per_monitor_day30", kb),
        (f"file per monitor after {args.days} days", "file_per_monitor_end", kb),
        ("growth per monitor-month from day 30 (file)", "growth_per_monitor_month", kb),
        ("growth per monitor-month from day 30 (pages used)", "used_growth_per_monitor_month", kb),
        (
            "file bytes per probe made, after 30 days",
            "bytes_per_result_day30",
            lambda n: f"{n:.1f} B",
        ),
        ("writer thread CPU per result", "writer_cpu_us_per_result", lambda n: f"{n:.1f} µs"),
        ("writer wall time per result", "writer_wall_us_per_result", lambda n: f"{n:.1f} µs"),
        ("longest pruning call of the writer", "prune_call_max_ms", lambda n: f"{n:.1f} ms"),
    ]
    sides = [s for s in ("new", "old") if s in out]
    for label, key, fmt in rows:
        cells = []
        for side in sides:
            f = out[side]["figures"][key]
            cells.append(f"{side}: {fmt(f['median'])} ({fmt(f['min'])}–{fmt(f['max'])})")
        print(f"  {label:52s} " + "   ".join(cells))
    for side in sides:
        run = out[side]["runs"][0]
        for day in sorted({MONTH_DAYS, args.days}):
            tables = per_monitor_tables(run, day, args.monitors)
            print(f"  {side}, day {day}, per monitor: "
                  + ", ".join(f"{n} {kb(v)}" for n, v in tables.items() if v >= 500))  # fmt: skip
            print(f"  {side}, day {day}, rows: {run['counts'][str(day)]}")
    for name, label in (("migration", "new code opens the last old database (migration)"),
                        ("prune_once", "old code prunes the same rows itself")):  # fmt: skip
        if name in out:
            m = out[name]
            print(f"  {label}: opened in {m['open_s']:.1f} s; prune of {m['pruned']:,} rows: "
                  f"{m['prune_calls']} writer calls, {m['prune_s']:.2f} s, longest call "
                  f"{m['prune_call_max_s'] * 1e3:.1f} ms; rows before {m['rows_before']}, "
                  f"after {m['rows_after']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=20)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--no-certs",
        dest="certs",
        action="store_false",
        help="plain HTTP monitors: no certificate expiry with each result",
    )
    parser.add_argument("--old-code", type=Path, help="another checkout to compare with")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument(
        "--child", choices=("simulate", "migrate", "prune-once"), help=argparse.SUPPRESS
    )
    parser.add_argument("--code", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.days <= MONTH_DAYS:
        parser.error(f"--days must be more than {MONTH_DAYS} to see the steady state")
    sys.path.insert(0, str(ROOT / "bench"))
    from _harness import loadavg, machine, write_figures

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="storage-growth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "machine": machine(),
        "load_before": loadavg(),
        "args": {
            k: str(v) for k, v in vars(args).items() if not k.startswith(("child", "code", "db"))
        },
    }
    sides = {"new": ROOT} | ({"old": args.old_code.resolve()} if args.old_code else {})
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    try:
        # The sides take turns, so that a drift in the machine's speed touches both alike.
        for seed in range(1, args.runs + 1):
            for side, code in sides.items():
                db = workdir / f"{side}-{seed}.db"
                for stale in workdir.glob(db.name + "*"):
                    stale.unlink()
                runs[side].append(run_child("simulate", code, db, args, seed))
                print(f"{side} run {seed}: done", file=sys.stderr)
                if not (side == "old" and seed == args.runs):  # that one is migrated below
                    for done in workdir.glob(db.name + "*"):
                        done.unlink()
        for side in sides:
            out[side] = {"runs": runs[side], "figures": median_figures(runs[side], args)}
        if args.old_code:
            last = workdir / f"old-{args.runs}.db"
            for kind, code, name in (("migrate", ROOT, "migration"),
                                     ("prune-once", args.old_code, "prune_once")):  # fmt: skip
                copy = workdir / f"{name}.db"
                shutil.copy(last, copy)
                out[name] = run_child(kind, code, copy, args, args.runs)
                copy.unlink()
    finally:
        out["load_after"] = loadavg()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report(out, args)
    write_figures(out, args.json, show=False)


if __name__ == "__main__":
    main()
