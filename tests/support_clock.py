"""A wall clock stepped under a real ``uptime-ledger run``: Debian's libfaketime (package
``faketime``) preloaded into the child, its offset read from a file on every call
(``FAKETIME_TIMESTAMP_FILE`` + ``FAKETIME_NO_CACHE``), the monotonic clock left alone
(``DONT_FAKE_MONOTONIC``), as an NTP step does. The target is a real local HTTP server in this
process (real clock) that a test turns down and up; the downtime it was down for, in real
seconds, is compared with what ``run`` stored.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from uptime.store.states import MAX_CLOCK_SKEW

#: Where Debian's libfaketime puts its preload library (amd64 and arm64).
LIBFAKETIME = next(
    (
        path
        for path in (
            Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
        )
        if path.exists()
    ),
    None,
)

REGIONS = ("chicago", "california", "atlanta")
STEP_LINE = re.compile(r"wall clock stepped (forward|back) by (?:(\d+)h )?(?:(\d+)m )?([\d.]+)s")


class Switch(ThreadingHTTPServer):
    """``GET /`` answers 200 while ``up``, else 503."""

    daemon_threads = True

    def __init__(self) -> None:
        self.up = True

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:
                status = 200 if self.up else 503
                handler.send_response(status)
                handler.send_header("Content-Length", "2")
                handler.end_headers()
                handler.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(handler, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


def write_config(cwd: Path, url: str) -> None:
    regions = "".join(f"  {r}: {{name: {r}}}\n" for r in REGIONS)
    (cwd / "vendors.yaml").write_text(
        f"regions:\n{regions}"
        "probing: {retries: 1, retry_within: 1s, flush_every: 1s}\n"
        "vendors:\n"
        "  sim:\n"
        "    name: Simulated vendor\n"
        "    timezone: UTC\n"
        "    monitors:\n"
        f"      - {{id: app, functional_area: App, url: '{url}', interval: 1s, timeout: 1s, "
        "critical: true}\n"
        "    sla: {target_pct: 99, maintenance: counts}\n"
    )
    (cwd / "maintenance_windows.yaml").write_text("{}\n")


@dataclass
class JumpRun:
    """What one run with one step measured; times in seconds."""

    jump: float
    true_down: float  # how long the target answered 503 (real time)
    down: dict[str, float]  # stored downtime per region
    unknown: dict[str, float]  # stored unknown time per region
    steps_logged: list[float]  # each logged step, signed
    stderr: str

    def worst_error(self) -> float:
        """The largest |stored − true downtime| of any region."""
        return max(abs(d - self.true_down) for d in self.down.values())


def _regions_seen(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from open_states").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def _totals(db: Path) -> tuple[dict[str, float], dict[str, float]]:
    down = dict.fromkeys(REGIONS, 0.0)
    unknown = dict.fromkeys(REGIONS, 0.0)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select region, state, start, end from state_intervals").fetchall()
        opened = conn.execute("select region, state from open_states").fetchall()
    for region, state, start, end in rows:
        span = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        if state == "down":
            down[region] += span
        elif state == "unknown":
            unknown[region] += span
    # Every region is up again by the end: an open down state would be an unclosed outage.
    assert all(state == "up" for _, state in opened), opened
    return down, unknown


def run_with_jump(cwd: Path, jump: int, *, down_for: float = 5.0, step_after: float = 2.0,
                  settle: float = 3.0) -> JumpRun:  # fmt: skip
    """``uptime-ledger run`` probing a target that goes down for ``down_for`` seconds; the wall
    clock steps by ``jump`` seconds ``step_after`` seconds into the outage (``down_for`` 0: no
    outage, the step comes as long after the first results). Then wait until the stamps are past
    the step's effects (``|jump|`` more for a step back of at most ``MAX_CLOCK_SKEW``) plus
    ``settle``."""
    if LIBFAKETIME is None:
        raise RuntimeError(
            "libfaketime is not installed (Debian package faketime, in .ci/run's SYSTEM_PACKAGES)"
        )
    target = Switch()
    offset = cwd / "faketime"
    offset.write_text("+0\n")
    write_config(cwd, target.url)
    env = {
        **os.environ,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptime.cli", "run", "--port", "0"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while _regions_seen(cwd / "uptime.db") < len(REGIONS):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("run stored no result from every region in 30 s")
            time.sleep(0.1)
        time.sleep(1.0)
        target.up = down_for <= 0
        went_down = time.monotonic()
        time.sleep(step_after)
        offset.write_text(f"{jump:+d}\n")
        stepped = time.monotonic()
        time.sleep(max(0.0, went_down + down_for - time.monotonic()))
        target.up = True
        true_down = time.monotonic() - went_down if down_for > 0 else 0.0
        # A step back of up to MAX_CLOCK_SKEW freezes the intervals until the stamps catch up;
        # a longer one makes the stored "last seen" look like the future, distrusted at once.
        frozen = -jump if 0 < -jump <= MAX_CLOCK_SKEW.total_seconds() else 0
        until = max(time.monotonic(), stepped + frozen) + settle
        time.sleep(max(0.0, until - time.monotonic()))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            target.close()
    if proc.returncode != 0:
        raise RuntimeError(f"run failed ({proc.returncode}): {stderr}")
    down, unknown = _totals(cwd / "uptime.db")
    steps = []
    for match in STEP_LINE.finditer(stderr):
        size = int(match[2] or 0) * 3600 + int(match[3] or 0) * 60 + float(match[4])
        steps.append(size if match[1] == "forward" else -size)
    return JumpRun(jump, true_down, down, unknown, steps, stderr)
