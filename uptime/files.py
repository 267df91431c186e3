"""Writing files so that a failure never leaves half of one behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from uptime.errors import FileAccessError


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (:class:`FileAccessError` naming it).

    A symbolic link is written through (its target replaced); what is not a regular file (a
    terminal, ``/dev/stdout``, a pipe) is written to as it is, since it cannot be replaced."""
    try:
        if path.is_symlink():
            path = path.resolve(strict=False)
        if path.exists() and not path.is_file() and not path.is_dir():
            with path.open("wb") as stream:
                stream.write(data)
            return
    except OSError as error:
        raise FileAccessError(path, error) from error
    # Write beside the target and rename, so a failure never leaves half a report behind. Not
    # mkstemp: its file is owner-only, and the report would keep that mode; created 0o666 here,
    # the report gets the mode the umask gives any file the user writes.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise FileAccessError(path, error) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise FileAccessError(path, error) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
