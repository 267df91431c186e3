"""The expanded maintenance calendar as a text table (``uptime-ledger maintenance``)."""

from __future__ import annotations

from collections.abc import Sequence

from credits.intervals import MINUTE, ratio
from credits.model import MaintenanceWindow

LOCAL = "%Y-%m-%d %H:%M %Z"
UTC_FORMAT = "%Y-%m-%d %H:%M"


def windows_table(windows: Sequence[MaintenanceWindow]) -> str:
    """One line per window: kind, name, start and end in the window's own zone and in UTC, and
    its length in minutes (wall-clock windows on DST change days are shorter or longer)."""
    if not windows:
        return "no windows in this period\n"
    rows = [
        (
            "kind",
            "window",
            "start (window zone)",
            "end (window zone)",
            "start UTC",
            "end UTC",
            "minutes",
        )
    ]
    for w in windows:
        rows.append(
            (
                w.kind.value,
                w.name,
                w.interval.start.astimezone(w.timezone).strftime(LOCAL),
                w.interval.end.astimezone(w.timezone).strftime(LOCAL),
                w.interval.start.strftime(UTC_FORMAT),
                w.interval.end.strftime(UTC_FORMAT),
                f"{float(ratio(w.interval.duration, MINUTE)):g}",
            )
        )
    return text_table(rows)


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned text columns, the first row a header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )
