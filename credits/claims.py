"""Claim deadlines: how long finance has to file a claim for an interruption."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from credits.business_time import _require_aware, add_business_days
from credits.intervals import MICROSECOND
from credits.model import (
    BusinessCalendar,
    Span,
)


def last_down_day(end: datetime, zone: ZoneInfo) -> date:
    """The date, on ``zone``'s clock, of the last down instant of an interruption that ended at
    ``end``. Intervals exclude their end, so one ending exactly at local midnight ended on the
    day before."""
    return (end - MICROSECOND).astimezone(zone).date()


def claim_deadline(end: datetime, within: Span, calendar: BusinessCalendar) -> date:
    """The last day on which a claim for an interruption that ended at ``end`` can be filed.

    Rule: take the day of the interruption's last down minute, as read in the business
    calendar's time zone (:func:`last_down_day`: an interruption ending exactly at midnight
    ended on the day before, the earlier and safe deadline), and count ``within`` business
    days from the next day (see ``add_business_days``); the claim must be filed by the end of
    that day. ClassSwift: a support ticket "within five (5) Business Days of the end of the
    service interruption". When the contract gives a plain length of time instead (``48h``),
    the deadline is the local date of the end plus that length.

    The time zone matters: an interruption ending at 03:00 UTC on Friday 21 November 2025 ended
    on Thursday 20 November in Los Angeles, so the count starts on Friday 21.
    """
    _require_aware("end", end)
    zone = calendar.timezone
    if within.business_days is not None:
        return add_business_days(last_down_day(end, zone), within.business_days, calendar)
    if within.delta is not None:
        return (end + within.delta).astimezone(zone).date()
    raise ValueError(f"claim period {within.text!r} has neither a duration nor business days")


def claim_deadlines(
    ends: Iterable[datetime], within: Span, calendar: BusinessCalendar
) -> list[date]:
    """``claim_deadline`` for each of ``ends``, in order; the business days are counted once per
    local end date (a month's report asks for tens of thousands)."""
    if within.business_days is None:
        return [claim_deadline(end, within, calendar) for end in ends]
    zone, days = calendar.timezone, within.business_days
    by_day: dict[date, date] = {}
    deadlines = []
    for end in ends:
        _require_aware("end", end)
        day = last_down_day(end, zone)
        deadline = by_day.get(day)
        if deadline is None:
            deadline = by_day[day] = add_business_days(day, days, calendar)
        deadlines.append(deadline)
    return deadlines
