"""What finance recorded, as text for the terminal: exclusions and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from reports.maintenance import LOCAL, UTC_FORMAT, text_table
from uptime.store.audit import Event
from uptime.store.finance import RecordedExclusion

UTC = ZoneInfo("UTC")

#: How the actions of the audit trail read.
ACTION_WORDS = {
    "exclude": "exclusion recorded",
    "exclude-undo": "exclusion undone",
    "maintenance-add": "maintenance window added",
    "close": "month closed",
    "reopen": "month reopened",
    "claim-mark": "claim marked",
}


def exclusions_table(exclusions: Sequence[RecordedExclusion], zones: dict[str, ZoneInfo]) -> str:
    """One line per recorded exclusion: id, vendor, start and end in the vendor's zone and in
    UTC, reason, who recorded it, and whether it is in force or was undone (why, by whom)."""
    if not exclusions:
        return "no exclusions recorded\n"
    rows = [("id", "vendor", "start", "end", "start UTC", "end UTC", "reason", "by", "status")]
    for e in exclusions:
        zone = zones.get(e.vendor, UTC)
        status = (
            "in force"
            if e.active
            else f"undone by {e.undone_by} on {e.undone_at:%Y-%m-%d}: {e.undo_reason}"
        )
        rows.append(
            (
                str(e.id),
                e.vendor,
                e.start.astimezone(zone).strftime(LOCAL),
                e.end.astimezone(zone).strftime(LOCAL),
                e.start.astimezone(UTC).strftime(UTC_FORMAT),
                e.end.astimezone(UTC).strftime(UTC_FORMAT),
                e.reason,
                e.by,
                status,
            )
        )
    return text_table(rows)


def audit_lines(trail: Sequence[Event]) -> str:
    """One line per event: number, time (UTC), who, what, vendor and month, details."""
    if not trail:
        return "the audit trail is empty\n"
    rows = [("#", "at (UTC)", "by", "what", "vendor", "month", "details")]
    for event in trail:
        rows.append(
            (
                str(event.seq),
                event.at.strftime("%Y-%m-%d %H:%M:%S"),
                event.by,
                ACTION_WORDS.get(event.action, event.action),
                event.vendor or "-",
                event.month or "-",
                _details(event),
            )
        )
    return text_table(rows)


def _details(event: Event) -> str:
    d = event.detail
    if event.action == "close":
        return f"sha256 {d['sha256']}"
    if event.action == "exclude-undo":
        return f"exclusion {d['exclusion']}: {d['reason']}"
    shown = {k: v for k, v in d.items() if v is not None}
    return ", ".join(f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in shown.items())
