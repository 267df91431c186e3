"""Run a :class:`uptime.demo.faults.FaultScript` against the real processes and measure it.

The simulator (:mod:`uptime.demo.simulator`) serves in the calling event loop, with the places
its redirecting faults lead to: a port bound with nothing listening, two HTTPS sites (a trustme
CA's certificate that has expired, and one for another host) and a name under ``.invalid``. The
processes are the user's: ``uptime-ledger run`` probing every region itself (topology ``run``),
or a collector (``run`` with every region's ``token_file``) and one ``uptime-ledger agent`` per
region (topology ``agents``), each a child process trusting the CA through ``SSL_CERT_FILE``.

Each agent has its own vendors.yaml: the same vendors, monitors and regions as the collector's,
but each monitor's URL names the region in its query (``?region=chicago``), as each real site
reaches the vendor over its own network; so the simulator can answer each region differently.
``run``'s regions share one URL: its scripts hold only faults every region sees.
Every region has a canary on the simulator (``/_canary/<region>``): a blind spell refuses it
and everything else that region asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import trustme
import yaml
from support_probing import free_port

from credits.intervals import Interval
from uptime.demo.faults import FaultScript, Measured
from uptime.demo.simulator import Elsewhere, Simulator, listening_socket, serving
from uptime.sources.probes import ProbeSource

Topology = Literal["run", "agents"]

#: Every monitor's interval and timeout (seconds) but a ``slow`` vendor's: the bound of
#: docs/timing.md is one interval plus the timeout.
INTERVAL = TIMEOUT = 1.0
#: A vendor whose script has ``slow``: probed every 2 s with a 2 s timeout, degraded past 1 s
#: (durations are whole seconds), answering ``slow`` after 1.5 s.
SLOW_INTERVAL, SLOW_LATENCY, SLOW_ANSWER = 2, 1, 1.5
HANG = 5.0
#: Confirmation as fast as whole-second durations allow (a failure retried once, 1 s later).
PROBING = {"retries": 1, "retry_within": "1s", "flush_every": "1s"}
STARTUP = 60.0  # seconds the processes may take to report every region (a busy machine)
STOP = 30.0


def slow_vendor(script: FaultScript, vendor: str) -> bool:
    return any(f.vendor == vendor and f.answer == "slow" for f in script.faults)


def tolerances(script: FaultScript) -> dict[str, timedelta]:
    """Each vendor's bound: one interval plus the timeout of its monitor."""
    return {
        v: timedelta(seconds=2 * SLOW_INTERVAL if slow_vendor(script, v) else INTERVAL + TIMEOUT)
        for v in script.vendors
    }


class Answers:
    """The simulator's script: ``up`` everywhere until ``t0`` is set, then ``script``'s."""

    def __init__(self, script: FaultScript) -> None:
        self.script = script
        self.t0: float | None = None

    def __call__(self, path: str, region: str | None, at: datetime) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) != 2:
            return None
        offset = -1.0 if self.t0 is None else at.timestamp() - self.t0
        if parts[0] == "_canary":
            return self.script.canary(parts[1], offset)
        if parts[0] not in self.script.vendors:
            return None
        return self.script.answer(parts[0], region, offset)


@dataclass
class Sites:
    """The simulator's address and the CA every process trusts."""

    base: str
    ca_file: Path


@contextlib.asynccontextmanager
async def sites(answers: Answers, workdir: Path) -> AsyncIterator[Sites]:
    """Serve the simulator and the places its faults redirect to, for the block."""
    ca = trustme.CA()
    ca_file = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.now(UTC)
    expired = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    wrong_host = ca.issue_cert("elsewhere.example")
    # Bound, never listening: a connection to it is refused, and no one else can take the port.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    main_sock, expired_sock, wrong_sock = (listening_socket() for _ in range(3))

    def url(sock: socket.socket, scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{sock.getsockname()[1]}/"

    elsewhere = Elsewhere(
        refused=url(closed, "http"),
        dns=f"http://vendor-down.invalid:{main_sock.getsockname()[1]}/",
        tls_expired=url(expired_sock),
        tls_wrong_host=url(wrong_sock),
    )
    simulator = Simulator(answers, SLOW_ANSWER, hang=HANG, elsewhere=elsewhere)

    def context(leaf: Any) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ctx)
        return ctx

    try:
        async with (
            serving(simulator.app(), main_sock),
            serving(Simulator(lambda *_: "up").app(), expired_sock, context(expired)),
            serving(Simulator(lambda *_: "up").app(), wrong_sock, context(wrong_host)),
        ):
            yield Sites(url(main_sock, "http"), ca_file)
    finally:
        closed.close()


# ------------------------------------------------------------------------------ configuration


def vendors_yaml(
    script: FaultScript, base: str, tokens: dict[str, Path] | None, region: str | None
) -> str:
    """vendors.yaml for the collector (``region`` None) or one agent: one vendor per scripted
    vendor, each with one critical monitor on the simulator; every region with its canary
    there, and ``tokens``' files when its agent is remote."""
    regions = {}
    for r in script.regions:
        regions[r] = {"name": r.title(), "canary": f"{base}_canary/{r}"}
        if tokens:
            regions[r]["token_file"] = str(tokens[r])
    vendors = {}
    for vendor in script.vendors:
        slow = slow_vendor(script, vendor)
        monitor = {
            "id": "app",
            "functional_area": f"{vendor} app",
            "url": f"{base}{vendor}/app" + (f"?region={region}" if region else ""),
            "interval": f"{SLOW_INTERVAL if slow else int(INTERVAL)}s",
            "timeout": f"{SLOW_INTERVAL if slow else int(TIMEOUT)}s",
            "expect": {"status": [200], "body_contains": "ok"},
            "critical": True,
        }
        if slow:
            monitor["max_latency"] = f"{SLOW_LATENCY}s"
        vendors[vendor] = {
            "name": vendor.title(),
            "timezone": "UTC",
            "quorum": "all",
            "monitors": [monitor],
            "sla": {"target_pct": 99, "maintenance": "counts"},
        }
    document = {"regions": regions, "probing": PROBING, "vendors": vendors}
    return yaml.safe_dump(document, sort_keys=False)


# ------------------------------------------------------------------------------ processes


class Child:
    """One ``uptime-ledger`` child process; its standard error kept line by line."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uptime.cli", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=STOP)
        finally:
            self._reader.join(timeout=STOP)

    def log(self) -> str:
        return f"--- {self.name} (exit {self.process.returncode}):\n" + "\n".join(self.lines)


@dataclass
class Run:
    """A finished run: when the script started, what was measured, the processes' logs."""

    topology: Topology
    script: FaultScript
    t0: datetime
    measured: Measured
    report: dict
    logs: list[str] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)


def _status(address: str) -> dict:
    with urllib.request.urlopen(f"{address}/api/v1/status", timeout=5) as reply:
        return json.load(reply)


async def _listening(collector: Child, address: str) -> None:
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{address}/healthz", timeout=5)
            return
        except OSError:
            if collector.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the collector did not start\n{collector.log()}") from None
            await asyncio.sleep(0.1)


async def _every_region_seen(address: str, script: FaultScript, children: list[Child]) -> None:
    """Wait until the collector holds an up state for every vendor from every region."""
    wanted = {(v, r) for v in script.vendors for r in script.regions}
    deadline = time.monotonic() + STARTUP
    while True:
        for child in children:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited early\n{child.log()}")
        try:
            states = (await asyncio.to_thread(_status, address))["states"]
            seen = {(s["vendor"], s["region"]) for s in states if s["state"] == "up"}
            if wanted <= seen:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            logs = "\n".join(c.log() for c in children)
            raise RuntimeError(f"not every region reported within {STARTUP}s\n{logs}")
        await asyncio.sleep(0.2)


async def _stop(children: list[Child]) -> dict[str, int]:
    """Stop the agents together (each flushes what it holds to the collector), then the
    collector; their exit codes."""
    agents, collector = children[1:], children[0]
    codes = await asyncio.gather(*(asyncio.to_thread(a.stop) for a in agents))
    exits = {a.name: code for a, code in zip(agents, codes, strict=True)}
    exits[collector.name] = await asyncio.to_thread(collector.stop)
    return exits


@contextlib.contextmanager
def _children() -> Iterator[list[Child]]:
    children: list[Child] = []
    try:
        yield children
    finally:
        for child in reversed(children):  # agents first, then the collector
            child.stop()


async def run_script(
    script: FaultScript,
    topology: Topology,
    workdir: Path,
    *,
    lead: float = 2.0,
) -> Run:
    """Run ``script`` against the processes of ``topology`` in ``workdir``; measure it."""
    if topology == "run" and script.regional:
        raise ValueError("`run` probes every region from one URL: no regional faults")
    workdir.mkdir(parents=True, exist_ok=True)
    answers = Answers(script)
    tail = INTERVAL + TIMEOUT + 1.0  # the last fault's recovery seen and stored
    async with sites(answers, workdir) as where:
        env = {**os.environ, "SSL_CERT_FILE": str(where.ca_file), "TMPDIR": str(workdir)}
        env.pop("SSL_CERT_DIR", None)
        tokens = None
        if topology == "agents":
            tokens = {}
            for region in script.regions:
                tokens[region] = workdir / f"{region}.token"
                tokens[region].write_text(secrets.token_hex(24) + "\n", encoding="utf-8")
                tokens[region].chmod(0o600)
        vendors = workdir / "vendors.yaml"
        vendors.write_text(vendors_yaml(script, where.base, tokens, None), encoding="utf-8")
        (workdir / "maintenance_windows.yaml").write_text("", encoding="utf-8")
        db = workdir / "uptime.db"
        maintenance = workdir / "maintenance_windows.yaml"
        files = ["--vendors", str(vendors), "--maintenance", str(maintenance)]
        with _children() as children:
            port = free_port()
            address = f"http://127.0.0.1:{port}"
            collector = Child(
                "collector",
                [*files, "--db", str(db), "run", "--host", "127.0.0.1", "--port", str(port)],
                workdir,
                env,
            )
            children.append(collector)
            # Agents started before the collector listens would back off for seconds.
            await _listening(collector, address)
            for region in script.regions if tokens else ():
                own = workdir / f"vendors-{region}.yaml"
                own.write_text(vendors_yaml(script, where.base, tokens, region), encoding="utf-8")
                children.append(
                    Child(
                        f"agent {region}",
                        [
                            "--vendors", str(own),
                            "--maintenance", str(maintenance),
                            "agent", "--region", region, "--collector", address,
                            "--token-file", str(tokens[region]),
                            "--spool", str(workdir / f"{region}.spool.db"),
                        ],
                        workdir,
                        env,
                    )
                )  # fmt: skip
            await _every_region_seen(address, script, children)
            t0 = time.time() + lead
            answers.t0 = t0
            end = t0 + script.length + tail
            await asyncio.sleep(end - time.time())
            exits = await _stop(children)
            logs = [c.log() for c in children]
    start = datetime.fromtimestamp(t0, UTC)
    period = Interval(start - timedelta(seconds=lead), datetime.fromtimestamp(end, UTC))
    report = _report(files, db, workdir, env, period)
    measured = measure(db, script, report, period)
    return Run(topology, script, start, measured, report, logs, exits)


def _report(
    files: list[str], db: Path, workdir: Path, env: dict[str, str], period: Interval
) -> dict:
    """``uptime-ledger report --format json`` of each month ``period`` touches, merged."""
    months = sorted({f"{t:%Y-%m}" for t in (period.start, period.end)})
    merged: dict = {"vendors": []}
    for month in months:
        done = subprocess.run(
            [sys.executable, "-m", "uptime.cli", *files, "--db", str(db), "report",
             "--month", month, "--format", "json"],
            cwd=workdir, env=env, capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"report --month {month}: {done.stderr.decode()}")
        merged["vendors"].extend(json.loads(done.stdout)["vendors"])
    return merged


def measure(db: Path, script: FaultScript, report: dict, period: Interval) -> Measured:
    """The report's interruptions and the database's region views and failed results."""
    interruptions: dict[str, list[tuple[Interval, tuple[str, ...]]]] = {}
    for entry in report["vendors"]:
        for found in entry["interruptions"]:
            interval = Interval(
                datetime.fromisoformat(found["start"]).astimezone(UTC),
                datetime.fromisoformat(found["end"]).astimezone(UTC),
            )
            if interval.overlaps(period):
                interruptions.setdefault(entry["vendor"], []).append(
                    (interval, tuple(found["regions"]))
                )
    source = ProbeSource(db)
    try:
        seen = source.observations(script.vendors, period, period.end)
    finally:
        source.close()
    down = {v: dict(o.down.get("app", {})) for v, o in seen.items()}
    unknown = {v: dict(o.unknown.get("app", {})) for v, o in seen.items()}
    failures: dict[str, list[tuple[datetime, str, str]]] = {}
    degraded: dict[str, list[datetime]] = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "select vendor, at, ok, degraded, error, message from results "
            "where ok = 0 or degraded = 1"
        )
        for vendor, at, ok, slow, error, message in rows:
            when = datetime.fromisoformat(at).astimezone(UTC)
            if not ok:
                failures.setdefault(vendor, []).append((when, error, message or ""))
            elif slow:
                degraded.setdefault(vendor, []).append(when)
    return Measured(interruptions, down, unknown, failures, degraded)
