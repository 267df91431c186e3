"""Business days, maintenance windows and notice rules, as the contracts state them.

Everything here is a pure function of its arguments: no file, no clock. Dates are counted in
the wall clock of a named time zone, so "5 business days" and "Thursday 02:00–06:00 US Eastern"
mean what a person in that zone would read off their calendar and their watch, including on the
two days a year the clocks change.

How a wall-clock time becomes an instant (used for every window and notice deadline): it is
**the first moment the local clock shows that time or later**.

- On the autumn day the clocks go back, 01:30 happens twice; the first one counts.
- On the spring day the clocks go forward, 02:00–02:59 never appears on the clock; a time in
  that gap means the moment the clocks jump (which the clock shows as 03:00).

So a window "02:00–06:00" lasts 3 hours on the spring-forward day and 4 hours on the
fall-back day (the repeated hour is 01:00–02:00, before the window starts), and a window
"00:00–04:00" lasts 5 hours on the fall-back day.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from credits.business_time import (
    _require_aware,
    add_business_days,
    is_business_day,
    localize,
)
from credits.intervals import Interval
from credits.model import (
    AnnouncedWindow,
    BusinessCalendar,
    MaintenanceWindow,
    RecurringWindow,
    Span,
    VendorCalendar,
    WindowKind,
)

# Time-zone offsets differ by at most about a day (Samoa skipped 2011-12-30 entirely), so
# searching this far beyond a period's ends in wall-clock time cannot miss an occurrence.
_SEARCH_MARGIN = timedelta(days=2)


def notice_deadline(announced_at: datetime, notice: Span, calendar: BusinessCalendar) -> datetime:
    """The earliest start a window announced at ``announced_at`` may have to count as announced
    with enough notice (see ``notice_is_sufficient`` for the rule)."""
    _require_aware("announced_at", announced_at)
    if notice.delta is not None:
        return announced_at + notice.delta
    if notice.business_days is not None:
        zone = calendar.timezone
        local = announced_at.astimezone(zone)
        given_on, given_at = local.date(), local.time().replace(tzinfo=None)
        if not is_business_day(given_on, calendar):
            given_on, given_at = add_business_days(given_on, 1, calendar), time(0)
        day = add_business_days(given_on, notice.business_days, calendar)
        return localize(datetime.combine(day, given_at), zone)
    raise ValueError(f"notice {notice.text!r} has neither a duration nor business days")


def notice_is_sufficient(
    announced_at: datetime, start: datetime, notice: Span, calendar: BusinessCalendar
) -> bool:
    """Was a maintenance window starting at ``start`` announced early enough?

    Rule with a plain length of notice (``48h``): the time from the announcement to the start
    of the window is at least that length.

    Rule with business days (ClassSwift: maintenance "of which the customer has less than 5
    Business Days' advance notice" is Emergency Maintenance): move the announcement forward by
    that many business days, keeping the same time of day on the business calendar's clock;
    the notice is sufficient when the window starts at that moment or later. Announced Monday
    10:00 with 5 business days' notice, and no holiday in the week, the window must start on
    the next Monday at 10:00 or later; a holiday in between pushes that back by a day. A
    window starting even one second earlier was announced with less notice than the contract
    requires, and is emergency maintenance.

    Notice given on a non-business day (a weekend, a holiday) counts from the start (00:00) of
    the next business day: announced Saturday 10:00 with 2 business days' notice, it counts
    from Monday 00:00, so the window must start on Wednesday at 00:00 or later (Tuesday 10:00
    is emergency, Wednesday 10:00 scheduled).
    """
    _require_aware("start", start)
    return start >= notice_deadline(announced_at, notice, calendar)


def _cron_step(cron: str) -> timedelta:
    """The smallest possible gap between two occurrences: a second for six- and seven-field
    expressions (croniter's seconds field), a minute otherwise."""
    return timedelta(seconds=1) if len(cron.split()) >= 6 else timedelta(minutes=1)


def expand_recurring(window: RecurringWindow, period: Interval) -> list[MaintenanceWindow]:
    """Every occurrence of a recurring maintenance window that overlaps ``period``.

    Rule: the ``cron`` schedule is read on the wall clock of the window's own time zone
    ("0 2 * * thu" = every Thursday at 02:00 on a New York clock, whatever the season). Each
    occurrence ends when that clock has moved on by the window's ``duration`` (02:00 + 4h ends
    at 06:00 on the clock). Start and end become instants as described at the top of this
    module, so on the days clocks change a window can be an hour shorter or longer than usual;
    an occurrence that falls entirely inside the skipped spring hour lasts no time and is left
    out.

    An occurrence belongs to the period when any part of it lies inside it: one that started
    before the period and is still running at its start is included, one that starts exactly
    at the period's start is included, one that ends exactly at the period's start is not
    (periods and windows include their start and exclude their end).

    Returned in order of start, as scheduled maintenance from the ``recurring`` source.
    """
    # Imported here, when a recurring window exists: importing croniter runs `file` on the
    # interpreter (platform.architecture), 20 ms and a child process for every command.
    from croniter import CroniterBadDateError, croniter

    zone = window.timezone
    if window.duration <= timedelta(0) or not period:
        return []
    # Iterate croniter over naive wall-clock datetimes: it then does no time-zone arithmetic
    # of its own (with aware datetimes it moves a skipped 02:00 to 03:00 and fires twice in a
    # repeated hour). We apply our own rule for those times in ``localize``.
    search_from = period.start.astimezone(zone).replace(tzinfo=None)
    search_from -= window.duration + _SEARCH_MARGIN
    search_until = period.end.astimezone(zone).replace(tzinfo=None) + _SEARCH_MARGIN
    # Bound croniter's own search for the next match (a cron such as "0 0 30 2 *" never fires)
    # and our loop (occurrences are at least one cron step apart).
    years = search_until.year - search_from.year + 1
    schedule = croniter(window.cron, search_from, max_years_between_matches=years)
    limit = int((search_until - search_from) / _cron_step(window.cron)) + 2

    occurrences: list[MaintenanceWindow] = []
    for _ in range(limit):
        try:
            wall_start: datetime = schedule.get_next(datetime)
        except CroniterBadDateError:
            break
        if wall_start > search_until:
            break
        interval = Interval(
            localize(wall_start, zone), localize(wall_start + window.duration, zone)
        )
        if interval.overlaps(period):
            occurrences.append(
                MaintenanceWindow(
                    interval=interval,
                    kind=WindowKind.SCHEDULED,
                    name=window.name,
                    timezone=zone,
                    source="recurring",
                )
            )
    occurrences.sort(key=lambda w: (w.interval.start, w.interval.end))
    return occurrences


def classify_announced(
    window: AnnouncedWindow, notice: Span, calendar: BusinessCalendar
) -> MaintenanceWindow:
    """An announced maintenance window, marked scheduled or emergency.

    Rule: emergency maintenance when the announcement came with less notice than the contract
    requires (``notice_is_sufficient``), scheduled maintenance otherwise. The window keeps the
    announcement's note as its name ("announced" when there is none) and when it was
    announced, so a report can show the evidence.
    """
    sufficient = notice_is_sufficient(window.announced_at, window.start, notice, calendar)
    return MaintenanceWindow(
        interval=Interval(window.start, window.end),
        kind=WindowKind.SCHEDULED if sufficient else WindowKind.EMERGENCY,
        name=window.note or "announced",
        timezone=calendar.timezone,
        source="announced",
        announced_at=window.announced_at,
    )


def applies_to(window: RecurringWindow, hosting: str | None) -> bool:
    """Does a recurring window apply to a vendor hosted in ``hosting``?

    Rule: a window that names no hosting region applies to every vendor; a window that names
    one (``us``, ``eu``, ``apac``) applies only to a vendor whose hosting is that region.
    """
    return window.hosting is None or window.hosting == hosting


def vendor_windows(
    calendar: VendorCalendar,
    hosting: str | None,
    notice: Span,
    business_calendar: BusinessCalendar,
    period: Interval,
) -> list[MaintenanceWindow]:
    """All of one vendor's maintenance windows that overlap ``period``, in order of start.

    Rule: the recurring windows that apply to the vendor's hosting region (``applies_to``),
    each expanded over the period (``expand_recurring``), together with every announced window
    that overlaps the period, each marked scheduled or emergency by how much notice it came
    with (``classify_announced``).
    """
    windows: list[MaintenanceWindow] = []
    for recurring in calendar.recurring:
        if applies_to(recurring, hosting):
            windows.extend(expand_recurring(recurring, period))
    for announced in calendar.announced:
        interval = Interval(announced.start, announced.end)
        if interval.overlaps(period):
            windows.append(classify_announced(announced, notice, business_calendar))
    windows.sort(key=lambda w: (w.interval.start, w.interval.end, w.name))
    return windows
