"""Closing a month, reopening it, and refusing configuration changes that would move it.

``uptime-ledger close --month M`` computes the month, stores its JSON report and the SHA-256
of those bytes, and records the close in the audit trail (:mod:`uptime.store.finance`); from
then on every format renders the frozen report (:mod:`reports.closed`) and every change that
would alter the month (an import, an exclusion, a maintenance window, a configuration change)
is refused, naming the month. Results that arrive late for a closed month are stored, kept out
of its figures, and listed as changes since the close.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from credits.availability import month_period
from reports import json_report
from reports.closed import figures, fingerprint
from reports.runner import month_context, read_records_of
from uptime.config import Config
from uptime.errors import UptimeLedgerError
from uptime.store.audit import verify
from uptime.store.database import DatabaseNotReady, open_read_only
from uptime.store.finance import (
    ClosedMonthError,
    MonthClose,
    closed_report,
    inputs_version,
    month_label,
    read_records,
    record_close,
    record_reopen,
    recorded_config,
)
from uptime.store.storage import open_writable


class MonthNotOver(UptimeLedgerError):
    """A month cannot be closed before it has ended in every vendor's zone."""


def close_month(
    config: Config, db_path: Path, year: int, month: int, by: str, now: datetime, jobs: int = 1
) -> MonthClose:
    """Compute ``year``-``month`` as of ``now``, freeze it and record the close as ``by``.

    Refused while the month has not ended in every vendor's zone, and when it is closed
    already."""
    label = month_label(year, month)
    ends = {v.id: month_period(year, month, v.timezone).end for v in config.vendors}
    last = max(ends, key=lambda v: ends[v])
    if ends[last] > now:
        raise MonthNotOver(
            f"{label} has not ended everywhere yet: it ends for {last} at "
            f"{ends[last].astimezone(config.vendor(last).timezone).isoformat()}; close it after"
        )
    db = open_writable(db_path)  # brings an older database to this version's schema
    try:
        # Computed outside the write lock (a big district takes seconds, and `run` must keep
        # writing meanwhile); whatever is recorded in between makes the close refuse.
        version = inputs_version(db)
        config = recorded_config(config, read_records(db))
        context = month_context(config, db_path, year, month, now, jobs)
        report = json_report.render(context)
        digest = hashlib.sha256(report).hexdigest()
        fingerprints = {v.id: fingerprint(v) for v in config.vendors}
        return record_close(db, label, report, digest, fingerprints, by, now, version)
    finally:
        db.close()


def reopen_month(
    db_path: Path, year: int, month: int, reason: str, by: str, now: datetime
) -> MonthClose:
    """Reopen a closed month for ``reason``, recorded as ``by``; returns the close undone."""
    db = open_writable(db_path)
    try:
        return record_reopen(db, month_label(year, month), reason, by, now)
    finally:
        db.close()


def check_closed_months(config: Config, db_path: Path) -> None:
    """Refuse a configuration that would change a closed month's figures.

    For each closed month, the vendors whose configuration fingerprint differs from the one
    recorded at the close are computed again as of the close; if any comes out different from
    the frozen report, :class:`ClosedMonthError` names the month and the vendors. (Results
    that arrived after the close would differ too: those are only listed by the report, but a
    vendor whose configuration also changed is refused, since the two cannot be told apart.)
    A database with nothing closed, or none at all, passes."""
    if not db_path.exists():
        return
    try:
        records = read_records_of(db_path)
    except DatabaseNotReady:
        return  # a database from before closes existed has none; its writer upgrades it

    if not records.closes:
        return
    refuse_if_tampered(db_path)  # frozen figures from an edited database are none
    config = recorded_config(config, records)
    now = {v.id: fingerprint(v) for v in config.vendors}
    for label, close in sorted(records.closes.items()):
        changed = [
            vendor_id
            for vendor_id, recorded in close.fingerprints.items()
            if vendor_id in now and now[vendor_id] != recorded
        ]
        if not changed:
            continue
        db = open_read_only(db_path)
        try:
            frozen = json_report.parse(closed_report(db, close))
        finally:
            db.close()
        year, month = (int(part) for part in label.split("-"))
        fresh = month_context(config, db_path, year, month, close.closed_at, vendors=changed)
        before = {v.vendor: figures(v) for v in frozen.vendors}
        moved = [v.vendor for v in fresh.vendors if figures(v) != before.get(v.vendor)]
        if moved:
            raise ClosedMonthError(
                close,
                f"the configuration of {', '.join(moved)} changed since and would change its "
                "figures; undo the change in the YAML",
            )


class AuditBroken(UptimeLedgerError):
    """The audit trail's chain is broken: what it records cannot be trusted."""


def refuse_if_tampered(db_path: Path) -> None:
    """Raise :class:`AuditBroken` when the audit trail does not verify (a change to a closed
    month that came from an edited database, not from the configuration, is said as such)."""
    db = open_read_only(db_path)
    try:
        verdict = verify(db)
    finally:
        db.close()
    if not verdict.intact:
        raise AuditBroken(f"the audit trail is broken: {verdict.problem}")
