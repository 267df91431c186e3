"""The feeds over a seeded database on a live server: iCalendar parsed back with the
``icalendar`` package (line endings, folding, escaping, UTC times, DST-day lengths, UIDs stable
across fetches), Atom parsed back with ElementTree (ids, escaping)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from support_api import (
    HOSTILE_AREA,
    HOSTILE_NAME,
    HOSTILE_NOTE,
    HOSTILE_WINDOW,
    Served,
    fetch,
    serve,
    write_config,
)

from credits.intervals import Interval
from uptime.web.feeds import ics_calendar, ics_fold, ics_text, vendor_windows

ServerFactory = Callable[..., Awaitable[TestServer]]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def served(aiohttp_server: ServerFactory, tmp_path: Path) -> Served:
    return await serve(aiohttp_server, tmp_path)


async def get_ics(served: Served, path: str) -> tuple[bytes, icalendar.Calendar]:
    status, content_type, body = await fetch(served.url(path))
    assert (status, content_type) == (200, "text/calendar"), body
    return body, icalendar.Calendar.from_ical(body)


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


def test_lines_are_crlf_and_folded_at_75_octets_in_utf8() -> None:
    line = "DESCRIPTION:" + "é€😀," * 40
    folded = ics_fold(line)
    physical = folded.encode().split(b"\r\n")
    assert all(len(p) <= 75 for p in physical) and len(physical) > 3
    for p in physical:
        p.decode()  # never cut inside a character
    assert all(p.startswith(b" ") for p in physical[1:])
    assert folded.replace("\r\n ", "") == line


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\n,;\\")))
def test_text_escaping_and_folding_round_trip_through_icalendar(text: str) -> None:
    line = ics_fold(f"SUMMARY:{ics_text(text)}")
    calendar = icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n")
    assert str(calendar["SUMMARY"]) == text


async def test_calendar_of_every_vendor(served: Served) -> None:
    first, calendar = await get_ics(served, "/maintenance.ics")
    again, _ = await get_ics(served, "/maintenance.ics")
    assert first.endswith(b"\r\n") and b"\n" not in first.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in first.split(b"\r\n"))
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    found = events(calendar)
    uids = [str(e["UID"]) for e in found]
    assert len(uids) == len(set(uids)), "UIDs must be unique"
    # A refetch gives the same events under the same UIDs (only DTSTAMP moves).
    assert uids == [str(e["UID"]) for e in events(icalendar.Calendar.from_ical(again))]
    for event in found:
        assert event.decoded("DTSTART").tzinfo is not None
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert event.decoded("DTEND") > event.decoded("DTSTART")
        assert event["DTSTAMP"]
    # The horizon: 30 days back, 90 ahead; acme's weekly window in each week of it.
    weekly = [e for e in found if HOSTILE_WINDOW in str(e["SUMMARY"])]
    assert 16 <= len(weekly) <= 18
    starts = [e.decoded("DTSTART") for e in found]
    now = datetime.now(UTC)
    assert min(starts) >= now - timedelta(days=31) and max(starts) <= now + timedelta(days=90)


async def test_calendar_events_are_the_api_windows(served: Served) -> None:
    _, calendar = await get_ics(served, "/maintenance/acme.ics")
    _, _, body = await fetch(served.url("/api/v1/vendors/acme/maintenance"))
    windows = json.loads(body)["windows"]
    by_start = {e.decoded("DTSTART"): e for e in events(calendar)}
    for window in windows:
        event = by_start[datetime.fromisoformat(window["start_utc"])]
        assert event.decoded("DTEND") == datetime.fromisoformat(window["end_utc"])
        assert window["name"] in str(event["SUMMARY"])
        assert str(event["UID"]).startswith("acme-")


async def test_calendar_escapes_text_and_marks_emergencies(served: Served) -> None:
    raw, calendar = await get_ics(served, "/maintenance/acme.ics")
    found = {str(e["SUMMARY"]): e for e in events(calendar)}
    upgrade = found[f"{HOSTILE_NAME}: maintenance, {HOSTILE_NOTE}"]
    assert HOSTILE_NOTE in str(upgrade["DESCRIPTION"])
    assert "CATEGORIES" in upgrade and "SCHEDULED" in upgrade["CATEGORIES"].cats
    unfolded = raw.decode().replace("\r\n ", "")
    assert (
        'SUMMARY:Acme <script>alert("x")</script> & Co\\; a\\, b \\\\ c: maintenance\\, '
        "DB <upgrade> & reboot\\; phase 1\\, part 2\\nsecond line\r\n"
    ) in unfolded
    hotfix = found[f"{HOSTILE_NAME}: emergency maintenance, Hotfix"]
    assert hotfix["CATEGORIES"].cats == ["MAINTENANCE", "EMERGENCY"]
    assert hotfix["PRIORITY"] == 1
    assert "emergency" in str(hotfix["DESCRIPTION"]).lower()
    assert (
        '\r\nNAME:District services status: maintenance (Acme <script>alert("x")</script> & '
        "Co\\; a\\, b \\\\ c)\r\n"
    ) in unfolded


async def test_one_vendor_calendar_has_only_its_windows(served: Served) -> None:
    _, calendar = await get_ics(served, "/maintenance/bravo.ics")
    assert all(str(e["UID"]).startswith("bravo-") for e in events(calendar))
    status, _, body = await fetch(served.url("/maintenance/nobody.ics"))
    assert status == 404 and b"unknown vendor" in body


@pytest.mark.parametrize(
    ("name", "start", "minutes"),
    [
        ("Spring", datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 180),
        ("Autumn", datetime(2026, 10, 24, 23, 0, tzinfo=UTC), 300),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_window_on_a_dst_day_has_its_own_length(
    tmp_path: Path, name: str, start: datetime, minutes: int
) -> None:
    config = write_config(tmp_path, datetime.now(UTC))
    period = Interval(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    body = ics_calendar("x", vendor_windows([config.vendor("bravo")], period), period.start)
    found = {str(e["SUMMARY"]): e for e in events(icalendar.Calendar.from_ical(body))}
    event = found[f"Bravo: maintenance, {name}"]
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=minutes)
    assert "Europe/London" in str(event["DESCRIPTION"])


def test_an_occurrence_keeps_its_uid_as_the_horizon_moves(tmp_path: Path) -> None:
    config = write_config(tmp_path, datetime.now(UTC))
    acme = config.vendor("acme")
    now = datetime.now(UTC)
    early = Interval(now - timedelta(days=30), now + timedelta(days=90))
    later = Interval(now + timedelta(days=10), now + timedelta(days=130))

    def uids(period: Interval) -> dict[datetime, str]:
        body = ics_calendar("x", vendor_windows([acme], period), now)
        return {
            e.decoded("DTSTART"): str(e["UID"]) for e in events(icalendar.Calendar.from_ical(body))
        }

    before, after = uids(early), uids(later)
    shared = set(before) & set(after)
    assert len(shared) >= 10
    assert all(before[start] == after[start] for start in shared)


async def get_atom(served: Served) -> tuple[bytes, ET.Element]:
    status, content_type, body = await fetch(served.url("/feed.atom"))
    assert (status, content_type) == (200, "application/atom+xml"), body
    return body, ET.fromstring(body)


async def test_atom_feed(served: Served) -> None:
    raw, feed = await get_atom(served)
    again, _ = await get_atom(served)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id", "").startswith("tag:")
    assert datetime.fromisoformat(feed.findtext(f"{ATOM}updated", ""))
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id", "") for e in entries]
    assert len(ids) == len(set(ids)) and all(i.startswith("tag:") for i in ids)
    assert ids == [e.findtext(f"{ATOM}id") for e in ET.fromstring(again).findall(f"{ATOM}entry")]
    for entry in entries:
        assert entry.findtext(f"{ATOM}title") and entry.findtext(f"{ATOM}content")
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated", ""))
    by_category: dict[str, list[ET.Element]] = {}
    for entry in entries:
        term = entry.find(f"{ATOM}category").get("term")  # type: ignore[union-attr]
        by_category.setdefault(term, []).append(entry)
    # One interruption: acme's; bravo's Atlanta-only failure is an advisory, not counted.
    [interruption] = by_category["interruption"]
    start = served.outage.start.strftime("%Y%m%dT%H%M%SZ")
    assert interruption.findtext(f"{ATOM}id") == f"tag:uptime-ledger,2025:acme/interruption/{start}"
    assert interruption.findtext(f"{ATOM}title") == (
        f"{HOSTILE_NAME}: interruption, 30 min ({HOSTILE_AREA})"
    )
    content = interruption.findtext(f"{ATOM}content", "")
    assert "30 minutes" in content and "America/New_York" in content
    assert "atlanta, california, chicago" in content
    [hotfix] = by_category["maintenance-emergency"]
    assert hotfix.findtext(f"{ATOM}title") == f"{HOSTILE_NAME}: emergency maintenance, Hotfix"
    titles = [e.findtext(f"{ATOM}title") for e in by_category["maintenance-scheduled"]]
    assert f"{HOSTILE_NAME}: maintenance, {HOSTILE_NOTE}" in titles
    # Markup in names, areas and notes is text, never markup.
    assert b"<script>" not in raw and b"<b>" not in raw and b"<upgrade>" not in raw
    assert b"&lt;script&gt;" in raw and b"&amp;amp;" in raw
