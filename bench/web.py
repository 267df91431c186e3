"""Benchmark: the status page and a ``/metrics`` scrape of a large district, and probe lateness
while they are read.

    python bench/web.py [--vendors 1000] [--requests 30] [--workdir DIR]
    python bench/scheduler_scale.py --monitors 10000 --scrape-every 1   (lateness under scrapes)

Prepares (once per size, in ``--workdir``) a vendors.yaml with ``--vendors`` vendors of 2
monitors × 3 regions and an SQLite database holding a month of history up to now: each monitor
seen down ~30 times in the last 30 days by each region, a few seconds apart (recorded through
``Storage.record_results``, the path live probes take), every region's state open and fresh at
the start. Then it starts ``uptime-ledger run`` as a user does (every region has a
``token_file``: a collector with remote agents, so nothing is probed and the figures do not
move), waits for ``/healthz``, requests ``/`` and ``/metrics`` once each right away (while
the server is still computing every vendor's months in the background: reported as "cold"),
then ``--requests`` times each, alternating, and prints the median and p95 latency of each
(time to the last byte of a new connection, measured by curl), the response sizes, and the
server's peak RSS. Most requests of ``/`` are served the rendering kept for ``PAGE_FRESH``
seconds; ``--fresh`` more, each after a pause longer than that, time a rendering of the page.

Targets (issue 8): page under 150 ms, scrape under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import free_port, loadavg, machine, status_kib, write_figures  # noqa: E402
from report_month import SLA_LINES, seen_down  # noqa: E402

from credits.intervals import Interval  # noqa: E402
from probes.result import ProbeResult  # noqa: E402
from uptime.store.storage import Storage  # noqa: E402
from uptime.web.pages import PAGE_FRESH  # noqa: E402

REGIONS = ("chicago", "california", "atlanta")
MONITORS = ("app", "login")
#: The reader's token: /metrics is scraped with it, as Prometheus does with credentials_file
#: (the credit and claim deadline families included).
READER = "bench-reader-0123456789abcdef"


def write_config(workdir: Path, vendors: int) -> None:
    tokens = {r: f"bench-{r}-0123456789abcdef" for r in REGIONS} | {"reader": READER}
    for name, token in tokens.items():
        (workdir / f"{name}.token").write_text(token + "\n")
        (workdir / f"{name}.token").chmod(0o600)
    lines = ["regions:"]
    lines += [f"  {r}: {{name: {r}, token_file: {r}.token}}" for r in REGIONS]
    lines.append("web: {reader_token_file: reader.token}")
    lines.append("vendors:")
    for n in range(vendors):
        lines += [
            f"  vendor{n:04d}:",
            f"    name: Vendor {n}",
            "    timezone: America/Chicago",
            "    monitors:",
        ]
        for monitor in MONITORS:
            lines.append(
                f"      - {{id: {monitor}, functional_area: {monitor.title()}, "
                f"url: 'https://{monitor}.vendor{n}.example.invalid/', interval: 60s, "
                "timeout: 10s, critical: true}"
            )
        lines += SLA_LINES
    (workdir / "vendors.yaml").write_text("\n".join(lines) + "\n")
    (workdir / "maintenance_windows.yaml").write_text("{}\n")


def fill_database(path: Path, vendors: int, now: datetime) -> int:
    """A month of history ending at ``now``; every state open, up and trusted for a day."""
    rng = random.Random(2026)
    storage = Storage(path)
    stale = {(f"vendor{n:04d}", m): timedelta(days=1) for n in range(vendors) for m in MONITORS}
    rows = 0
    start = now - timedelta(days=30)
    for n in range(vendors):
        vendor = f"vendor{n:04d}"
        batch: list[ProbeResult] = []
        for monitor in MONITORS:
            outages, at = [], start
            for _ in range(30):
                at += timedelta(minutes=rng.randint(60, 1300))
                length = timedelta(minutes=rng.randint(2, 60))
                outages.append((at, length))
                at += length
            for region in REGIONS:
                batch.append(ProbeResult(vendor, monitor, region, start, True, 0.1, status=200))
                for down_at, length in outages:
                    skew = timedelta(seconds=rng.randint(0, 50))
                    outage = Interval(down_at, down_at + length)
                    batch += seen_down(vendor, monitor, region, outage, skew)
                batch.append(ProbeResult(vendor, monitor, region, now, True, 0.1, status=200))
        batch.sort(key=lambda r: r.at)
        rows += storage.record_results(batch, stale)
    storage.close()
    return rows


def get(url: str, token: str | None = None) -> tuple[float, int]:
    """Seconds to the last byte and bytes of one GET, by curl: a client as fast as Prometheus
    or a browser (Python's own would add tens of milliseconds reading 10 MB)."""
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{time_total} %{size_download}",
            *(["-H", f"Authorization: Bearer {token}"] if token else []),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise OSError(done.stderr.strip())
    code, took, size = done.stdout.split()
    if code != "200":
        raise SystemExit(f"{url}: HTTP {code}")
    return float(took), int(size)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: python bench/web.py --vendors 1000 --requests 30",
    )
    parser.add_argument("--vendors", type=int, default=1000, help="vendors (default 1000)")
    parser.add_argument("--requests", type=int, default=30, help="requests of each (default 30)")
    parser.add_argument(
        "--fresh",
        type=int,
        default=5,
        help="then this many requests of / that each find no kept rendering (default 5)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.vendors <= 20_000 or not 1 <= args.requests <= 1000:
        parser.error("--vendors must be in [1, 20000] and --requests in [1, 1000]")
    if not 0 <= args.fresh <= 100:
        parser.error("--fresh must be in [0, 100]")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        db = workdir / "uptime.db"
        write_config(workdir, args.vendors)  # the database keeps its history
        if not db.exists():
            began = time.perf_counter()
            rows = fill_database(db, args.vendors, datetime.now(UTC))
            print(f"database: {rows} results in {time.perf_counter() - began:.1f} s", flush=True)
        port = free_port()
        load_before = loadavg()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uptime.cli",
                *("--vendors", str(workdir / "vendors.yaml")),
                *("--maintenance", str(workdir / "maintenance_windows.yaml")),
                *("--db", str(db)),
                *("run", "--port", str(port)),
            ],
            cwd=workdir,  # run writes last month's report to ./reports/: not into the sources
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    get(base + "/healthz")
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            token = {"/": None, "/metrics": READER}
            cold = {path: get(base + path, token[path]) for path in token}
            times: dict[str, list[float]] = {"/": [], "/metrics": []}
            sizes: dict[str, int] = {}
            for _ in range(args.requests):
                for path in times:
                    took, sizes[path] = get(base + path, token[path])
                    times[path].append(took)
            # A viewer who finds no kept rendering (older than PAGE_FRESH, or a state changed
            # since): the page computed for this request.
            fresh = []
            for _ in range(args.fresh):
                time.sleep(PAGE_FRESH + 0.5)
                fresh.append(get(base + "/")[0])
            peak_rss = status_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=60)
    out = {
        "machine": machine(),
        "vendors": args.vendors,
        "monitors": args.vendors * len(MONITORS),
        "requests": args.requests,
        "load_average": {"before": load_before, "after": loadavg()},
        "server_peak_rss_mib": round(peak_rss / 1024, 1),
        **{
            path: {
                "cold_s": round(cold[path][0], 3),
                "median_s": round(statistics.median(values), 4),
                "p95_s": round(p95(values), 4),
                "min_s": round(min(values), 4),
                "bytes": sizes[path],
            }
            for path, values in times.items()
        },
    }
    if fresh:
        out["/"]["rendered_afresh"] = {
            "requests": len(fresh),
            "median_s": round(statistics.median(fresh), 4),
            "max_s": round(max(fresh), 4),
        }
    write_figures(out, args.json)


if __name__ == "__main__":
    main()
