"""What finance recorded, as text for the terminal: exclusions and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from credits.intervals import Interval
from reports.maintenance import LOCAL, UTC_FORMAT, text_table
from uptime.store.audit import Event
from uptime.store.finance import RecordedExclusion, months_touched

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


def concerning(trail: Sequence[Event], label: str, zones: Mapping[str, ZoneInfo]) -> list[Event]:
    """The events that concern month ``label``: its closes, reopens and claim marks, the
    exclusions and windows whose span touches it on the vendor's clock (``zones``), and the
    undoing of such an exclusion."""
    spans: dict[int, bool] = {}
    kept = []
    for event in trail:
        detail = event.detail
        if event.month is not None:
            touches = event.month == label
        elif "start" in detail and "end" in detail:
            span = Interval(
                datetime.fromisoformat(detail["start"]), datetime.fromisoformat(detail["end"])
            )
            touches = label in months_touched(span, zones.get(event.vendor or "", UTC))
        elif event.action == "exclude-undo":
            touches = spans.get(detail["exclusion"], False)
        else:
            touches = False
        spans[event.seq] = touches
        if touches:
            kept.append(event)
    return kept


def _details(event: Event) -> str:
    d = event.detail
    if event.action == "close":
        return f"sha256 {d['sha256']}"
    if event.action == "exclude-undo":
        return f"exclusion {d['exclusion']}: {d['reason']}"
    shown = {k: v for k, v in d.items() if v is not None}
    return ", ".join(f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in shown.items())
