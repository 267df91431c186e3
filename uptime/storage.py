"""SQLite storage (sqlite-utils, WAL, migrations): imported outages and what probes saw.

Times are stored as fixed-width UTC ISO 8601 text (``2025-02-01T08:00:00.000000+00:00``) so that
text order is time order and the file stays readable with the sqlite3 shell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from credits.intervals import Interval

migrations = Migrations("uptime-ledger")

#: Monitor id of an imported outage: it applies to every critical monitor of the vendor.
WHOLE_VENDOR = "*"


@migrations()
def m001_outages(db: Database) -> None:
    db["outages"].create(
        {
            "vendor": str,
            "region": str,
            "start": str,
            "end": str,
            "note": str,
            "imported_at": str,
        },
        # The same (vendor, region, start, end) is the same outage: importing it twice is a no-op.
        pk=("vendor", "region", "start", "end"),
    )
    db["outages"].create_index(["start"])
    db["outages"].create_index(["end"])


def to_db_time(instant: datetime) -> str:
    """Fixed-width UTC text for an aware datetime."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class OutageRow:
    """One region's outage of one vendor, as imported from another tool's history."""

    vendor: str
    region: str
    interval: Interval
    note: str = ""


class Storage:
    """The one database of a running uptime-ledger; use from one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = Database(self.path)
        if str(path) != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA busy_timeout = 5000")
        migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    def add_outages(self, rows: Iterable[OutageRow], imported_at: datetime) -> int:
        """Insert outages in one transaction; rows already present are left as they are.

        Returns how many rows were new.
        """
        records = [
            {
                "vendor": row.vendor,
                "region": row.region,
                "start": to_db_time(row.interval.start),
                "end": to_db_time(row.interval.end),
                "note": row.note,
                "imported_at": to_db_time(imported_at),
            }
            for row in rows
        ]
        with self.db.atomic():
            before = self.db["outages"].count
            self.db["outages"].insert_all(records, ignore=True, batch_size=1000)
            return self.db["outages"].count - before

    def down_intervals(self, period: Interval) -> dict[str, dict[str, dict[str, list[Interval]]]]:
        """Every stored down interval overlapping ``period``, as vendor → monitor → region →
        intervals (unclipped, so an outage's real end is kept). Imported outages appear under
        the monitor id :data:`WHOLE_VENDOR`."""
        found: dict[str, dict[str, dict[str, list[Interval]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        cursor = self.db.execute(
            'select vendor, region, start, "end" from outages where start < ? and "end" > ?',
            [to_db_time(period.end), to_db_time(period.start)],
        )
        for vendor, region, start, end in cursor:
            found[vendor][WHOLE_VENDOR][region].append(
                Interval(from_db_time(start), from_db_time(end))
            )
        return found
