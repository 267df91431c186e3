"""Outage history from other tools: read from ``vendor,region,start,end[,note]`` CSV (all rows
or none), and, once stored, a source of what each site saw."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path

from credits.intervals import InstantError, Interval, parse_instant
from credits.month import Observations
from uptime.errors import UptimeLedgerError
from uptime.sources import DatabaseSource, Revision
from uptime.store.database import from_db_time, to_db_time, vendor_filter
from uptime.store.storage import OutageRow

REQUIRED_COLUMNS = ("vendor", "region", "start", "end")
OPTIONAL_COLUMNS = ("note",)


class ImportRejected(UptimeLedgerError):
    """The file was not imported; ``problems`` holds one line per bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    outcome = "nothing was imported"

    def lines(self) -> list[str]:
        return self.problems


def _cell(text: str) -> str:
    """A cell as an error shows it: as written, or quoted and escaped if it holds a line
    break or another character that would not print (each problem stays one line)."""
    text = text.strip()
    return text if text.isprintable() else repr(text)


def _parse_time(text: str, column: str) -> datetime:
    try:
        return parse_instant(text)
    except InstantError as error:
        raise ValueError(f"{column}: {text!r} {error}") from None


def read_outages_csv(
    path: Path,
    vendors: Mapping[str, Collection[str]],
    regions: Collection[str],
    now: datetime | None = None,
) -> list[OutageRow]:
    """Parse and check every row; raise :class:`ImportRejected` listing every bad row (by its
    line number in the file) so nothing is half-imported.

    ``vendors`` maps each vendor id to the regions that probe at least one of its monitors: a
    row from another region is refused, as it would never count (a site's outage applies to
    the monitors that site probes). With ``now``, a row ending after it is refused: history is
    what a site saw, and a future outage would count downtime that has not happened."""
    regions = frozenset(regions)
    problems: list[str] = []
    rows: list[OutageRow] = []
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportRejected([f"{path}: cannot read: {error.strerror}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected(
            [f"{path}:{line}: not UTF-8 text ({error.reason}); expected a UTF-8 CSV file"]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        twice = sorted({c for c in header if header.count(c) > 1})
        if not header:
            raise ImportRejected(
                [
                    f"{path}:1: the file is empty; expected a header row "
                    "vendor,region,start,end[,note] and one row per outage"
                ]
            )
        if missing or unknown or twice:
            why = "; ".join(
                filter(
                    None,
                    [
                        f"missing column(s) {', '.join(missing)}" if missing else "",
                        f"unknown column(s) {', '.join(map(_cell, unknown))}" if unknown else "",
                        f"column(s) {', '.join(twice)} given twice" if twice else "",
                    ],
                )
            )
            raise ImportRejected(
                [f"{path}:1: header: {why}; expected vendor,region,start,end[,note]"]
            )
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                problems.append(
                    f"{path}:{line}: row has {len(values)} fields; expected {len(header)}"
                )
                continue
            record = dict(zip(header, values, strict=True))
            try:
                vendor = record["vendor"].strip()
                region = record["region"].strip()
                if vendor not in vendors:
                    raise ValueError(
                        f"vendor: {vendor!r} is not in vendors.yaml; expected one of "
                        + ", ".join(sorted(vendors))
                    )
                if region not in regions:
                    raise ValueError(
                        f"region: {region!r} is not a configured region; expected one of "
                        + ", ".join(sorted(regions))
                    )
                if region not in vendors[vendor]:
                    raise ValueError(
                        f"region: {region!r} probes none of {vendor}'s monitors, so its outages "
                        f"would never count; expected a region that probes {vendor}: "
                        + ", ".join(vendors[vendor])
                    )
                start = _parse_time(record["start"], "start")
                end = _parse_time(record["end"], "end")
                if end <= start:
                    raise ValueError(f"end: {_cell(record['end'])} is not after start")
                if now is not None and end > now:
                    raise ValueError(
                        f"end: {_cell(record['end'])} is in the future (now "
                        f"{now.isoformat(timespec='seconds')}); history is what was seen"
                    )
            except ValueError as error:
                problems.append(f"{path}:{line}: {error}")
                continue
            rows.append(
                OutageRow(vendor, region, Interval(start, end), record.get("note", "").strip())
            )
    except csv.Error as error:
        raise ImportRejected([f"{path}:{reader.line_num}: not readable as CSV ({error})"]) from None
    if problems:
        raise ImportRejected(problems)
    return rows


class ImportedSource(DatabaseSource):
    """Imported outages as a source (see :class:`uptime.sources.Source`): each row is what that
    site saw of every monitor of the vendor."""

    def observations(
        self, vendors: Collection[str], period: Interval, now: datetime
    ) -> dict[str, Observations]:
        """Every imported outage of ``vendors`` overlapping ``period``, as each vendor's
        ``reported_down`` (region → intervals, unclipped, so an outage's real end is kept).
        ``now`` changes nothing: an imported row is closed history."""
        only, parameters = vendor_filter(vendors)
        found: dict[str, dict[str, list[Interval]]] = {}
        rows = self.db.execute(
            f'select vendor, region, start, "end" from outages where start < ? and "end" > ?{only}',
            [to_db_time(period.end), to_db_time(period.start), *parameters],
        )
        for vendor, region, start, end in rows:
            interval = Interval(from_db_time(start), from_db_time(end))
            found.setdefault(vendor, {}).setdefault(region, []).append(interval)
        return {vendor: Observations(reported_down=seen) for vendor, seen in found.items()}

    def revisions(
        self, vendors: Collection[str], now: datetime, before: datetime | None = None
    ) -> dict[str, Revision]:
        """A vendor's imported history changed when rows were added or removed (with
        ``before``, rows starting before it); it never moves with ``now``."""
        only, parameters = vendor_filter(vendors)
        until = "" if before is None else " and start < ?"
        rows = self.db.execute(
            f"select vendor, count(*), max(rowid) from outages where true{only}{until} "
            "group by vendor",
            [*parameters, *([] if before is None else [to_db_time(before)])],
        )
        return {vendor: Revision((count, last), False) for vendor, count, last in rows}
