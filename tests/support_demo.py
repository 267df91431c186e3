"""``uptime-ledger demo`` run as a user runs it, in a child process (tests of the demo and of the
status page over it)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTUP = 120.0  # seconds the demo may take to print its addresses (a busy CI machine)
STOP = 30.0


class Demo:
    """``uptime-ledger demo ARGS`` in a child process, its standard output read line by line."""

    def __init__(self, *args: str | Path, cwd: Path, tmpdir: Path) -> None:
        env = {**os.environ, "TMPDIR": str(tmpdir)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uptime.cli", "demo", *map(str, args)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_ready(self) -> dict[str, str]:
        """The addresses it printed, once it printed its last line."""
        deadline = time.monotonic() + STARTUP
        while not self.out or self.out[-1] != "stop it with Ctrl-C":
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"demo exited early: {self.stop_now()}")
            self.out.append(line)
        found = {}
        for line in self.out:
            match = re.fullmatch(r"  (status page|metrics|status API|report) +(\S+).*", line)
            if match:  # the first of the report lines: the JSON one
                found.setdefault(match.group(1), match.group(2))
        return found

    def interrupt(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=STOP)
        return self.process.returncode, err

    def stop_now(self) -> str:
        self.process.kill()
        _, err = self.process.communicate(timeout=STOP)
        return err
