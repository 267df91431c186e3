"""Business days and wall-clock times in a named zone, as contracts count them.

A business day is Monday to Friday, less the public holidays of the contract's calendar; holidays
are known only for the years the holidays package covers, and a count that would need others is
refused (``CalendarRangeError``) rather than made without them.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from credits.intervals import MICROSECOND
from credits.model import (
    BusinessCalendar,
)
from uptime.errors import UptimeLedgerError


class CalendarRangeError(UptimeLedgerError, ValueError):
    """Business days were asked of a year the public holiday calendar does not cover."""


@functools.lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays (observed dates included) of one country/subdivision in one year.

    Cached per year as an immutable set rather than caching one ``holidays`` object: that
    object fills in years lazily by mutating itself on lookup, which is not safe when reports
    run in worker threads. A year's set holds every date that falls in that year, including
    an observed date pulled in from the next year's holiday (US: New Year's Day on a Saturday
    is observed on Friday 31 December).

    The ``holidays`` package knows each country's holidays for a range of years only (the US:
    1777 to 2100) and silently gives none outside it; counting business days there would be
    wrong, so it raises :class:`CalendarRangeError` instead.
    """
    table = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    if not table.start_year <= year <= table.end_year:
        region = f"{country}-{subdivision}" if subdivision else country
        raise CalendarRangeError(
            f"the {region} public holiday calendar covers {table.start_year} to "
            f"{table.end_year}; business days in {year} cannot be counted"
        )
    return frozenset(table)


def is_business_day(day: date, calendar: BusinessCalendar) -> bool:
    """Is ``day`` a business day?

    Rule: Monday to Friday, and not a public holiday of the calendar's country (and
    subdivision, if one is given). When a holiday falls on a weekend and the country observes
    it on a weekday instead, that weekday is not a business day either (for example Friday
    3 July 2026, when Independence Day is a Saturday). A calendar with no holiday country has
    no holidays: every Monday to Friday is a business day.

    ``day`` is a calendar date already in the calendar's time zone; pass a ``date``, not a
    ``datetime``.
    """
    if isinstance(day, datetime):
        raise TypeError("is_business_day takes a date; convert the datetime to a local date first")
    if day.weekday() >= 5:
        return False
    if calendar.holidays is None:
        return True
    return day not in _holiday_dates(calendar.holidays, calendar.subdivision, day.year)


@functools.lru_cache(maxsize=65_536)
def add_business_days(day: date, n: int, calendar: BusinessCalendar) -> date:
    """The ``n``-th business day after ``day``.

    Rule: start counting on the day after ``day`` and skip weekends and holidays; the answer is
    the day on which the count reaches ``n``. ``day`` itself is never counted, whether or not
    it is a business day. For example, 5 business days after Thursday 20 November 2025 (US) is
    Friday 28 November: Fri 21, Mon 24, Tue 25, Wed 26, (Thanksgiving Thu 27 skipped), Fri 28.
    ``n = 0`` gives ``day`` back.
    """
    if n < 0:
        raise ValueError(f"business days must be zero or more, got {n}")
    current = day
    counted = 0
    while counted < n:
        current += timedelta(days=1)
        if is_business_day(current, calendar):
            counted += 1
    return current


def localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the clock in ``zone`` first shows the wall time ``wall`` or later.

    Rule: a wall time that happens twice (the hour repeated when clocks go back) means its
    first occurrence; a wall time that never happens (the hour skipped when clocks go forward)
    means the moment the clocks jump past it. ``wall`` is a naive date and time as read off a
    local clock.
    """
    if wall.tzinfo is not None:
        raise ValueError("localize takes a naive wall-clock time")
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # the time exists; fold=0 is its first occurrence
    # ``wall`` is in a gap. fold=1 maps it with the offset after the jump, to an instant just
    # before the jump; fold=0 (above) to one just after. The jump is the earliest instant
    # between them whose clock reading has passed ``wall``.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    while high - low > MICROSECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
