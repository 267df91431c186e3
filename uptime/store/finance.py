"""What finance recorded, read back from the audit trail, and the writes that add to it.

Exclusions (and their undoing), maintenance windows added from the command line, closes and
reopens of a month, and claim marks are events of the audit trail (:mod:`uptime.store.audit`);
:class:`Records` is what they add up to. Every write takes the database's write lock, checks
what it must against the records as they are (a closed month refuses changes), and appends its
event in the same transaction: two processes writing at once cannot both pass a check that
only one of them should.

A recorded exclusion or window counts exactly as one in maintenance_windows.yaml:
:func:`recorded_config` adds them to each vendor's calendar.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from credits.availability import month_period
from credits.credit import may_claim
from credits.intervals import MICROSECOND, Interval
from credits.model import AnnouncedWindow, Exclusion
from uptime.config import Config, Vendor
from uptime.errors import UptimeLedgerError, UsageError
from uptime.store.audit import Event, append, as_bytes, events, write_lock

ClaimStatus = Literal["submitted", "accepted", "rejected"]
CLAIM_STATUSES: tuple[ClaimStatus, ...] = ("submitted", "accepted", "rejected")


@dataclass(frozen=True)
class RecordedExclusion:
    """An exclusion recorded with ``uptime-ledger exclude``; ``undone_*`` once undone (it
    stays in the history)."""

    id: int
    vendor: str
    start: datetime
    end: datetime
    reason: str
    by: str
    at: datetime
    undone_by: str | None = None
    undone_at: datetime | None = None
    undo_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None


@dataclass(frozen=True)
class RecordedWindow:
    """An announced maintenance window recorded with ``uptime-ledger maintenance add``."""

    id: int
    vendor: str
    start: datetime
    end: datetime
    announced_at: datetime
    note: str
    by: str
    at: datetime


@dataclass(frozen=True)
class MonthClose:
    """A closed month: its close event, who closed it and when, the SHA-256 of its frozen
    report, and each vendor's configuration fingerprint at the close."""

    month: str
    seq: int
    closed_at: datetime
    by: str
    sha256: str
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    #: the close event's hash in the audit trail (keep it: ``audit --verify`` must still
    #: reach it)
    event_hash: str = ""


@dataclass(frozen=True)
class ClaimMark:
    """What finance recorded about a vendor-month's claim."""

    seq: int
    vendor: str
    month: str
    status: ClaimStatus
    by: str
    at: datetime
    ticket: str | None = None
    on: date | None = None
    amount: Decimal | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Records:
    """What the audit trail adds up to."""

    exclusions: tuple[RecordedExclusion, ...] = ()
    windows: tuple[RecordedWindow, ...] = ()
    #: the months closed now (a reopened month is not here), by ``YYYY-MM``
    closes: Mapping[str, MonthClose] = field(default_factory=dict)
    #: every mark of each (vendor, month), oldest first
    marks: Mapping[tuple[str, str], tuple[ClaimMark, ...]] = field(default_factory=dict)

    @classmethod
    def from_events(cls, trail: Iterable[Event]) -> Records:
        exclusions: dict[int, RecordedExclusion] = {}
        windows: list[RecordedWindow] = []
        closes: dict[str, MonthClose] = {}
        marks: dict[tuple[str, str], list[ClaimMark]] = {}
        for event in trail:
            d = event.detail
            if event.action == "exclude":
                assert event.vendor is not None
                exclusions[event.seq] = RecordedExclusion(
                    event.seq,
                    event.vendor,
                    datetime.fromisoformat(d["start"]),
                    datetime.fromisoformat(d["end"]),
                    d["reason"],
                    event.by,
                    event.at,
                )
            elif event.action == "exclude-undo":
                undone = exclusions[d["exclusion"]]
                exclusions[undone.id] = replace(
                    undone, undone_by=event.by, undone_at=event.at, undo_reason=d["reason"]
                )
            elif event.action == "maintenance-add":
                assert event.vendor is not None
                windows.append(
                    RecordedWindow(
                        event.seq,
                        event.vendor,
                        datetime.fromisoformat(d["start"]),
                        datetime.fromisoformat(d["end"]),
                        datetime.fromisoformat(d["announced_at"]),
                        d["note"],
                        event.by,
                        event.at,
                    )
                )
            elif event.action == "close":
                assert event.month is not None
                closes[event.month] = MonthClose(
                    event.month,
                    event.seq,
                    event.at,
                    event.by,
                    d["sha256"],
                    d["fingerprints"],
                    event.hash,
                )
            elif event.action == "reopen":
                assert event.month is not None
                closes.pop(event.month, None)
            elif event.action == "claim-mark":
                assert event.vendor is not None and event.month is not None
                marks.setdefault((event.vendor, event.month), []).append(
                    ClaimMark(
                        event.seq,
                        event.vendor,
                        event.month,
                        d["status"],
                        event.by,
                        event.at,
                        ticket=d.get("ticket"),
                        on=None if d.get("date") is None else date.fromisoformat(d["date"]),
                        amount=None if d.get("amount") is None else Decimal(d["amount"]),
                        reason=d.get("reason"),
                    )
                )
        return cls(
            exclusions=tuple(exclusions.values()),
            windows=tuple(windows),
            closes=closes,
            marks={key: tuple(history) for key, history in marks.items()},
        )

    def latest_mark(self, vendor: str, month: str) -> ClaimMark | None:
        """The last thing recorded about a vendor-month's claim, if anything."""
        history = self.marks.get((vendor, month))
        return history[-1] if history else None

    def calendar_additions(
        self, vendor: str
    ) -> tuple[tuple[AnnouncedWindow, ...], tuple[Exclusion, ...]]:
        """The announced windows and the exclusions in force recorded for ``vendor``."""
        announced = tuple(
            AnnouncedWindow(w.start, w.end, w.announced_at, w.note)
            for w in self.windows
            if w.vendor == vendor
        )
        excluded = tuple(
            Exclusion(e.start, e.end, e.reason, id=e.id, by=e.by)
            for e in self.exclusions
            if e.vendor == vendor and e.active
        )
        return announced, excluded


def read_records(db: Database) -> Records:
    """The records of the audit trail in ``db`` (none in a database that has no trail yet)."""
    return Records.from_events(events(db))


def recorded_config(config: Config, records: Records) -> Config:
    """``config`` with the recorded windows and exclusions added to each vendor's calendar
    (after those of maintenance_windows.yaml): they count exactly as the file's do."""
    vendors = []
    for vendor in config.vendors:
        announced, excluded = records.calendar_additions(vendor.id)
        if announced or excluded:
            calendar = vendor.calendar
            vendor = replace(
                vendor,
                calendar=replace(
                    calendar,
                    announced=calendar.announced + announced,
                    exclusions=calendar.exclusions + excluded,
                ),
            )
        vendors.append(vendor)
    return replace(config, vendors=tuple(vendors))


# --------------------------------------------------------------------------------------------
# Closed months refuse changes


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def months_touched(interval: Interval, zone: ZoneInfo) -> list[str]:
    """The calendar months (in ``zone``) that ``interval`` overlaps, as ``YYYY-MM``."""
    first = interval.start.astimezone(zone)
    last = (interval.end - MICROSECOND).astimezone(zone)
    year, month, labels = first.year, first.month, []
    while (year, month) <= (last.year, last.month):
        labels.append(month_label(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


class ClosedMonthError(UptimeLedgerError):
    """A change that would alter a closed month: refused, naming the month and how to reopen
    it."""

    outcome = "nothing was changed"

    def __init__(self, close: MonthClose, what: str) -> None:
        super().__init__(
            f"{close.month} is closed (by {close.by} on "
            f"{close.closed_at.strftime('%Y-%m-%d %H:%M UTC')}): {what}; to change it, reopen "
            f"it first: uptime-ledger close --month {close.month} --reopen --reason TEXT"
        )
        self.close = close


def refuse_if_closed(records: Records, vendor: Vendor, interval: Interval, what: str) -> None:
    """Raise :class:`ClosedMonthError` when ``interval`` overlaps a closed month of
    ``vendor``'s (its months are in its own zone); ``what`` says what would change it."""
    for label in months_touched(interval, vendor.timezone):
        close = records.closes.get(label)
        if close is not None:
            raise ClosedMonthError(close, f"{what} would change {vendor.id}'s figures")


# --------------------------------------------------------------------------------------------
# Writes


#: Characters that reorder how text is shown (a reason could read differently than it is).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain_text(value: str, what: str) -> str:
    """``value`` unchanged when it holds no control character (a terminal escape) and no
    bidirectional override; else :class:`UsageError` naming ``what``."""
    if any(
        (unicodedata.category(c) == "Cc" and c not in "\t\n") or c in BIDI_CONTROLS for c in value
    ):
        raise UsageError(f"{what} holds a control character; write it as plain text")
    return value


def _text(value: str, what: str) -> str:
    plain_text(value, what)
    text = " ".join(value.split())
    if not text:
        raise UsageError(f"{what} is empty; say why, e.g. --reason 'district network outage'")
    if len(text) > 500:
        raise UsageError(f"{what} is {len(text)} characters; at most 500")
    return text


def record_exclusion(
    db: Database, vendor: Vendor, interval: Interval, reason: str, by: str, at: datetime
) -> RecordedExclusion:
    """Exclude ``interval`` from ``vendor``'s downtime for ``reason``, recorded as ``by`` at
    ``at``; refused when it touches a closed month."""
    reason = _text(reason, "--reason")
    with write_lock(db):
        refuse_if_closed(read_records(db), vendor, interval, "this exclusion")
        event = append(
            db,
            "exclude",
            by,
            at,
            {
                "start": interval.start.isoformat(),
                "end": interval.end.isoformat(),
                "reason": reason,
            },
            vendor=vendor.id,
        )
    return RecordedExclusion(
        event.seq, vendor.id, interval.start, interval.end, reason, by, event.at
    )


def undo_exclusion(
    db: Database, config: Config, exclusion_id: int, reason: str, by: str, at: datetime
) -> RecordedExclusion:
    """Undo the recorded exclusion ``exclusion_id`` for ``reason`` (it stays in the history);
    refused when it touches a closed month."""
    reason = _text(reason, "--reason")
    with write_lock(db):
        records = read_records(db)
        found = {e.id: e for e in records.exclusions}.get(exclusion_id)
        if found is None:
            known = ", ".join(str(e.id) for e in records.exclusions if e.active) or "none"
            raise UsageError(f"no recorded exclusion {exclusion_id}; in force: {known}")
        if not found.active:
            raise UsageError(
                f"exclusion {exclusion_id} was already undone by {found.undone_by} "
                f"({found.undo_reason})"
            )
        vendor = config.vendor(found.vendor)
        refuse_if_closed(
            records, vendor, Interval(found.start, found.end), f"undoing exclusion {exclusion_id}"
        )
        event = append(
            db,
            "exclude-undo",
            by,
            at,
            {"exclusion": exclusion_id, "reason": reason},
            vendor=vendor.id,
        )
    return replace(found, undone_by=by, undone_at=event.at, undo_reason=reason)


def record_window(
    db: Database,
    vendor: Vendor,
    interval: Interval,
    announced_at: datetime,
    note: str,
    by: str,
    at: datetime,
) -> RecordedWindow:
    """Add an announced maintenance window to ``vendor``'s calendar, as if written in
    maintenance_windows.yaml; refused when it touches a closed month."""
    note = " ".join(plain_text(note, "--note").split())
    if len(note) > 500:
        raise UsageError(f"--note is {len(note)} characters; at most 500")
    if announced_at > interval.end:
        raise UsageError(
            f"--announced-at {announced_at.isoformat()} is after the window's end "
            f"{interval.end.isoformat()}; a window is announced before it ends"
        )
    with write_lock(db):
        refuse_if_closed(read_records(db), vendor, interval, "this maintenance window")
        event = append(
            db,
            "maintenance-add",
            by,
            at,
            {
                "start": interval.start.isoformat(),
                "end": interval.end.isoformat(),
                "announced_at": announced_at.isoformat(),
                "note": note,
            },
            vendor=vendor.id,
        )
    return RecordedWindow(
        event.seq, vendor.id, interval.start, interval.end, announced_at, note, by, event.at
    )


def inputs_version(db: Database) -> tuple[object, ...]:
    """What changes whenever a recorded input of a month changes: the last audit event and the
    imported outages (probe results arriving late are the changes a close lists, not refuses)."""
    last = db.execute("select max(seq) from audit_events").fetchone()[0]
    outages = db.execute("select count(*), max(rowid) from outages").fetchone()
    return (last, *outages)


class InputsMoved(UptimeLedgerError):
    """Something the month depends on was recorded while it was being closed."""


def record_close(
    db: Database,
    month: str,
    report: bytes,
    sha256: str,
    fingerprints: Mapping[str, str],
    by: str,
    at: datetime,
    computed_from: tuple[object, ...] | None = None,
) -> MonthClose:
    """Freeze ``month``: store its report and record the close with the report's SHA-256.
    ``computed_from`` is :func:`inputs_version` when the report was computed: if an import or
    an audit event came in since, the report may lack it and :class:`InputsMoved` is raised
    (nothing is closed)."""
    with write_lock(db):
        if computed_from is not None and inputs_version(db) != computed_from:
            raise InputsMoved(
                f"{month} changed while it was being closed (an import or a record came in); "
                "nothing was closed: run the close again"
            )
        close = read_records(db).closes.get(month)
        if close is not None:
            raise ClosedMonthError(close, "it is already closed")
        event = append(
            db,
            "close",
            by,
            at,
            {"sha256": sha256, "fingerprints": dict(fingerprints)},
            month=month,
        )
        db.execute(
            "insert into closed_reports (seq, month, sha256, report) values (?, ?, ?, ?)",
            [event.seq, month, sha256, report],
        )
    return MonthClose(month, event.seq, event.at, by, sha256, dict(fingerprints), event.hash)


class NotClosed(UptimeLedgerError):
    """A month that is not closed cannot be reopened."""


def record_reopen(db: Database, month: str, reason: str, by: str, at: datetime) -> MonthClose:
    """Reopen a closed month for ``reason``; returns the close it undid."""
    reason = _text(reason, "--reason")
    with write_lock(db):
        close = read_records(db).closes.get(month)
        if close is None:
            raise NotClosed(f"{month} is not closed; nothing to reopen")
        append(db, "reopen", by, at, {"reason": reason, "sha256": close.sha256}, month=month)
    return close


def closed_report(db: Database, close: MonthClose) -> bytes:
    """The frozen report a close stored."""
    row = db.execute("select report from closed_reports where seq = ?", [close.seq]).fetchone()
    if row is None:
        raise FrozenReportDamaged(
            f"the frozen report of {close.month} is missing from the database"
        )
    report = as_bytes(row[0])
    if hashlib.sha256(report).hexdigest() != close.sha256:
        raise FrozenReportDamaged(
            f"the frozen report of {close.month} does not match the SHA-256 its close recorded "
            f"({close.sha256}): it was changed in the database; see uptime-ledger audit --verify"
        )
    return report


class FrozenReportDamaged(UptimeLedgerError):
    """A closed month's frozen report is missing or no longer the bytes its close hashed."""


def record_claim_mark(
    db: Database,
    vendor: Vendor,
    month: str,
    status: str,
    by: str,
    at: datetime,
    *,
    ticket: str | None = None,
    on: date | None = None,
    amount: Decimal | None = None,
    reason: str | None = None,
) -> ClaimMark:
    """Record what happened to a vendor-month's claim: ``submitted`` (with the ticket id and
    date), ``accepted`` (with the amount credited) or ``rejected`` (with the vendor's reason)."""
    if status not in CLAIM_STATUSES:
        raise UsageError(f"--status {status!r}; expected one of: {', '.join(CLAIM_STATUSES)}")
    if status == "submitted" and not (ticket and ticket.strip()):
        raise UsageError("--status submitted needs --ticket ID (the vendor's ticket number)")
    if amount is not None and status != "accepted":
        raise UsageError("--amount is what the vendor credited: give it with --status accepted")
    if not may_claim(vendor.sla):
        raise UsageError(
            f"{vendor.id}'s contract gives this account no credit to claim (no credit rule or "
            "fee, an ineligible plan, or invoices in default); nothing to mark"
        )
    if on is not None and on > at.date():
        raise UsageError(f"--date {on.isoformat()} is in the future")
    year, number = (int(part) for part in month.split("-"))
    if month_period(year, number, vendor.timezone).start > at:
        raise UsageError(f"{month} has not begun yet for {vendor.id}; nothing to claim")
    if ticket is not None:
        ticket = _text(ticket, "--ticket")
    if status == "accepted" and amount is None:
        raise UsageError("--status accepted needs --amount (what the vendor credited, e.g. 36.00)")
    if status == "rejected":
        reason = _text(reason or "", "--reason")
    detail: dict[str, str | None] = {
        "status": status,
        "ticket": ticket.strip() if ticket else None,
        "date": on.isoformat() if on else None,
        "amount": None if amount is None else str(amount),
        "reason": reason,
    }
    with write_lock(db):
        event = append(db, "claim-mark", by, at, detail, vendor=vendor.id, month=month)
    return ClaimMark(
        event.seq, vendor.id, month, status, by, event.at,  # type: ignore[arg-type]
        ticket=detail["ticket"], on=on, amount=amount, reason=reason,
    )  # fmt: skip
