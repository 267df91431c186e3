"""The pages as plain values: words for states, rounded figures, times on the vendor's wall
clock with the zone named (GOV.UK style: "10:00pm", explicit ranges). Templates only print
these; nothing here reads the clock or the database."""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from credits.advisories import Advisory
from credits.availability import MonthAvailability
from credits.days import Day
from credits.intervals import MINUTE, Interval, ratio
from credits.model import MaintenanceWindow, WindowKind
from reports.context import VendorContext
from reports.words import MONTH_NAMES, clock, day_words, figure, zone_words
from uptime.config import Config, Vendor
from uptime.web.months import month_of
from uptime.web.status import VendorNow

if TYPE_CHECKING:  # page_months builds its kept words with the helpers here
    from uptime.web.page_months import HistoryMonth, PageMonth

#: A state in words with its icon (never colour alone).
STATES = {
    "up": ("✓", "Up"),
    "down": ("✕", "Down"),
    "maintenance": ("⚙", "Maintenance"),
    "unknown": ("?", "Unknown"),
}

GRADES = {
    "major": "major outage",
    "minor": "partial outage",
    "no_data": "no data",
    "unknown": "partly unknown",
    "maintenance": "maintenance",
    "up": "no downtime",
}

#: How many days the status page's bars show, and how many recent items of each kind.
BAR_DAYS = 90
RECENT = 5
#: Advisories older than this are on the vendor's page only.
RECENT_ADVISORIES = timedelta(days=7)
#: How many of a vendor's windows of the next days the status page lists (the open ones come
#: first): a window every few minutes is thousands. The others are counted; its calendar
#: feed has them all.
WINDOWS_SHOWN = 10


# --- words for times and lengths ---------------------------------------------------------


def moment_words(moment: datetime, zone: ZoneInfo, year: bool = False) -> str:
    """``Thu 3 Dec, 10:00pm EST (America/New_York)``."""
    local = moment.astimezone(zone)
    return f"{day_words(local.date(), year)}, {clock(local)} {zone_words(local)}"


def range_words(interval: Interval, zone: ZoneInfo, year: bool = False) -> str:
    """``Thu 3 Dec, 10:00pm to Fri 4 Dec, 1:00am EST (America/New_York)``: one day is written
    once, one zone abbreviation once (both when DST changes in between)."""
    start, end = interval.start.astimezone(zone), interval.end.astimezone(zone)
    first = f"{day_words(start.date(), year)}, {clock(start)}"
    if start.tzname() != end.tzname():
        first = f"{first} {start.tzname()}"
    if end.date() == start.date():
        last = clock(end)
    else:
        last = f"{day_words(end.date(), year)}, {clock(end)}"
    return f"{first} to {last} {zone_words(end)}"


def number(value: float | Fraction) -> str:
    """A count of minutes: ``2,160``; below 10, one decimal if it has one (``2.5``)."""
    rounded = round(Fraction(value), 1)
    if abs(rounded) >= 10 or rounded == int(rounded):
        return f"{round(Fraction(value)):,}"
    return f"{float(rounded):,.1f}"


def duration_words(length: timedelta) -> str:
    """``2 h 30 min``, ``45 min``, ``under 1 min``."""
    minutes = round(ratio(length, MINUTE))
    if minutes == 0:
        return "under 1 min" if length > timedelta(0) else "0 min"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes else "")
    return " ".join(p for p in parts if p)


def pct_words(value: float | Fraction) -> str:
    """A percentage floored to 2 decimals, ``99.31 %``: 99.999 % is never shown as 100 %."""
    exact = (
        Decimal(value) if isinstance(value, float) else Decimal(value.numerator) / value.denominator
    )
    return f"{exact.quantize(Decimal('0.01'), rounding=ROUND_FLOOR)} %"


def target_words(value: float) -> str:
    return f"{Decimal(str(value)).normalize():f} %"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- the contexts --------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    key: str  #: up, down, maintenance, unknown (the CSS class)
    icon: str
    word: str


_STATES = {key: State(key, icon, word) for key, (icon, word) in STATES.items()}


def state(key: str) -> State:
    return _STATES[key]


@dataclass(frozen=True)
class RegionCell:
    name: str
    state: State
    since: str  #: since when, in words ("" before its first result)
    error: str  #: the failure behind a down state ("" otherwise)


@dataclass(frozen=True)
class MonitorRow:
    area: str
    critical: bool
    state: State
    regions: tuple[RegionCell, ...]


@dataclass(frozen=True)
class DayBar:
    id: str  #: day-YYYY-MM-DD (the anchor on the vendor's page)
    href: str
    grade: str
    label: str  #: what a screen reader says and a tooltip shows


@dataclass(frozen=True)
class WindowRow:
    name: str
    kind: str  #: "scheduled" or "emergency" in words
    when: str
    active: bool


@dataclass(frozen=True)
class InterruptionRow:
    when: str
    duration: str
    areas: str
    regions: str
    counted: str  #: how it was counted, in words


@dataclass(frozen=True)
class AdvisoryRow:
    when: str
    duration: str
    area: str
    regions: str


@dataclass(frozen=True)
class MonthFigures:
    """Month to date against the target: ``availability`` ``99.65 %``; ``allowance`` like
    ``38 min of 2,160 left this month``."""

    availability: str
    target: str
    met: bool
    verdict: str  #: "meets its 95 % target so far" (this month) / "missed its 95 % target"
    allowance: str


@dataclass(frozen=True)
class VendorCard:
    id: str
    name: str
    timezone: str
    state: State
    state_note: str
    monitors: tuple[MonitorRow, ...]
    figures: MonthFigures
    bars: tuple[DayBar, ...]
    bars_from: str
    windows: tuple[WindowRow, ...]
    windows_more: int  #: the windows of the next days not listed (:data:`WINDOWS_SHOWN`)
    interruptions: tuple[InterruptionRow, ...]
    advisories: tuple[AdvisoryRow, ...]


@dataclass(frozen=True)
class StatusPage:
    title: str
    refresh: int  #: seconds
    updated: str
    vendors: tuple[VendorCard, ...]


def region_names(config: Config) -> dict[str, str]:
    return {r.id: r.name for r in config.regions}


def month_figures(
    c: VendorContext, allowance_of: timedelta, allowance_left: timedelta, current: bool
) -> MonthFigures:
    target = target_words(c.target_pct)
    allowance = number(ratio(allowance_of, MINUTE))
    left = ratio(allowance_left, MINUTE)
    span = "this month" if current else "in the month"
    if current:  # the month is not over: its verdict can still change
        verdict = f"{'meets' if c.met else 'below'} its {target} target so far"
    else:
        verdict = f"{'met' if c.met else 'missed'} its {target} target"
    if left >= 0:
        words = f"{number(left)} min of {allowance} left {span}"
    else:
        words = f"overspent by {number(-left)} min of {allowance} allowed {span}"
    return MonthFigures(
        availability=pct_words(c.availability_pct),
        target=target,
        met=c.met,
        verdict=verdict,
        allowance=words,
    )


def day_bar(vendor: Vendor, day: Day) -> DayBar:
    label = f"{day_words(day.date)}: "
    pct = day.availability_pct
    if pct is None:
        label += "no data (probing had not begun)"
    else:
        parts = [pct_words(pct)]
        if day.interruptions:
            parts.append(plural(day.interruptions, "interruption"))
        if day.maintenance:
            parts.append(f"{duration_words(day.maintenance)} maintenance")
        if day.unmonitored:
            parts.append(f"{duration_words(day.unmonitored)} not seen")
        if day.grade != "maintenance" or not day.maintenance:  # else the figure says it
            parts.append(GRADES[day.grade])
        label += ", ".join(parts)
    anchor = f"day-{day.date.isoformat()}"
    return DayBar(
        id=anchor,
        href=f"/vendor/{vendor.id}?month={day.date:%Y-%m}#{anchor}",
        grade=day.grade.replace("_", "-"),
        label=label,
    )


def read_to(month: PageMonth) -> datetime | None:
    """When ``month`` was read, if one of its interruptions was still going on then (None
    otherwise): what came since is not read yet."""
    if month.interruptions and month.interruptions[-1][0].end >= month.read_at:
        return month.read_at
    return None


def today_at(day: Day, now: datetime, read_to: datetime | None) -> Day:
    """Today's ``day``, as kept, cut at ``now``; at ``read_to`` (:func:`read_to`) when that
    is earlier, never before the day began: cut later, the day's share up would grow while
    the vendor may still be down."""
    end = now if read_to is None else max(day.period.start, min(now, read_to))
    return day.cut(end)


def cut_days(days: Sequence[Day], now: datetime, read_to: datetime | None) -> list[Day]:
    """The days begun by ``now``, today's cut (:func:`today_at`)."""
    out = []
    for day in days:
        if day.period.start >= now:
            break
        out.append(day if day.period.end <= now else today_at(day, now, read_to))
    return out


class RecentBars(NamedTuple):
    """The status page's bars at ``now`` and the first of their days; until ``until`` (the
    end of today, when the days shown change) they change only by ``today``: the kept day
    whose bar is made again at each ``now`` (:func:`today_at` with ``read_to``; None while
    its kept bar holds)."""

    bars: list[DayBar]
    first: Day | None
    today: Day | None
    read_to: datetime | None
    until: datetime


def recent_bars(vendor: Vendor, months: Sequence[PageMonth], now: datetime) -> RecentBars:
    """The last :data:`BAR_DAYS` days' bars begun by ``now``: the months' kept bars of the
    days over, today's made again cut at ``now`` when the kept one no longer holds."""
    bars: list[DayBar] = []
    days: list[Day] = []
    moving, until = None, now  # no day in progress: made again each time
    cap = read_to(months[-1]) if months else None
    for month in months:
        if month.context.period_end <= now:
            over = len(month.days)
        else:
            over = bisect_right(month.days, now, key=lambda d: d.period.end)
        bars.extend(month.bars[:over])
        days.extend(month.days[:over])
        if over < len(month.days) and month.days[over].period.start < now:
            kept = month.days[over]
            today = today_at(kept, now, cap)
            # The kept bar is of the whole day: it still holds when nothing is counted (the
            # share of the day over does not show) and no window time is still to come. Both
            # stay so for the rest of the day once they are.
            moved = today.counted > timedelta(0) or today.maintenance != kept.maintenance
            bars.append(day_bar(vendor, today) if moved else month.bars[over])
            days.append(today)
            moving, until = (kept if moved else None), kept.period.end
    days = days[-BAR_DAYS:]
    return RecentBars(bars[-BAR_DAYS:], days[0] if days else None, moving, cap, until)


def window_row(window: MaintenanceWindow, zone: ZoneInfo, now: datetime) -> WindowRow:
    kind = "emergency" if window.kind is WindowKind.EMERGENCY else "scheduled"
    return WindowRow(
        name=window.name,
        kind=f"{kind} maintenance",
        when=range_words(window.interval, zone),
        active=window.interval.start <= now < window.interval.end,
    )


class Stretch(NamedTuple):
    """Interruptions one after another merged: their length in all and counted (exact),
    areas, regions."""

    start: datetime
    end: datetime
    length: timedelta
    counted: timedelta
    areas: frozenset[str]
    regions: frozenset[str]


def month_stretches(a: MonthAvailability) -> list[Stretch]:
    """The month's interruption parts, those one after another merged, oldest first."""
    return joined(
        [
            [
                Stretch(
                    part.interval.start,
                    part.interval.end,
                    part.interval.duration,
                    part.buckets.counted(a.maintenance),
                    frozenset(part.interruption.areas),
                    frozenset(part.interruption.regions),
                )
                for part in a.parts
            ]
        ]
    )


def joined(months: Sequence[Sequence[Stretch]], since: datetime | None = None) -> list[Stretch]:
    """The months' stretches (oldest first) ending after ``since``, oldest first; one cut at
    a month's edge is one again."""
    merged: list[Stretch] = []
    for stretches in months:
        for s in stretches:
            if since is not None and s.end <= since:
                continue
            if merged and merged[-1].end == s.start:
                last = merged[-1]
                merged[-1] = Stretch(
                    last.start,
                    s.end,
                    last.length + s.length,
                    last.counted + s.counted,
                    last.areas | s.areas,
                    last.regions | s.regions,
                )
            else:
                merged.append(s)
    return merged


def stretch_row(
    stretch: Stretch,
    zone: ZoneInfo,
    names: Mapping[str, str],
    read_at: datetime,
    year: bool = False,
) -> InterruptionRow:
    """``stretch`` in words; one that runs up to ``read_at`` (when its month was read) is
    still going on."""
    if stretch.end >= read_at:
        when = f"since {moment_words(stretch.start, zone, year)}, still down"
        duration = f"{duration_words(stretch.end - stretch.start)} so far"
    else:
        when = range_words(Interval(stretch.start, stretch.end), zone, year)
        duration = duration_words(stretch.length)
    if stretch.counted == stretch.length:
        how = "counted in full"
    elif not stretch.counted:
        how = "not counted: maintenance or an exclusion"
    else:
        how = f"{number(ratio(stretch.counted, MINUTE))} min counted"
    return InterruptionRow(
        when=when,
        duration=duration,
        areas=", ".join(sorted(stretch.areas)) or "(declared window)",
        regions=", ".join(names.get(r, r) for r in sorted(stretch.regions)) or "none seen",
        counted=how,
    )


def interruption_rows(
    kept: Sequence[PageMonth],
    zone: ZoneInfo,
    names: Mapping[str, str],
    year: bool = False,
    since: datetime | None = None,
) -> list[InterruptionRow]:
    """The months' interruptions ending after ``since``, most recent first; one cut at a
    month's edge is one again."""
    merged = joined([[s for s, _ in month.interruptions] for month in kept], since)
    return [stretch_row(s, zone, names, kept[-1].read_at, year) for s in reversed(merged)]


def recent_interruptions(
    kept: Sequence[PageMonth], zone: ZoneInfo, names: Mapping[str, str], since: datetime
) -> list[InterruptionRow]:
    """``interruption_rows(kept, zone, names, since=since)[:RECENT]`` from the months' kept
    rows: the last ``RECENT`` stretches ending after ``since`` and the one before them (which
    would merge into them if it ran on into the oldest). Made again when ``since`` cuts into
    one of those stretches or two of them run on into each other (across a month's edge)."""
    picked: list[tuple[Stretch, InterruptionRow]] = []  # most recent first
    for month in reversed(kept):
        for pair in reversed(month.interruptions):
            if pair[0].end > since:
                picked.append(pair)
                if len(picked) > RECENT:
                    break
        if len(picked) > RECENT:
            break
    if any(s.start < since for s, _ in picked) or any(
        later.start == earlier.end for (later, _), (earlier, _) in pairwise(picked)
    ):
        return interruption_rows(kept, zone, names, since=since)[:RECENT]
    return [row for _, row in picked[:RECENT]]


def advisory_row(
    advisory: Advisory, zone: ZoneInfo, names: Mapping[str, str], read_at: datetime
) -> AdvisoryRow:
    """``advisory`` in words; one that runs up to ``read_at`` (when its month was read) is
    still going on."""
    if advisory.interval.end >= read_at:
        when = f"since {moment_words(advisory.interval.start, zone)}, still going on"
        duration = f"{duration_words(advisory.interval.duration)} so far"
    else:
        when = range_words(advisory.interval, zone)
        duration = duration_words(advisory.interval.duration)
    return AdvisoryRow(
        when=when,
        duration=duration,
        area=advisory.area,
        regions=", ".join(names.get(r, r) for r in advisory.regions),
    )


def joined_advisories(advisories: Sequence[Advisory]) -> list[Advisory]:
    """``advisories`` (most recent first) with those of one monitor cut at a month's edge one
    again, in the place of the later part."""
    out: list[Advisory] = []
    starting: dict[tuple[str, datetime], int] = {}  # (monitor, start) -> its place in out
    for a in advisories:
        at = starting.pop((a.monitor, a.interval.end), None)
        if at is None:
            at = len(out)
            out.append(a)
        else:
            later = out[at]
            out[at] = replace(
                later,
                interval=Interval(a.interval.start, later.interval.end),
                regions=tuple(dict.fromkeys(a.regions + later.regions)),
            )
        starting[(a.monitor, a.interval.start)] = at
    return out


def recent_advisories(months: Sequence[PageMonth], now: datetime) -> list[Advisory]:
    """The months' last :data:`RECENT` advisories open within :data:`RECENT_ADVISORIES` before
    ``now``, most recent first."""
    after = now - RECENT_ADVISORIES
    picked: list[Advisory] = []
    for month in reversed(months):
        if month.context.period_end <= after:  # its advisories ended by then
            break
        for a in reversed(month.advisories):  # in order of start
            if a.interval.start + month.longest_advisory <= after:
                break
            if a.interval.end > after and a.interval.start < now:
                picked.append(a)
                if len(picked) == RECENT:
                    return picked
    return picked


@functools.lru_cache(maxsize=1 << 16)
def region_cell(
    name: str, key: str, since: datetime | None, zone: ZoneInfo, error: str
) -> RegionCell:
    """A region's view now (kept: a region's state and its since are mostly the same from one
    request to the next; bounded, the least recently used dropped)."""
    words = f"since {moment_words(since, zone)}" if since else "no result yet"
    return RegionCell(name=name, state=state(key), since=words, error=error)


class MadeCard(NamedTuple):
    """A vendor's card as made at ``made_at``, and how it changes on its own (with nothing it
    was made from changed): not before ``until`` (today's end, a window's start or end, a
    recent advisory leaving the last days or one stamped ahead of the clock beginning), and
    until then only by its last bar, made again from ``today`` (:func:`card_at`) when that is
    set. It holds in ``[made_at, until)`` only: a clock that steps back leaves it."""

    card: VendorCard
    made_at: datetime
    until: datetime
    today: Day | None
    read_to: datetime | None


def card_at(made: MadeCard, vendor: Vendor, now: datetime) -> VendorCard:
    """``made``'s card at ``now`` (in ``[made.made_at, made.until)``): what
    :func:`vendor_card` makes at ``now`` from the same states, windows and months."""
    if made.today is None:
        return made.card
    bar = day_bar(vendor, today_at(made.today, now, made.read_to))
    if bar == made.card.bars[-1]:
        return made.card
    return replace(made.card, bars=(*made.card.bars[:-1], bar))


def vendor_card(
    config: Config,
    now_: VendorNow,
    months: Sequence[PageMonth],
    errors: Mapping[tuple[str, str, str], str],
) -> MadeCard:
    """One vendor on the status page: ``months`` are the months the bars cover, oldest first,
    the last the current one."""
    vendor, now = now_.vendor, now_.now
    zone, names = vendor.timezone, region_names(config)
    monitors = tuple(
        MonitorRow(
            area=m.monitor.functional_area,
            critical=m.monitor.critical,
            state=state(m.state),
            regions=tuple(
                region_cell(
                    names.get(r.region, r.region),
                    r.state,
                    r.since,
                    zone,
                    errors.get((vendor.id, m.monitor.id, r.region), "")
                    if r.state == "down"
                    else "",
                )
                for r in m.regions
            ),
        )
        for m in now_.monitors
    )
    recent = recent_bars(vendor, months, now)
    first_day = recent.first.date if recent.first else now.astimezone(zone).date()
    bars_start = recent.first.period.start if recent.first else now
    advisories = recent_advisories(months, now)
    if now_.state == "maintenance":
        note = "The vendor announced maintenance now; what probes see is not counted against it."
    elif now_.state == "unknown":
        note = "Too few probe sites can see it right now to tell."
    else:
        note = ""
    card = VendorCard(
        id=vendor.id,
        name=vendor.name,
        timezone=zone.key,
        state=state(now_.state),
        state_note=note,
        monitors=monitors,
        figures=months[-1].figures,
        bars=tuple(recent.bars),
        bars_from=day_words(first_day),
        windows=tuple(window_row(w, zone, now) for w in now_.windows[:WINDOWS_SHOWN]),
        windows_more=max(0, len(now_.windows) - WINDOWS_SHOWN),
        interruptions=tuple(recent_interruptions(months, zone, names, bars_start)),
        advisories=tuple(
            advisory_row(a, zone, names, months[-1].read_at) for a in joined_advisories(advisories)
        ),
    )
    until = min(
        [
            recent.until,
            *(w.interval.start for w in now_.windows if w.interval.start > now),  # "Now:" begins
            *(w.interval.end for w in now_.active),  # the row leaves, the state may change
            *(a.interval.end + RECENT_ADVISORIES for a in advisories),
            # An agent's results may be stamped a little ahead of this clock (max_clock_skew):
            # an advisory of theirs shows once it began.
            *(a.interval.start for a in months[-1].advisories if a.interval.start >= now),
        ]
    )
    return MadeCard(card, now, until, recent.today, recent.read_to)


def status_page(config: Config, cards: Sequence[VendorCard], now: datetime) -> StatusPage:
    """The status page of ``cards`` (in configuration order), made at ``now``."""
    return StatusPage(
        title=config.web.title,
        refresh=int(config.web.refresh.total_seconds()),
        updated=updated_words(now, config),
        vendors=tuple(cards),
    )


def updated_words(now: datetime, config: Config) -> str:
    """When the page was made, in UTC and in the first vendor's zone."""
    zones = [v.timezone for v in config.vendors[:1]]
    local = "".join(f"; {moment_words(now, z, year=True)}" for z in zones)
    return f"{moment_words(now, ZoneInfo('UTC'), year=True)}{local}"


# --- one vendor's month ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One shaded stretch of a timeline, in the SVG's units (0 to ``TIMELINE_WIDTH``)."""

    x: float
    width: float
    kind: str  #: down, unknown, window
    label: str


@dataclass(frozen=True)
class Lane:
    area: str
    bars: tuple[Bar, ...]
    words: tuple[str, ...]  #: the text alternative: each stretch in words


@dataclass(frozen=True)
class RegionTimeline:
    name: str
    lanes: tuple[Lane, ...]


@dataclass(frozen=True)
class DayRow:
    id: str
    day: str
    grade: str
    grade_words: str
    availability: str
    counted: str
    maintenance: str
    unmonitored: str
    interruptions: int


@dataclass(frozen=True)
class VendorPage:
    title: str
    refresh: int
    updated: str
    id: str
    name: str
    timezone: str
    month: str  #: "November 2025"
    month_param: str  #: 2025-11
    previous: str | None
    following: str | None
    current: bool
    figures: MonthFigures
    formula: tuple[str, ...]  #: the formula, then with the numbers, then the result
    formula_note: str
    began_note: str  #: when probing began inside the month ("" otherwise)
    windows_shaded: tuple[Bar, ...]
    not_probed: tuple[Bar, ...]  #: before probing began (or after now): no data
    ticks: tuple[tuple[float, str], ...]  #: (percent from the left, day)
    timelines: tuple[RegionTimeline, ...]
    windows: tuple[WindowRow, ...]
    days: tuple[DayRow, ...]
    interruptions: tuple[InterruptionRow, ...]
    advisories: tuple[AdvisoryRow, ...]
    closed: ClosedNote | None = None


@dataclass(frozen=True)
class ClosedNote:
    """A closed month on the vendor's page: who closed it and when, the start of its frozen
    report's SHA-256, its frozen figures, and whether the live figures below differ."""

    by: str
    at: str
    sha256: str  #: the first 12 hex digits
    availability: str
    verdict: str
    differs: bool


def closed_note(
    by: str, closed_at: datetime, sha256: str, frozen: VendorContext | None, live: VendorContext
) -> ClosedNote:
    """The closed-month note of a vendor's page (``frozen`` is ``None`` when the vendor was
    configured after the close and is not in the frozen report)."""
    zone = ZoneInfo(live.timezone)
    if frozen is None:
        availability, verdict, differs = "not in the closed figures", "", True
    else:
        availability = pct_words(frozen.availability_pct)
        verdict = (
            f"{'met' if frozen.met else 'missed'} its {target_words(frozen.target_pct)} target"
        )
        differs = (frozen.availability_pct, frozen.minutes) != (
            live.availability_pct,
            live.minutes,
        )
    return ClosedNote(
        by=by,
        at=moment_words(closed_at, zone, year=True),
        sha256=sha256[:12],
        availability=availability,
        verdict=verdict,
        differs=differs,
    )


TIMELINE_WIDTH = 1000


def formula(kept: PageMonth) -> tuple[tuple[str, ...], str]:
    """``A = (T − M − D − E)/T``, the month's numbers in it and the result; ``M`` only when
    maintenance counts (docs/contract-rules.md)."""
    c, m = kept.context, kept.context.minutes
    t = ratio(kept.denominator, MINUTE)
    t_text = figure(float(t))
    counts = c.maintenance == "counts"
    terms = [("M", m.scheduled)] if counts else []
    terms += [("D", m.downtime), ("E", m.emergency)]
    letters = " − ".join(["T", *(k for k, _ in terms)])
    numbers = " − ".join([t_text, *(figure(v) for _, v in terms)])
    lines = (
        f"A = ({letters}) / T",
        f"= ({numbers}) / {t_text}",
        f"= {pct_words(c.availability_pct)}",
    )
    notes = []
    if not counts:
        notes.append(
            f"Maintenance is excluded under this contract: the {figure(m.scheduled)} min down "
            "inside scheduled windows (M) are reported, not subtracted."
        )
    if kept.denominator != timedelta(minutes=m.total):
        notes.append(
            f"T is {figure(m.total)} min less {figure(m.unmonitored)} min no site could see "
            "(unmonitored time is left out under this contract)."
        )
    if m.excluded:
        notes.append(f"{figure(m.excluded)} min excluded by an operator are not counted.")
    return lines, " ".join(notes)


def span_words(kind: str, span: Interval, zone: ZoneInfo, read_at: datetime) -> str:
    """``down Thu 3 Dec, 10:00pm to 11:00pm EST (1 h)``; for a stretch running up to
    ``read_at`` (still open when its month was read) ``down since Thu 3 Dec, 10:00pm EST,
    still down``; under a minute ``down for under a minute at Thu 3 Dec, 10:00pm EST``."""
    if span.end >= read_at:
        return f"{kind} since {moment_words(span.start, zone)}, still {kind}"
    if span.duration < MINUTE:  # "4:18am to 4:18am" would read as nothing
        return f"{kind} for under a minute at {moment_words(span.start, zone)}"
    return f"{kind} {range_words(span, zone)} ({duration_words(span.duration)})"


def lane_words(
    seen: Sequence[tuple[str, Sequence[Interval]]],
    zone: ZoneInfo,
    read_at: datetime,
) -> list[str]:
    """Each kind's stretches in words, oldest first. Closed stretches under a minute (a site's
    first result a moment after another's, a result a moment late) are counted in the
    figures to the second but not listed one by one: they are said together at the end."""
    words = []
    for kind, spans in seen:
        short = [s for s in spans if s.duration < MINUTE and s.end < read_at]
        words += [span_words(kind, s, zone, read_at) for s in spans if s not in short]
        if len(short) == 1:
            words.append(f"{kind} once for under a minute")
        elif short:
            total = duration_words(sum((s.duration for s in short), timedelta(0)))
            words.append(f"{kind} {len(short)} times for under a minute each ({total} in all)")
    return words


def timeline_bars(
    spans: Sequence[Interval],
    period: Interval,
    kind: str,
    zone: ZoneInfo,
    read_at: datetime | None = None,
) -> tuple[Bar, ...]:
    whole = period.duration
    return tuple(
        Bar(
            x=round(float(ratio(s.start - period.start, whole)) * TIMELINE_WIDTH, 2),
            width=max(0.5, round(float(ratio(s.duration, whole)) * TIMELINE_WIDTH, 2)),
            kind=kind,
            label=span_words(kind, s, zone, read_at)
            if read_at is not None
            else f"{kind}: {range_words(s, zone)}",
        )
        for s in spans
    )


def vendor_page(
    config: Config,
    vendor: Vendor,
    kept: PageMonth,
    year: int,
    month: int,
    now: datetime,
    current: bool,
    closed: ClosedNote | None = None,
) -> VendorPage:
    zone, names = vendor.timezone, region_names(config)
    period = Interval(kept.context.period_start, kept.context.period_end)
    began_note = ""
    if kept.began is not None and period.start < kept.began < period.end:
        began = moment_words(kept.began, zone)
        began_note = f"Probing began {began}: nothing was seen before it."
        up_words = f"up since probing began {began}{', so far' if current else ''}"
    elif kept.began is None or kept.began >= period.end:
        up_words = "no data: not probed"
    else:
        up_words = "up so far this month" if current else "up all month"
    timelines = []
    for region in config.regions:
        lanes = []
        for monitor in vendor.monitors:
            if region.id not in monitor.regions:
                continue
            down, unknown = (kept.seen or {}).get(monitor.id, {}).get(region.id, ((), ()))
            bars = timeline_bars(unknown, period, "unknown", zone, kept.read_at)
            bars += timeline_bars(down, period, "down", zone, kept.read_at)
            words = lane_words((("down", down), ("not seen", unknown)), zone, kept.read_at)
            lanes.append(Lane(monitor.functional_area, bars, tuple(words or [up_words])))
        if lanes:
            timelines.append(RegionTimeline(region.name, tuple(lanes)))
    ticks = []
    first = period.start.astimezone(zone).date()
    for offset in range(0, 31, 7):
        day = first + timedelta(days=offset)
        at = datetime(day.year, day.month, day.day, tzinfo=zone)
        if day.month != first.month:
            break
        x = float(ratio(at - period.start, period.duration)) * 100
        if x > 88:  # no room for its label
            break
        ticks.append((round(x, 2), day_words(day, year=False)))
    unseen = []
    began = kept.began if kept.began is not None else period.end
    if began > period.start:
        unseen.append(Interval(period.start, min(began, period.end)))
    if now < period.end:
        unseen.append(Interval(max(now, period.start), period.end))
    lines, note = formula(kept)
    days = cut_days(kept.days, now, read_to(kept))
    previous = (year, month - 1) if month > 1 else (year - 1, 12)
    following = (year, month + 1) if month < 12 else (year + 1, 1)
    return VendorPage(
        title=config.web.title,
        refresh=int(config.web.refresh.total_seconds()),
        updated=moment_words(now, zone, year=True),
        id=vendor.id,
        name=vendor.name,
        timezone=zone.key,
        month=f"{date(year, month, 1):%B %Y}",
        month_param=f"{year:04d}-{month:02d}",
        previous=f"{previous[0]:04d}-{previous[1]:02d}",
        following=None if current else f"{following[0]:04d}-{following[1]:02d}",
        current=current,
        figures=month_figures(kept.context, kept.allowance, kept.allowance_left, current),
        formula=lines,
        formula_note=note,
        began_note=began_note,
        windows_shaded=timeline_bars([w.interval for w in kept.windows], period, "window", zone),
        not_probed=timeline_bars(unseen, period, "no data", zone),
        ticks=tuple(ticks),
        timelines=tuple(timelines),
        windows=tuple(window_row(w, zone, now) for w in kept.windows),
        days=tuple(
            DayRow(
                id=f"day-{d.date.isoformat()}",
                day=day_words(d.date),
                grade=d.grade.replace("_", "-"),
                grade_words=GRADES[d.grade],
                availability="no data"
                if d.availability_pct is None
                else pct_words(d.availability_pct),
                counted=duration_words(d.counted),
                maintenance=duration_words(d.maintenance),
                unmonitored=duration_words(d.unmonitored),
                interruptions=d.interruptions,
            )
            for d in days
        ),
        interruptions=tuple(interruption_rows([kept], zone, names, year=False)),
        advisories=tuple(advisory_row(a, zone, names, kept.read_at) for a in kept.advisories),
        closed=closed,
    )


# --- history -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCell:
    month: str  #: "Nov 2025"
    href: str
    availability: str
    verdict: str  #: met, missed, no data ("met so far", "missed so far" for this month)
    key: str  #: met, missed, no-data (the CSS class)
    note: str  #: "partial: probing began 3 Sep" when it began inside the month ("" otherwise)
    closed: bool = False  #: the month is closed: its figures are the frozen report's


@dataclass(frozen=True)
class HistoryRow:
    id: str
    name: str
    target: str
    timezone: str
    cells: tuple[HistoryCell, ...]


@dataclass(frozen=True)
class HistoryPage:
    title: str
    refresh: int
    updated: str
    vendors: tuple[HistoryRow, ...]


def history_page(
    config: Config,
    rows: Sequence[tuple[Vendor, Sequence[tuple[int, int]], Sequence[HistoryMonth]]],
    now: datetime,
    closed: frozenset[str] = frozenset(),
) -> HistoryPage:
    """The history page; ``closed`` are the closed months (``YYYY-MM``), whose ``rows`` hold
    the frozen figures."""
    out = []
    for vendor, months, kept in rows:
        cells = []
        this_month = month_of(vendor, now)
        for (year, month), h in zip(months, kept, strict=True):
            if not h.probed:
                verdict, key, shown = "no data", "no-data", "—"
            else:
                key = verdict = "met" if h.met else "missed"
                shown = pct_words(h.availability_pct)
                if (year, month) == this_month:
                    verdict += " so far"
            began = h.began
            cells.append(
                HistoryCell(
                    month=f"{date(year, month, 1):%b %Y}",
                    href=f"/vendor/{vendor.id}?month={year:04d}-{month:02d}",
                    availability=shown,
                    verdict=verdict,
                    key=key,
                    note=""
                    if began is None
                    else f"partial: probing began {began.day} {MONTH_NAMES[began.month - 1]}",
                    closed=f"{year:04d}-{month:02d}" in closed,
                )
            )
        out.append(
            HistoryRow(
                id=vendor.id,
                name=vendor.name,
                target=target_words(float(vendor.sla.target_pct)),
                timezone=vendor.timezone.key,
                cells=tuple(cells),
            )
        )
    return HistoryPage(
        title=config.web.title,
        refresh=int(config.web.refresh.total_seconds()),
        updated=updated_words(now, config),
        vendors=tuple(out),
    )
