"""Running ``uptime-ledger`` as a user does: the real entry point in a child process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def uptime_ledger(
    *args: str | Path, cwd: Path, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m uptime.cli ARGS`` (what the ``uptime-ledger`` script runs) in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "uptime.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def line_of(path: Path, text: str) -> int:
    """The number of the first line of ``path`` holding ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)
