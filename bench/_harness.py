"""Shared by the probe benchmarks: local nginx and blackbox_exporter instances, /proc readers.

Everything listens on 127.0.0.1 only, with config, logs and pid files in a temporary directory;
``stop()`` ends only the processes started here (by pid).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

NGINX = os.environ.get("BENCH_NGINX", "/usr/sbin/nginx")
BLACKBOX = os.environ.get("BENCH_BLACKBOX", "/usr/bin/prometheus-blackbox-exporter")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

#: The page nginx serves: small, static, 200.
PAGE = b"<!doctype html><title>ok</title><p>ok</p>\n"


def write_figures(figures: object, path: Path | None, *, show: bool = True) -> None:
    """Print ``figures`` as indented JSON (unless ``show`` is false: the caller prints a table)
    and, given ``path`` (a benchmark's ``--json``), write them there too."""
    text = json.dumps(figures, indent=2, default=str)
    if show:
        print(text)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")


def free_port() -> int:
    """The tests' ``free_port``, imported when first asked for: its module loads aiohttp, and
    report_month.py's child measures its own memory after importing this one."""
    from support_probing import free_port as tests_free_port

    return tests_free_port()


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"nothing listens on 127.0.0.1:{port} after {timeout}s"
                ) from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid: int | str, key: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def pss_kib(pid: int) -> int:
    """Proportional set size of a process: its private pages plus its share of shared ones, so
    that a parent and its forked workers add up to the memory they really use together (0 once
    the process is gone)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """The processes ``pid``'s threads started (none once it is gone)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def machine() -> dict[str, object]:
    import platform
    import sqlite3

    import aiohttp

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except OSError:
            return "not installed"
        return (out.stdout + out.stderr).strip().splitlines()[0]

    try:
        import uvloop  # type: ignore[import-not-found]

        uv = uvloop.__version__
    except ImportError:
        uv = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "uvloop": uv,
        "sqlite": sqlite3.sqlite_version,
        "nginx": version([NGINX, "-v"]),
        "blackbox_exporter": version([BLACKBOX, "--version"]),
    }


@dataclass
class Nginx:
    """An nginx serving PAGE on ``ports`` (any path), with stub_status on ``status_port``."""

    workdir: Path
    ports: list[int]
    workers: int = 1
    status_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _pids: list[int] = field(default_factory=list)

    def start(self) -> Nginx:
        d = self.workdir / "nginx"
        (d / "html").mkdir(parents=True, exist_ok=True)
        (d / "html" / "index.html").write_bytes(PAGE)
        self.status_port = self.status_port or free_port()
        servers = "".join(
            f"""
    server {{
        listen 127.0.0.1:{port} backlog=4096 reuseport;
        location / {{ try_files /index.html =404; }}
    }}"""
            for port in self.ports
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf = f"""{user}worker_processes {self.workers};
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp_body;
    proxy_temp_path {d}/tmp_proxy;
    fastcgi_temp_path {d}/tmp_fastcgi;
    uwsgi_temp_path {d}/tmp_uwsgi;
    scgi_temp_path {d}/tmp_scgi;
    root {d}/html;
    default_type text/html;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{self.status_port};
        location / {{ stub_status; }}
    }}{servers}
}}
"""
        (d / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(d), "-c", str(d / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(d / "stderr.log", "wb"),  # noqa: SIM115
        )
        for port in [self.status_port, *self.ports]:
            wait_port(port)
        return self

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        if not self._pids:
            deadline = time.monotonic() + 5
            while len(self._pids) < self.workers and time.monotonic() < deadline:
                self._pids = children(self.proc.pid)
                time.sleep(0.05)
        return self._pids

    def cpu(self) -> float:
        """CPU seconds of the master and its workers."""
        assert self.proc is not None
        return sum(cpu_seconds(p) for p in [self.proc.pid, *self.worker_pids()])

    def stub_status(self) -> tuple[int, int]:
        """(accepted connections, requests) so far; this call itself adds one of each."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/", timeout=5) as r:
            lines = r.read().decode().splitlines()
        accepts, _handled, requests = (int(x) for x in lines[2].split())
        return accepts, requests

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Blackbox:
    """A blackbox_exporter with one module, ``http_2xx``."""

    workdir: Path
    port: int = 0
    timeout: str = "5s"
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Blackbox:
        d = self.workdir / "blackbox"
        d.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        (d / "blackbox.yml").write_text(
            "modules:\n"
            "  http_2xx:\n"
            "    prober: http\n"
            f"    timeout: {self.timeout}\n"
            "    http:\n"
            "      preferred_ip_protocol: ip4\n"
        )
        self.proc = subprocess.Popen(
            [
                BLACKBOX,
                f"--config.file={d / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(d / "stderr.log", "wb"),  # noqa: SIM115
        )
        wait_port(self.port)
        return self

    def probe_url(self, target: str) -> str:
        from urllib.parse import urlencode

        query = urlencode({"target": target, "module": "http_2xx"})
        return f"http://127.0.0.1:{self.port}/probe?{query}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
