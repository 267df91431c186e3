"""The monthly report as a printable HTML page (and the PDF's source, ``reports.pdf_report``).

The page is for finance staff: a summary table of every vendor first, then one section per
vendor (each starting a printed page) with the month's minutes, the formula with the month's
numbers written in, the credit and how it was computed, an SVG timeline of the month, each
interruption with its local and UTC times and claim deadline, the exclusions with their reasons
and the maintenance windows; the footer says whether the month is closed, with its SHA-256.

:func:`page` turns the month's context into plain words and figures (times on the vendor's
clock with the zone named, money with its currency, minutes and percentages exactly as the JSON
report prints them); ``templates/report.html`` only prints them (jinja2, autoescaped). Print CSS
fits A4 and Letter (``@page`` margin boxes number the pages); the same page reads on a 375 px
phone screen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from reports.claims import claim_of
from reports.context import MonthContext, VendorContext
from reports.words import FULL_MONTH_NAMES, clock, day_words, figure, money, period_zone_words

if TYPE_CHECKING:
    from uptime.store.finance import ClaimMark

TEMPLATES = jinja2.Environment(
    # Beside this file, not PackageLoader("reports"): a folder named reports/ in the current
    # directory (where reports are written) would be taken for the package's namespace part.
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: Paper the printed page is laid out for: ``auto`` lets the printer's paper decide.
Paper = Literal["auto", "a4", "letter"]
PAPER_SIZES: dict[str, str] = {"auto": "auto", "a4": "A4", "letter": "letter"}


class SummaryRow(NamedTuple):
    anchor: str
    name: str
    availability: str
    target: str
    met: str
    credit: str
    deadline: tuple[str, str]
    overdue: bool


class MinutesRow(NamedTuple):
    letter: str
    label: str
    value: str


class InterruptionRow(NamedTuple):
    number: int
    local: tuple[str, str]
    utc: tuple[str, str]
    minutes: str
    scheduled: str
    emergency: str
    downtime: str
    unmonitored: str
    areas: str
    regions: str
    deadline: tuple[str, str]
    overdue: bool


class ExclusionRow(NamedTuple):
    span: tuple[str, str]
    utc: tuple[str, str]
    reason: str
    minutes: str
    recorded: str


class WindowRow(NamedTuple):
    span: tuple[str, str]
    kind: str
    name: str
    announced: str


class Bar(NamedTuple):
    """A span on the SVG timeline: ``x`` and ``width`` in the plot's units, its lane's kind,
    the number written on it (an interruption's row number, else empty) and its words."""

    x: float
    width: float
    kind: str
    mark: str
    label: str

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)


class Tick(NamedTuple):
    x: float
    label: str


class Timeline(NamedTuple):
    windows: tuple[Bar, ...]
    interruptions: tuple[Bar, ...]
    exclusions: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    label: str


class VendorSection(NamedTuple):
    anchor: str
    name: str
    vendor: str
    period: str
    verdict: str
    met: bool
    minutes: tuple[MinutesRow, ...]
    formula: tuple[str, ...]
    notes: tuple[str, ...]
    credit: tuple[str, ...]
    credit_amount: str
    timeline: Timeline
    zone: str
    interruptions: tuple[InterruptionRow, ...]
    exclusions: tuple[ExclusionRow, ...]
    windows: tuple[WindowRow, ...]


class Page(NamedTuple):
    title: str
    month: str
    generated: str
    printed: str
    page_size: str
    summary: tuple[SummaryRow, ...]
    vendors: tuple[VendorSection, ...]
    closed: str
    sha256: str | None
    changes: tuple[str, ...]


def escape(text: str) -> str:
    """``text`` with the entities jinja2's autoescape writes (markupsafe's, for ``& < > ' "``),
    as a plain ``str``: making a ``Markup`` of each value was most of the page's time."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


# The interruptions' markup: a thousand vendors have 30,000 of them, and jinja2 took ~2 s to
# escape and write their table rows and timeline bars (20 values each, a Markup object per
# value); these two functions, with jinja2's loops around them, ~0.6 s (docs/benchmarks.md).
# The rest of the page, and the tables' headers, are in templates/report.html.
_INTERRUPTION_ROW = (
    '<tr><td>{}</td><td><span class="when">{}</span> <span class="when">{}</span></td>'
    '<td><span class="when">{}</span> <span class="when">{}</span></td><td class="num">{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'
    '<td>{}</td><td>{}</td><td{}>{}<br><span class="note">{}</span></td></tr>'
)
_INTERRUPTION_BAR = (
    '<rect class="k-{}" x="{}" y="46" width="{}" height="22"><title>{}</title></rect>'
    '<text class="mark" x="{}" y="43">{}</text>'
)


def interruption_row(row: InterruptionRow) -> Markup:
    """One ``<tr>`` of a vendor's interruptions table, every text escaped."""
    texts = (
        *row.local,
        *row.utc,
        row.minutes,
        row.scheduled,
        row.emergency,
        row.downtime,
        row.unmonitored,
        row.areas,
        row.regions,
    )
    overdue = ' class="overdue"' if row.overdue else ""
    deadline = (escape(text) for text in row.deadline)
    return Markup(_INTERRUPTION_ROW.format(row.number, *map(escape, texts), overdue, *deadline))


def interruption_bar(bar: Bar) -> Markup:
    """An interruption's bar on the SVG timeline, with its words and its number above it, every
    text escaped."""
    kind, label, mark = (escape(text) for text in (bar.kind, bar.label, bar.mark))
    return Markup(_INTERRUPTION_BAR.format(kind, bar.x, bar.width, label, bar.middle, mark))


def interruption_rows(rows: Sequence[InterruptionRow]) -> Markup:
    """A vendor's interruptions table body: one call per table, not per row (jinja2's loop
    and a Markup per row were a tenth of the page's time)."""
    return Markup("\n".join(map(interruption_row, rows)))


def interruption_bars(bars: Sequence[Bar]) -> Markup:
    """A vendor's interruption bars on its timeline, as :func:`interruption_rows`."""
    return Markup("\n".join(map(interruption_bar, bars)))


# Every vendor on one zone has the same ticks (day_ticks): their markup is made once.
@functools.lru_cache(maxsize=64)
def day_ticks_svg(ticks: tuple[Tick, ...]) -> Markup:
    """The month's day ticks along the bottom of a timeline, each day's number on every 7th."""
    parts = []
    for tick in ticks:
        parts.append(
            f'<line x1="{tick.x}" y1="104" x2="{tick.x}" y2="{112 if tick.label else 108}" '
            'stroke="#505a5f"/>'
        )
        if tick.label:
            parts.append(
                f'<text x="{tick.x}" y="125" text-anchor="middle">{escape(tick.label)}</text>'
            )
    return Markup("\n".join(parts))


TEMPLATES.filters["interruption_rows"] = interruption_rows
TEMPLATES.filters["interruption_bars"] = interruption_bars
TEMPLATES.filters["day_ticks_svg"] = day_ticks_svg


def render(month: MonthContext, paper: Paper = "auto") -> bytes:
    """The month's report as one self-contained HTML page (UTF-8), for ``paper``."""
    return TEMPLATES.get_template("report.html").render(page=page(month, paper)).encode()


# --- figures as people read them ------------------------------------------------------------


def pct(value: float) -> str:
    """A percentage exactly as the JSON report has it, without trailing zeros: ``94.543651 %``,
    ``95 %``, ``100 %``."""
    return f"{Decimal(repr(value)).normalize():f} %"


def decimal_pct(value: Decimal) -> str:
    return f"{value.normalize():f} %"


def moment(at: datetime, seconds: bool = True, year: bool = True) -> str:
    """``Tue 4 Feb 2025, 10:00pm PST``: the abbreviation only (the section names the zone)."""
    return f"{day_words(at.date(), year)}, {clock(at, seconds)} {at.tzname()}"


def span_parts(start: datetime, end: datetime) -> tuple[str, str]:
    """``Tue 4 Feb 2025, 10:00pm`` and ``to Wed 5 Feb 2025, 2:00am PST``: the day once when it
    is one, both abbreviations when the clock changed in between (a table prints the two on
    two lines)."""
    first = f"{day_words(start.date())}, {clock(start, True)}"
    if start.tzname() != end.tzname():
        first += f" {start.tzname()}"
    if end.date() == start.date():
        last = clock(end, True)
    else:
        last = f"{day_words(end.date())}, {clock(end, True)}"
    return first, f"to {last} {end.tzname()}"


def span(start: datetime, end: datetime) -> str:
    """``Tue 4 Feb 2025, 10:00pm to Wed 5 Feb 2025, 2:00am PST``."""
    return " ".join(span_parts(start, end))


def utc_parts(start: datetime, end: datetime) -> tuple[str, str]:
    return span_parts(start.astimezone(UTC), end.astimezone(UTC))


def deadline_words(deadline: date, as_of: date, due: bool) -> tuple[tuple[str, str], bool]:
    """The claim deadline against ``as_of`` (the day the report is printed, on the vendor's
    clock), and whether it is overdue: passed while a credit is ``due`` (a month with nothing
    to claim has nothing overdue): ``Fri 7 Feb 2025``, ``OVERDUE: passed 3 days ago``."""
    days = (as_of - deadline).days
    if days > 0 and due:
        return (day_words(deadline), f"OVERDUE: passed {_days(days)} ago"), True
    if days > 0:
        return (day_words(deadline), "passed; no credit due"), False
    if days == 0:
        return (day_words(deadline), "due today"), False
    return (day_words(deadline), f"due in {_days(-days)}"), False


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def verdict(vendor: VendorContext) -> str:
    outcome = "target met" if vendor.met else "target missed"
    return f"{pct(vendor.availability_pct)} against a target of {pct(vendor.target_pct)}: {outcome}"


def formula(vendor: VendorContext) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``A = (T − M − D − E) / T`` with the month's numbers and the result; ``M`` left out
    when maintenance is excluded, ``T`` less the unmonitored minutes under ``unmonitored:
    exclude`` (docs/contract-rules.md)."""
    m = vendor.minutes
    counts = vendor.maintenance == "counts"
    blind_out = vendor.unmonitored_policy == "exclude"
    t = m.total - m.unmonitored if blind_out else m.total
    t_text = figure(t)
    terms = ([("M", m.scheduled)] if counts else []) + [("D", m.downtime), ("E", m.emergency)]
    letters = " − ".join(["T", *(k for k, _ in terms)])
    numbers = " − ".join([t_text, *(figure(v) for _, v in terms)])
    lines = (
        f"A = ({letters}) / T × 100 %",
        f"= ({numbers}) / {t_text} × 100 %",
        f"= {pct(vendor.availability_pct)}",
    )
    notes = []
    if not counts:
        notes.append(
            f"Maintenance is excluded under this contract: the {figure(m.scheduled)} min down "
            "inside scheduled windows (M) are reported, not subtracted."
        )
    if blind_out:
        notes.append(
            f"T is {figure(m.total)} min less the {figure(m.unmonitored)} min no probe site "
            "could see (unmonitored: exclude)."
        )
    elif m.unmonitored:
        counted = "counted as down" if vendor.unmonitored_policy == "as_down" else "not downtime"
        notes.append(f"{figure(m.unmonitored)} min no probe site could see are {counted}.")
    if m.excluded:
        notes.append(f"{figure(m.excluded)} min excluded by the district are not counted.")
    return lines, tuple(notes)


def credit_lines(vendor: VendorContext) -> tuple[str, ...]:
    """How the credit was computed, in words with the month's figures."""
    c = vendor.credit
    amount = money(c.amount, c.currency)
    if c.kind == "none":
        return (f"No service credit: {c.reason}.",)
    lines = []
    days = vendor.minutes.total // 1440
    if c.monthly_fee is not None:
        lines.append(f"Monthly fee: {money(c.monthly_fee, c.currency)}.")
    if c.kind == "full_hours":
        rounding = {
            "month": "full hours of the month's counted downtime",
            "incident": "full hours of each interruption, added up",
        }.get(c.rounding or "", c.rounding or "")
        scope = {
            "all": "every full hour once the target is missed",
            "excess": "only the hours beyond the month's allowance",
        }.get(c.scope or "", c.scope or "")
        lines.append(f"Rule: {decimal_pct(c.percent_per_hour or Decimal(0))} of the hourly fee")
        lines[-1] += f" for {scope}, counting {rounding}."
        if c.hourly_fee is not None and c.monthly_fee is not None:
            lines.append(
                f"Hourly fee: {money(c.monthly_fee, c.currency)} / ({days} days × 24 h) = "
                f"{money(c.hourly_fee, c.currency)}."
            )
    elif c.kind == "tiers":
        if c.band is None:
            lines.append("Band: availability is below no credit band.")
        else:
            lines.append(
                f"Band: availability {pct(vendor.availability_pct)} is below "
                f"{decimal_pct(c.band.below_pct)}: {decimal_pct(c.band.credit_pct)} of the "
                "monthly fee."
            )
    if c.cap is not None:
        state = "the amount was cut to it" if c.capped else "not reached"
        lines.append(f"Cap: {money(c.cap, c.currency)} a month; {state}.")
    if c.reason is not None:
        lines.append(f"No credit is due: {c.reason}.")
    elif c.kind == "full_hours" and c.hourly_fee is not None:
        per_hour = decimal_pct(c.percent_per_hour or Decimal(0))
        capped = f", capped at {amount}" if c.capped else f" = {amount}"
        lines.append(
            f"Credit: {c.hours} h × {money(c.hourly_fee, c.currency)} × {per_hour}{capped}."
        )
    else:
        lines.append(f"Credit: {amount}.")
    return tuple(lines)


# --- the timeline ---------------------------------------------------------------------------

#: The plot's width in SVG units (the lanes' labels are left of it).
PLOT_WIDTH = 1000.0


def _placer(period_start: datetime, period_end: datetime) -> Callable[[datetime], float]:
    start = period_start.timestamp()  # POSIX seconds: elapsed time, whatever the zone
    scale = PLOT_WIDTH / (period_end.timestamp() - start)

    def x(at: datetime) -> float:
        return round(min(max((at.timestamp() - start) * scale, 0.0), PLOT_WIDTH), 2)

    return x


def _bar(
    x: Callable[[datetime], float], start: datetime, end: datetime, kind: str, mark: str, label: str
) -> Bar:
    left, right = x(start), x(end)
    return Bar(left, max(right - left, 1.5), kind, mark, label)


def interruption_kind(scheduled: float, emergency: float, downtime: float) -> str:
    """The bucket an interruption's minutes fell in, ``mixed`` when in more than one."""
    if (scheduled > 0) + (emergency > 0) + (downtime > 0) > 1:
        return "mixed"
    if scheduled:
        return "scheduled"
    if emergency:
        return "emergency"
    return "downtime" if downtime else "excluded"


def timeline(vendor: VendorContext, spans: Sequence[tuple[str, str]]) -> Timeline:
    """The month on one axis: windows, interruptions (numbered as in the table) and
    exclusions, each lane labelled, each bar with its words (``spans``: the interruptions'
    local times, as the table writes them); a tick at each local midnight, the day's number on
    every 7th."""
    x = _placer(vendor.period_start, vendor.period_end)
    windows = tuple(
        _bar(x, w.start, w.end, w.kind, "", f"{w.kind} window {w.name}: {span(w.start, w.end)}")
        for w in vendor.windows
    )
    interruptions = tuple(
        _bar(
            x,
            i.start,
            i.end,
            kind := interruption_kind(i.scheduled, i.emergency, i.downtime),
            str(n),
            f"#{n} {kind}, {figure(i.minutes)} min: {' '.join(words)}",
        )
        for n, (i, words) in enumerate(zip(vendor.interruptions, spans, strict=True), 1)
    )
    exclusions = tuple(
        _bar(x, e.start, e.end, "excluded", "", f"excluded ({e.reason}): {span(e.start, e.end)}")
        for e in vendor.exclusions
    )
    count = len(vendor.interruptions)
    label = (
        f"Timeline of {_month_words(vendor.period_start)} for {vendor.name}: "
        f"{count} interruption{'' if count == 1 else 's'}, {len(windows)} maintenance "
        f"window{'' if len(windows) == 1 else 's'}, {len(exclusions)} "
        f"exclusion{'' if len(exclusions) == 1 else 's'}."
    )
    ticks = day_ticks(vendor.period_start, vendor.period_end, vendor.timezone)
    return Timeline(windows, interruptions, exclusions, ticks, label)


# Every vendor on one zone has the same month's days: made once, not a thousand times.
@functools.lru_cache(maxsize=64)
def day_ticks(period_start: datetime, period_end: datetime, timezone: str) -> tuple[Tick, ...]:
    """A tick at each local midnight of the period, the day's number on every 7th."""
    x = _placer(period_start, period_end)
    zone = ZoneInfo(timezone)
    ticks = []
    day = period_start.date()
    while (midnight := datetime.combine(day, datetime.min.time(), zone)) < period_end:
        ticks.append(Tick(x(midnight), str(day.day) if day.day % 7 == 1 else ""))
        day += timedelta(days=1)
    return tuple(ticks)


# --- the page -------------------------------------------------------------------------------


def _month_words(start: datetime) -> str:
    return f"{FULL_MONTH_NAMES[start.month - 1]} {start.year}"


def vendor_section(vendor: VendorContext, as_of: datetime) -> VendorSection:
    """One vendor's part of the page."""
    m = vendor.minutes
    today = as_of.astimezone(ZoneInfo(vendor.timezone)).date()
    due = vendor.credit.amount > 0
    rows = []
    for n, i in enumerate(vendor.interruptions, 1):
        deadline, overdue = deadline_words(i.claim_deadline, today, due)
        rows.append(
            InterruptionRow(
                n,
                span_parts(i.start, i.end),
                utc_parts(i.start, i.end),
                figure(i.minutes),
                figure(i.scheduled),
                figure(i.emergency),
                figure(i.downtime),
                figure(i.unmonitored),
                ", ".join(i.areas) or "none seen",
                ", ".join(i.regions) or "none",
                deadline,
                overdue,
            )
        )
    lines, notes = formula(vendor)
    return VendorSection(
        anchor=f"vendor-{vendor.vendor}",
        name=vendor.name,
        vendor=vendor.vendor,
        period=f"{span(vendor.period_start, vendor.period_end)} ({vendor.timezone})",
        verdict=verdict(vendor),
        met=vendor.met,
        minutes=(
            MinutesRow("T", "minutes in the month (days × 1,440)", figure(m.total)),
            MinutesRow("M", "down inside scheduled maintenance", figure(m.scheduled)),
            MinutesRow("D", "other downtime", figure(m.downtime)),
            MinutesRow("E", "down inside emergency maintenance", figure(m.emergency)),
            MinutesRow("", "excluded by the district", figure(m.excluded)),
            MinutesRow("", "unmonitored (no probe site could see)", figure(m.unmonitored)),
        ),
        formula=lines,
        notes=notes,
        credit=credit_lines(vendor),
        credit_amount=money(vendor.credit.amount, vendor.credit.currency),
        timeline=timeline(vendor, [row.local for row in rows]),
        zone=period_zone_words(vendor.period_start, vendor.period_end),
        interruptions=tuple(rows),
        exclusions=tuple(
            ExclusionRow(
                span_parts(e.start, e.end),
                utc_parts(e.start, e.end),
                e.reason,
                figure(e.minutes),
                "maintenance_windows.yaml"
                if e.id is None
                else f"#{e.id}" + (f" by {e.by}" if e.by else ""),
            )
            for e in vendor.exclusions
        ),
        windows=tuple(
            WindowRow(
                span_parts(w.start, w.end),
                w.kind,
                w.name,
                "recurring" if w.announced_at is None else moment(w.announced_at, year=True),
            )
            for w in vendor.windows
        ),
    )


def summary_row(
    vendor: VendorContext, month: str, as_of: datetime, mark: ClaimMark | None = None
) -> SummaryRow:
    """A vendor's line of the summary: its deadline is its claim's, as ``uptime-ledger claims``
    lists it (the earliest ticket deadline still open, else the earliest passed one)."""
    today = as_of.astimezone(ZoneInfo(vendor.timezone)).date()
    claim = claim_of(vendor, month, mark, today)
    if claim is not None and claim.mark is not None:
        day = "none" if claim.deadline is None else day_words(claim.deadline)
        deadline, overdue = (day, f"claim {claim.status}"), False
    elif claim is not None and claim.deadline is not None:
        deadline, overdue = deadline_words(claim.deadline, today, claim.amount > 0)
    else:
        earliest = min((i.claim_deadline for i in vendor.interruptions), default=None)
        deadline = ("none", "") if earliest is None else (day_words(earliest), "nothing to claim")
        overdue = False
    return SummaryRow(
        anchor=f"vendor-{vendor.vendor}",
        name=vendor.name,
        availability=pct(vendor.availability_pct),
        target=pct(vendor.target_pct),
        met="yes" if vendor.met else "NO",
        credit=money(vendor.credit.amount, vendor.credit.currency),
        deadline=deadline,
        overdue=overdue,
    )


def closed_words(month: MonthContext) -> tuple[str, str | None]:
    if month.closed is None:
        return (
            f"{month.label} is not closed: its figures may still change (late results, "
            "exclusions, announced maintenance).",
            None,
        )
    at = month.closed.closed_at.astimezone(UTC)
    return (
        f"{month.label} was closed on {day_words(at.date())}, {clock(at)} UTC by "
        f"{month.closed.by}; these are its frozen figures.",
        month.closed.sha256,
    )


def page(month: MonthContext, paper: Paper = "auto") -> Page:
    """The whole page as plain values."""
    vendors: Sequence[VendorContext] = month.vendors
    as_of = month.as_of
    generated = month.generated_at.astimezone(UTC)
    printed = as_of.astimezone(UTC)
    closed, sha256 = closed_words(month)
    label = _month_words(datetime(month.year, month.month, 1))
    return Page(
        title=f"Availability and service credits, {label}",
        month=label,
        generated=f"{day_words(generated.date())}, {clock(generated)} UTC",
        printed=f"{day_words(printed.date())}, {clock(printed)} UTC",
        page_size=PAPER_SIZES[paper],
        summary=tuple(
            summary_row(v, month.label, as_of, month.marks.get(v.vendor)) for v in vendors
        ),
        vendors=tuple(vendor_section(v, as_of) for v in vendors),
        closed=closed,
        sha256=sha256,
        changes=month.changes_since_close,
    )
