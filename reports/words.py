"""Times, minutes and money in words for people (GOV.UK style: "10:00pm", the zone named),
shared by the printed report and the web pages. English whatever the locale, and without
``strftime``: a page writes thousands of these."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def clock(moment: datetime, seconds: bool = False) -> str:
    """``10:00pm``; midnight is ``12:00am``. With ``seconds``, ``1:59:40am`` when the moment
    is not on a whole minute."""
    second = moment.second if seconds and (moment.second or moment.microsecond) else None
    return _clock(moment.hour, moment.minute, second)


# A month's report writes tens of thousands of times and dates, from a few thousand distinct ones.
@functools.cache
def _clock(hour: int, minute: int, second: int | None) -> str:
    text = f"{hour % 12 or 12}:{minute:02d}" + ("" if second is None else f":{second:02d}")
    return f"{text}{'am' if hour < 12 else 'pm'}"


@functools.lru_cache(maxsize=4096)
def day_words(day: date, year: bool = True) -> str:
    """``Tue 4 Nov 2025`` (``Tue 4 Nov`` without the year)."""
    text = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def period_zone_words(start: datetime, end: datetime) -> str:
    """The zone of a period as its times read: ``PST (America/Los_Angeles)``, or ``PDT, then
    PST (America/Los_Angeles)`` for a month whose clocks changed."""
    last = end - timedelta(microseconds=1)
    if start.tzname() == last.astimezone(start.tzinfo).tzname():
        return zone_words(start)
    zone = start.tzinfo
    key = zone.key if isinstance(zone, ZoneInfo) else str(zone)
    return f"{start.tzname()}, then {last.astimezone(zone).tzname()} ({key})"


def zone_words(moment: datetime) -> str:
    """``EST (America/New_York)``."""
    zone = moment.tzinfo
    key = zone.key if isinstance(zone, ZoneInfo) else str(zone)
    return key if key == moment.tzname() else f"{moment.tzname()} ({key})"


@functools.lru_cache(maxsize=4096)
def figure(value: float) -> str:
    """Minutes as the formula shows them: ``43,200``, ``150``, ``10.33``."""
    text = f"{value:,.2f}"
    return text.removesuffix(".00")


#: Currencies written with their sign; any other is written after the amount (``12.00 CHF``).
CURRENCY_SIGNS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal, currency: str | None) -> str:
    """``$1,234.50``; ``12.00 CHF``; without a currency, the bare amount. Every place the
    amount has is kept (an hourly fee may have 6)."""
    text = f"{amount:,}"
    sign = CURRENCY_SIGNS.get(currency or "")
    if sign:
        return f"{sign}{text}"
    return f"{text} {currency}" if currency else text
