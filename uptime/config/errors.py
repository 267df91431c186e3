"""Configuration errors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from uptime.errors import UsageError

# --------------------------------------------------------------------------------------------
# Errors


class ConfigError(UsageError):
    """A configuration problem, located: ``<file>:<line>: <field>: <problem>; expected <what>``.

    ``line`` is 1-based, or ``None`` when the problem is the file itself (missing, unreadable);
    ``path`` is the dotted field (``vendors.classswift.monitors[0].interval``), empty for the
    whole file.
    """

    def __init__(
        self, file: str, line: int | None, path: str, problem: str, expected: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.problem = problem
        self.expected = expected
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {path}: {problem}" if path else f"{where}: {problem}"
        if expected:
            text += f"; expected {expected}"
        super().__init__(" ".join(text.split()))  # always one line

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownVendorError(UsageError):
    """``Config.vendor()`` was asked for an id that is not configured."""

    def __init__(self, vendor_id: str, known: Iterable[str]) -> None:
        self.vendor_id = vendor_id
        self.known = tuple(known)
        super().__init__(
            f"unknown vendor {vendor_id!r}; configured vendors: {', '.join(self.known) or 'none'}"
        )


def _show(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
