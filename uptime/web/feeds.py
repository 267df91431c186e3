"""Feeds a calendar or a feed reader subscribes to: maintenance as iCalendar, interruptions and
maintenance as Atom.

* ``GET /maintenance.ics`` (every vendor) and ``/maintenance/{id}.ics`` (one vendor): RFC 5545.
  Each window occurrence is one VEVENT with DTSTART/DTEND in UTC: an exact instant needs no
  VTIMEZONE, and every client shows it on its own clock (the description names the window's
  wall-clock times and zone). Recurring windows are expanded over ``CALENDAR_BEHIND`` ..
  ``CALENDAR_AHEAD`` of now rather than written as an RRULE: a cron in a zone has no exact RRULE
  in general, an occurrence on a DST change day is shorter or longer than the others (RFC 5545
  would repeat the first one's length), and one partly in the skipped spring hour is left out,
  as the engine counts it. Each event's UID is its window's identity (vendor, source, name and
  start instant), so a refetch — or a later one, with the horizon moved on — updates the events
  a calendar has instead of duplicating them.
* ``GET /feed.atom``: RFC 4287, one entry per interruption of this and last month (every
  vendor, from ``app[MONTHS]``) and per window from ``FEED_BEHIND`` ago to ``UPCOMING`` ahead;
  ids are ``tag:`` URIs built from the same identities.

Rendering is pure (plain values in, bytes out); the handlers only gather the values. Text is
escaped for its format: TEXT values of iCalendar (``\\``, ``;``, ``,``, newlines) and XML text
(ElementTree), with characters neither format may carry dropped.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from aiohttp import web

from credits.intervals import ZERO, Interval
from credits.model import MaintenanceWindow, WindowKind
from credits.month import Observations, VendorMonth
from reports.context import minutes
from reports.maintenance import LOCAL
from uptime.config import Config, Vendor
from uptime.web.api import find_vendor
from uptime.web.keys import MONTHS, current_config
from uptime.web.months import month_of, months_back
from uptime.web.status import UPCOMING

#: How far back and ahead of now the calendar feeds expand windows.
CALENDAR_BEHIND = timedelta(days=30)
CALENDAR_AHEAD = timedelta(days=90)
#: How far back the Atom feed lists maintenance windows (ahead: ``UPCOMING``).
FEED_BEHIND = timedelta(days=30)

#: The tag URI authority of the Atom ids (RFC 4151: a name and a date).
TAG = "tag:uptime-ledger,2025:"

_ICS_TIME = "%Y%m%dT%H%M%SZ"
# Characters iCalendar TEXT (CONTROL but tab) and XML 1.0 may not carry.
_ICS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class VendorWindow(NamedTuple):
    """One window of one vendor, with what the feeds say of the vendor."""

    vendor: str
    vendor_name: str
    window: MaintenanceWindow


class FeedInterruption(NamedTuple):
    """One interruption (its parts of consecutive months joined), in exact lengths."""

    vendor: str
    vendor_name: str
    timezone: ZoneInfo
    interval: Interval
    scheduled: timedelta
    emergency: timedelta
    downtime: timedelta
    areas: tuple[str, ...]
    regions: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Identities


def window_key(vendor: str, window: MaintenanceWindow) -> str:
    """What identifies a window occurrence across fetches: its vendor, source, name and start
    instant (the name hashed: it may hold any text)."""
    name = hashlib.sha256(window.name.encode()).hexdigest()[:12]
    start = window.interval.start.astimezone(UTC).strftime(_ICS_TIME)
    return f"{vendor}/{window.source}/{name}/{start}"


def window_uid(vendor: str, window: MaintenanceWindow) -> str:
    """The iCalendar UID of a window occurrence."""
    return f"{window_key(vendor, window).replace('/', '-')}@uptime-ledger"


def interruption_id(interruption: FeedInterruption) -> str:
    start = interruption.interval.start.astimezone(UTC).strftime(_ICS_TIME)
    return f"{TAG}{interruption.vendor}/interruption/{start}"


# --------------------------------------------------------------------------------------------
# Words


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime(LOCAL)


def window_summary(item: VendorWindow) -> str:
    w = item.window
    kind = "emergency maintenance" if w.kind is WindowKind.EMERGENCY else "maintenance"
    return f"{item.vendor_name}: {kind}, {w.name}"


def window_description(item: VendorWindow) -> str:
    w = item.window
    lines = [
        f"{item.vendor_name} ({item.vendor}): {w.kind.value} maintenance, {w.source} window "
        f'"{w.name}".',
        f"From {_local(w.interval.start, w.timezone)} to {_local(w.interval.end, w.timezone)} "
        f"({w.timezone.key}), {minutes(w.interval.duration):g} minutes.",
    ]
    if w.announced_at is not None:
        lines.append(f"Announced {_local(w.announced_at, w.timezone)}.")
    if w.kind is WindowKind.EMERGENCY:
        lines.append("Announced with less notice than the contract requires: emergency.")
    return "\n".join(lines)


def interruption_title(item: FeedInterruption) -> str:
    length = minutes(item.interval.duration)
    return f"{item.vendor_name}: interruption, {length:g} min ({', '.join(item.areas)})"


def interruption_text(item: FeedInterruption) -> str:
    zone = item.timezone
    return "\n".join(
        [
            f"{item.vendor_name} ({item.vendor}) was down from "
            f"{_local(item.interval.start, zone)} to {_local(item.interval.end, zone)} "
            f"({zone.key}): {minutes(item.interval.duration):g} minutes.",
            f"Areas: {', '.join(item.areas)}. Regions: {', '.join(item.regions)}.",
            f"Inside scheduled maintenance: {minutes(item.scheduled):g} min; inside emergency "
            f"maintenance: {minutes(item.emergency):g} min; other downtime: "
            f"{minutes(item.downtime):g} min.",
        ]
    )


# --------------------------------------------------------------------------------------------
# iCalendar


def ics_text(text: str) -> str:
    """A TEXT value escaped (RFC 5545 §3.3.11)."""
    text = _ICS_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics_fold(line: str) -> str:
    """A content line folded to at most 75 octets per line (RFC 5545 §3.1), never inside a
    UTF-8 sequence."""
    parts: list[str] = []
    current, size = [], 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts)


def ics_calendar(name: str, windows: Iterable[VendorWindow], stamp: datetime) -> bytes:
    """An iCalendar object of ``windows``, as generated at ``stamp``."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//uptime-ledger//maintenance windows//EN",
        "CALSCALE:GREGORIAN",
        f"NAME:{ics_text(name)}",
        f"X-WR-CALNAME:{ics_text(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    utc = stamp.astimezone(UTC).strftime(_ICS_TIME)
    for item in windows:
        w = item.window
        emergency = w.kind is WindowKind.EMERGENCY
        lines += [
            "BEGIN:VEVENT",
            f"UID:{window_uid(item.vendor, w)}",
            f"DTSTAMP:{utc}",
            f"DTSTART:{w.interval.start.astimezone(UTC).strftime(_ICS_TIME)}",
            f"DTEND:{w.interval.end.astimezone(UTC).strftime(_ICS_TIME)}",
            f"SUMMARY:{ics_text(window_summary(item))}",
            f"DESCRIPTION:{ics_text(window_description(item))}",
            f"CATEGORIES:MAINTENANCE,{w.kind.value.upper()}",
            f"PRIORITY:{1 if emergency else 5}",
            "STATUS:CONFIRMED",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + "\r\n" for line in lines).encode()


def vendor_windows(vendors: Iterable[Vendor], period: Interval) -> list[VendorWindow]:
    """Every window of ``vendors`` overlapping ``period``, vendor by vendor in order of start."""
    return [VendorWindow(v.id, v.name, w) for v in vendors for w in v.windows(period)]


# --------------------------------------------------------------------------------------------
# Atom


class AtomEntry(NamedTuple):
    id: str
    title: str
    updated: datetime
    published: datetime
    content: str
    category: str


def _xml(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _atom_time(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom_feed(
    title: str, self_url: str, entries: Sequence[AtomEntry], generated: datetime
) -> bytes:
    """An Atom feed of ``entries``, newest first; its ``updated`` is the newest entry's (or
    ``generated`` when there is none)."""
    ordered = sorted(entries, key=lambda e: (e.updated, e.id), reverse=True)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = _xml(text)
        return element

    feed = ET.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    add(feed, "id", f"{TAG}feed")
    add(feed, "title", title)
    add(feed, "updated", _atom_time(ordered[0].updated if ordered else generated))
    add(feed, "link", rel="self", href=_xml(self_url))
    author = add(feed, "author")
    add(author, "name", title)
    add(feed, "generator", "uptime-ledger")
    for item in ordered:
        entry = add(feed, "entry")
        add(entry, "id", item.id)
        add(entry, "title", item.title)
        add(entry, "updated", _atom_time(item.updated))
        add(entry, "published", _atom_time(item.published))
        add(entry, "category", term=item.category)
        add(entry, "content", item.content, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def window_entry(item: VendorWindow) -> AtomEntry:
    """A window as a feed entry. A recurring window was never announced: it counts as
    published when it comes within ``UPCOMING`` of its start, as the status page shows it."""
    w = item.window
    published = w.announced_at or w.interval.start - UPCOMING
    return AtomEntry(
        id=f"{TAG}{window_key(item.vendor, w)}",
        title=window_summary(item),
        updated=published,
        published=published,
        content=window_description(item),
        category=f"maintenance-{w.kind.value}",
    )


def interruption_entry(item: FeedInterruption) -> AtomEntry:
    return AtomEntry(
        id=interruption_id(item),
        title=interruption_title(item),
        updated=item.interval.end,
        published=item.interval.start,
        content=interruption_text(item),
        category="interruption",
    )


def month_interruptions(month: VendorMonth, seen: Observations) -> list[FeedInterruption]:
    """A vendor-month's interruption parts as feed items (``Months.get``'s ``make``)."""
    vendor = month.vendor
    return [
        FeedInterruption(
            vendor.id,
            vendor.name,
            vendor.timezone,
            part.interval,
            part.buckets.scheduled,
            part.buckets.emergency,
            part.buckets.downtime,
            part.interruption.areas,
            part.interruption.regions,
        )
        for part in month.availability.parts
    ]


def joined(parts: Iterable[FeedInterruption]) -> list[FeedInterruption]:
    """One vendor's parts in order, an interruption's parts in consecutive months (the one ends
    where the next starts) joined into one."""
    out: list[FeedInterruption] = []
    for part in sorted(parts, key=lambda p: p.interval.start):
        last = out[-1] if out else None
        if last is not None and last.interval.end == part.interval.start:
            out[-1] = last._replace(
                interval=Interval(last.interval.start, part.interval.end),
                scheduled=last.scheduled + part.scheduled,
                emergency=last.emergency + part.emergency,
                downtime=last.downtime + part.downtime,
                areas=tuple(sorted({*last.areas, *part.areas})),
                regions=tuple(sorted({*last.regions, *part.regions})),
            )
        else:
            out.append(part)
    return [p for p in out if p.interval.duration > ZERO]


# --------------------------------------------------------------------------------------------
# Handlers


def _ics_response(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


async def get_calendar(request: web.Request) -> web.Response:
    """Every vendor's maintenance as iCalendar."""
    config = await current_config(request.app)
    return _ics_response(
        await _calendar(request, config, config.vendors, "all vendors"), "maintenance.ics"
    )


async def get_vendor_calendar(request: web.Request) -> web.Response:
    """One vendor's maintenance as iCalendar (an unknown vendor is 404)."""
    config = await current_config(request.app)
    vendor = find_vendor(config, request.match_info["vendor"])
    return _ics_response(
        await _calendar(request, config, [vendor], vendor.name), f"{vendor.id}.ics"
    )


async def _calendar(
    request: web.Request, config: Config, vendors: Sequence[Vendor], whose: str
) -> bytes:
    now = datetime.now(UTC)
    period = Interval(now - CALENDAR_BEHIND, now + CALENDAR_AHEAD)
    name = f"{config.web.title}: maintenance ({whose})"
    # Expanding every vendor's windows and writing them is CPU work (seconds for a window
    # every few minutes): off the event loop, which runs the probes and every other request.
    return await request.app[MONTHS].run(_calendar_body, name, vendors, period, now)


def _calendar_body(name: str, vendors: Sequence[Vendor], period: Interval, now: datetime) -> bytes:
    return ics_calendar(name, vendor_windows(vendors, period), now)


async def get_atom(request: web.Request) -> web.Response:
    """Interruptions of this and last month and maintenance of every vendor as Atom."""
    config, months = await current_config(request.app), request.app[MONTHS]
    now = datetime.now(UTC)
    wanted = [
        (vendor, year, month)
        for vendor in config.vendors
        for year, month in months_back(*month_of(vendor, now), 2)
    ]
    made = await months.get("feed-interruptions", month_interruptions, wanted, now)
    # Off the event loop, as the calendar (thousands of entries for a window every few minutes).
    body = await months.run(_atom_body, config, str(request.url), made, now)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


def _atom_body(
    config: Config, url: str, made: Sequence[list[FeedInterruption]], now: datetime
) -> bytes:
    by_vendor: dict[str, list[FeedInterruption]] = {}
    for parts in made:
        for part in parts:
            by_vendor.setdefault(part.vendor, []).append(part)
    entries = [interruption_entry(i) for parts in by_vendor.values() for i in joined(parts)]
    windows = vendor_windows(config.vendors, Interval(now - FEED_BEHIND, now + UPCOMING))
    entries += [window_entry(w) for w in windows]
    return atom_feed(config.web.title, url, entries, now)
