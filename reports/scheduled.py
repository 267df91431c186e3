"""The monthly report ``uptime-ledger run`` writes by itself, and the claims it warns about.

``reports.schedule`` is a cron read on each vendor's own wall clock. Month M is *due* at the
latest, over the vendors, of the schedule's first occurrence at or after M's end on that
vendor's clock: by then every vendor's month is over and its occurrence has come. ``run``
writes the latest due month's report (JSON, and CSV and HTML once those renderers exist) into
``reports.dir`` as ``YYYY-MM.<format>``, when the file is missing: at the due time, or at start
when it starts later (catch-up).

Claims near their deadline: a claim still ``due`` (nothing recorded, a ticket deadline open)
whose earliest open deadline is at most :data:`WARN_WITHIN` business days away, in the vendor's
business calendar.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from credits.availability import month_period
from credits.business_time import add_business_days, localize
from credits.claims import claim_deadline
from credits.credit import may_claim
from reports.claims import Claim, claim_of
from reports.context import VendorContext
from reports.runner import RENDERERS, read_records_of, report_in_formats, usable_cpus
from uptime.config import Config, Vendor
from uptime.files import write_atomically
from uptime.store.finance import Records, month_label

#: The formats written, in this order, each only if a renderer for it is registered.
FORMATS = ("json", "csv", "html")

#: A claim whose deadline is this many business days away or fewer is logged.
WARN_WITHIN = 2

#: How many months back a due month is looked for (a yearly schedule covers twelve).
LOOK_BACK = 24


class Due(NamedTuple):
    """A month whose report is due, and since when."""

    year: int
    month: int
    at: datetime

    @property
    def label(self) -> str:
        return month_label(self.year, self.month)


def occurrence(schedule: str, vendor: Vendor, after: datetime) -> datetime:
    """The schedule's first occurrence at or after ``after`` on ``vendor``'s wall clock, as an
    instant (a skipped wall time is the moment the clocks jump past it)."""
    from croniter import croniter  # see credits.calendar.expand_recurring for why it is here

    tz = vendor.timezone
    wall = after.astimezone(tz).replace(tzinfo=None)
    # croniter's get_next is strictly after its start: start a minute early (cron has minutes).
    found = croniter(schedule, wall - timedelta(minutes=1), max_years_between_matches=8)
    for _ in range(3):
        moment = localize(found.get_next(datetime), tz)
        if moment >= after:
            return moment
    raise AssertionError("a cron occurrence repeated itself")  # pragma: no cover


def due_at(schedule: str, vendors: Sequence[Vendor], year: int, month: int) -> datetime:
    """When month ``year``-``month``'s report is due: the latest vendor's first occurrence of
    ``schedule`` at or after the month's end on its own clock."""
    return max(occurrence(schedule, v, month_period(year, month, v.timezone).end) for v in vendors)


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def _next(year: int, month: int) -> tuple[int, int]:
    return (year, month + 1) if month < 12 else (year + 1, 1)


def due_month(schedule: str, vendors: Sequence[Vendor], now: datetime) -> Due | None:
    """The latest month whose report is due at ``now`` (``None`` when none of the last
    :data:`LOOK_BACK` months is)."""
    latest = max(now.astimezone(v.timezone).date() for v in vendors)
    year, month = latest.year, latest.month
    for _ in range(LOOK_BACK):
        year, month = _previous(year, month)
        at = due_at(schedule, vendors, year, month)
        if at <= now:
            return Due(year, month, at)
    return None


def next_due(schedule: str, vendors: Sequence[Vendor], now: datetime) -> Due:
    """The first month whose report falls due after ``now``."""
    current = due_month(schedule, vendors, now)
    if current is None:
        earliest = min(now.astimezone(v.timezone).date() for v in vendors)
        year, month = _previous(earliest.year, earliest.month)
    else:
        year, month = current.year, current.month
    while True:
        year, month = _next(year, month)
        at = due_at(schedule, vendors, year, month)
        if at > now:
            return Due(year, month, at)


def formats() -> list[str]:
    """The formats written: those of :data:`FORMATS` whose renderer is registered."""
    return [f for f in FORMATS if f in RENDERERS]


def report_paths(directory: Path, year: int, month: int) -> list[Path]:
    """The files of month ``year``-``month``'s report in ``directory``, one per format."""
    return [directory / f"{month_label(year, month)}.{f}" for f in formats()]


class Written(NamedTuple):
    path: Path
    sha256: str


def files_to_write(config: Config, db_path: Path, year: int, month: int) -> list[Path]:
    """The files of the month's report to write: those missing, and all of them when the month
    was closed after they were written (its JSON file is not the frozen report), so that the
    folder holds the figures finance closed."""
    paths = report_paths(config.reports.dir, year, month)
    missing = [p for p in paths if not p.exists()]
    json_file = config.reports.dir / f"{month_label(year, month)}.json"
    if len(missing) == len(paths) or not json_file.exists() or not db_path.exists():
        return missing
    close = read_records_of(db_path).closes.get(month_label(year, month))
    if close is not None and hashlib.sha256(json_file.read_bytes()).hexdigest() != close.sha256:
        return paths
    return missing


def write_reports(
    config: Config, db_path: Path, year: int, month: int, now: datetime, *, nice: int = 0
) -> list[Written]:
    """Write month ``year``-``month``'s report into ``config.reports.dir`` in every format
    :func:`files_to_write` names (each written beside and renamed: never half a file), as
    ``uptime-ledger report`` makes it at ``now``. ``nice`` lowers this process's priority
    first (in a worker process, so that probing keeps the CPU)."""
    if nice:
        os.nice(nice)
    paths = files_to_write(config, db_path, year, month)
    if not paths:
        return []
    documents = report_in_formats(
        config, db_path, year, month, [p.suffix[1:] for p in paths], jobs=usable_cpus(), now=now
    )
    written = []
    for path in paths:
        document = documents[path.suffix[1:]]
        write_atomically(path, document)
        written.append(Written(path, hashlib.sha256(document).hexdigest()))
    return written


# --------------------------------------------------------------------------------------------
# Claims near their deadline


def deadline_end(deadline: date, vendor: Vendor) -> datetime:
    """The end of a ticket deadline's day: the next midnight on the vendor's clock."""
    following = deadline + timedelta(days=1)
    return localize(datetime(following.year, following.month, following.day), vendor.timezone)


def claim_months(vendor: Vendor, now: datetime) -> list[tuple[int, int]]:
    """The months whose claims can still be open at ``now``: none for a vendor whose account
    cannot claim credits; else the current month, and the previous one while an interruption
    ending at its very end would still have an open ticket deadline (the first week or so of
    the month): each costs a month's computation, on every change of what was seen."""
    sla = vendor.sla
    if not may_claim(sla):
        return []
    local = now.astimezone(vendor.timezone)
    current = (local.year, local.month)
    previous = _previous(*current)
    latest = claim_deadline(
        month_period(*current, vendor.timezone).start, sla.claim_within, sla.business_calendar
    )
    return [previous, current] if local.date() <= latest else [current]


def open_claims(
    vendor: Vendor,
    contexts: Iterable[tuple[int, int, VendorContext]],
    records: Records,
    now: datetime,
) -> list[Claim]:
    """The vendor's claims that are ``due`` with a ticket deadline still open at ``now``."""
    today = now.astimezone(vendor.timezone).date()
    out = []
    for year, month, context in contexts:
        label = month_label(year, month)
        claim = claim_of(context, label, records.latest_mark(vendor.id, label), today)
        if (
            claim is not None
            and claim.status == "due"
            and claim.deadline is not None
            and claim.deadline >= today
        ):
            out.append(claim)
    return out


def earliest_deadline(vendor: Vendor, claims: Sequence[Claim]) -> datetime | None:
    """The end of the earliest open ticket deadline among ``claims`` (``None`` without one)."""
    deadlines = [c.deadline for c in claims if c.deadline is not None]
    return deadline_end(min(deadlines), vendor) if deadlines else None


def near_deadline(vendor: Vendor, claim: Claim, now: datetime) -> bool:
    """Whether ``claim``'s deadline is at most :data:`WARN_WITHIN` business days away."""
    assert claim.deadline is not None
    today = now.astimezone(vendor.timezone).date()
    return claim.deadline <= add_business_days(today, WARN_WITHIN, vendor.sla.business_calendar)


def claim_line(claim: Claim, vendor: Vendor, now: datetime) -> str:
    """One log line for a claim near its deadline."""
    assert claim.deadline is not None
    left = deadline_end(claim.deadline, vendor) - now
    hours = max(0, int(left.total_seconds() // 3600))
    currency = f" {claim.currency}" if claim.currency else ""
    if claim.amount > 0:
        what = (
            f"credit {claim.amount}{currency} due; file it: uptime-ledger claims packet "
            f"--vendor {claim.vendor} --month {claim.month}"
        )
    else:
        what = (
            "no credit due yet, but a support ticket must be opened by then for the month's "
            "interruptions to count if the target is missed (uptime-ledger report --month "
            f"{claim.month} --vendor {claim.vendor} lists them)"
        )
    return (
        f"claim due: {claim.vendor} {claim.month}, ticket deadline {claim.deadline.isoformat()} "
        f"(end of day {vendor.timezone.key}, {hours} h left); {what}"
    )
