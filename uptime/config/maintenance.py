"""maintenance_windows.yaml: recurring and announced windows and exclusions per vendor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from credits.calendar import applies_to
from credits.model import (
    AnnouncedWindow,
    Exclusion,
    RecurringWindow,
    VendorCalendar,
)
from uptime.config.durations import PLAIN_DURATION_FORMS
from uptime.config.fields import (
    DATETIME_FORMS,
    _At,
    _datetime,
    _delta,
    _fields,
    _get,
    _id,
    _items,
    _optional,
    _text,
    _zone,
)
from uptime.config.positioned_yaml import _Map
from uptime.config.vendors import _VendorDraft

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# maintenance_windows.yaml


_CRON_FIELDS = (
    "a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. 0 2 * * thu"
)


def _cron(value: object, at: _At) -> str:
    from croniter import croniter  # see credits.calendar.expand_recurring for why it is here

    if (
        not isinstance(value, str)
        or len(value.split()) != 5
        or not croniter.is_valid(value.strip())
    ):
        raise at.got(value, _CRON_FIELDS)
    return " ".join(value.split())


def _recurring(value: object, at: _At) -> RecurringWindow:
    fields = _fields(
        value,
        at,
        {
            "name": "the window's name",
            "cron": _CRON_FIELDS,
            "duration": PLAIN_DURATION_FORMS,
            "timezone": "an IANA time zone name such as America/New_York",
        },
        ("hosting",),
    )
    return RecurringWindow(
        name=_text(fields["name"], at.key(fields, "name")),
        cron=_cron(fields["cron"], at.key(fields, "cron")),
        duration=_delta(fields["duration"], at.key(fields, "duration")),
        timezone=_zone(fields["timezone"], at.key(fields, "timezone")),
        hosting=_get(fields, at, "hosting", _optional(lambda v, a: _id(v, a, "hosting")), None),
    )


def _start_end(fields: _Map, at: _At) -> tuple[datetime, datetime]:
    start = _datetime(fields["start"], at.key(fields, "start"))
    end = _datetime(fields["end"], at.key(fields, "end"))
    if end <= start:
        raise at.key(fields, "end").error(
            f"end {end.isoformat()} is not after start {start.isoformat()}",
            "an end later than the start",
        )
    return start, end


def _announced(value: object, at: _At) -> AnnouncedWindow:
    fields = _fields(
        value,
        at,
        {"start": DATETIME_FORMS, "end": DATETIME_FORMS, "announced_at": DATETIME_FORMS},
        ("note",),
    )
    start, end = _start_end(fields, at)
    return AnnouncedWindow(
        start=start,
        end=end,
        announced_at=_datetime(fields["announced_at"], at.key(fields, "announced_at")),
        note=_get(fields, at, "note", lambda v, a: "" if v is None else _text(v, a), ""),
    )


def _exclusion(value: object, at: _At) -> Exclusion:
    fields = _fields(
        value,
        at,
        {
            "start": DATETIME_FORMS,
            "end": DATETIME_FORMS,
            "reason": "why this time is excluded (force majeure, district network...)",
        },
    )
    start, end = _start_end(fields, at)
    return Exclusion(start=start, end=end, reason=_text(fields["reason"], at.key(fields, "reason")))


def _listed(mapping: _Map, at: _At, key: str, read: Callable[[object, _At], _T]) -> tuple[_T, ...]:
    if key not in mapping:
        return ()
    where = at.key(mapping, key)
    items = _items(mapping[key], where, key.replace("_", " "), allow_null=True)
    return tuple(read(item, where.item(items, index)) for index, item in enumerate(items))


def _calendar(value: object, at: _At) -> VendorCalendar:
    if value is None:
        return VendorCalendar()
    fields = _fields(value, at, {}, ("recurring", "announced", "exclusions"))
    return VendorCalendar(
        recurring=_listed(fields, at, "recurring", _recurring),
        announced=_listed(fields, at, "announced", _announced),
        exclusions=_listed(fields, at, "exclusions", _exclusion),
    )


def _check_hosting(draft: _VendorDraft, calendar: VendorCalendar, mlabel: str) -> None:
    """A vendor's hosting must select recurring windows when they are split by hosting."""
    hostings = sorted({w.hosting for w in calendar.recurring if w.hosting is not None})
    if not hostings:
        return
    vendor = draft.vendor
    if vendor.hosting is None:
        raise draft.at.key(draft.fields, "hosting").error(
            f"required key is missing: its recurring windows in {mlabel} are per hosting",
            f"one of: {', '.join(hostings)}",
        )
    if not any(applies_to(w, vendor.hosting) for w in calendar.recurring):
        raise draft.at.key(draft.fields, "hosting").got(
            vendor.hosting,
            f"one of the hostings of its maintenance windows: {', '.join(hostings)}",
        )
