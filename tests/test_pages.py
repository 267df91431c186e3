"""The pages over real HTTP (``aiohttp_server``) and a database seeded through the ingest path:
the figures they print, the errors they answer, and HTML escaped on every one."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from support_pages import EVIL, REGIONS, Seeded, seed

from credits.availability import days_in_month, month_period
from credits.days import local_day
from credits.intervals import MINUTE, clip, length, ratio
from probes.result import ProbeResult
from uptime.config import load_config
from uptime.probing.jobs import stale_limits
from uptime.store.storage import Storage
from uptime.web.app import make_app
from uptime.web.keys import RECORDER
from uptime.web.months import month_of
from uptime.web.page_context import moment_words, number, pct_words
from uptime.web.pages import Sections, status_html, status_page_at

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path)


@pytest.fixture
async def get(
    aiohttp_server: ServerFactory, seeded: Seeded
) -> AsyncIterator[Callable[[str], Awaitable[tuple[int, str]]]]:
    server = await aiohttp_server(make_app(seeded.config, seeded.db, probe_regions=()))

    async with ClientSession() as session:

        async def fetch(path: str) -> tuple[int, str]:
            async with session.get(server.make_url(path)) as response:
                assert response.content_type == "text/html" or path.endswith(".css")
                return response.status, await response.text()

        yield fetch


def text_of(page: str) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded, spaces joined)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def counted_minutes(seeded: Seeded, year: int, month: int) -> Fraction:
    zone = seeded.config.vendor("classswift").timezone
    return ratio(length(clip([seeded.outage], month_period(year, month, zone))), MINUTE)


async def test_status_page_shows_the_month_to_date_and_the_allowance(get, seeded: Seeded) -> None:
    status, page = await get("/")
    assert status == 200
    assert '<meta http-equiv="refresh" content="60">' in page
    shown = text_of(page)
    assert "Last updated" in shown
    year, month = month_of(seeded.config.vendor("classswift"), seeded.now)
    total = days_in_month(year, month) * 1440
    counted = counted_minutes(seeded, year, month)
    allowance = Fraction(total) * Fraction(5, 100)
    card = text_of(page.split('id="vendor-classswift"')[1].split("</section>")[0])
    assert f"{pct_words((total - counted) / total * 100)} this month so far" in card
    assert f"{number(allowance - counted)} min of {number(allowance)} left this month" in card
    assert "meets its 95 % target" in card
    # The outage day's bar: 150 minutes counted, one interruption.
    outage_day = seeded.outage.start.astimezone(seeded.config.vendor("classswift").timezone)
    label = re.search(
        rf'aria-label="({outage_day:%a} {outage_day.day} {outage_day:%b %Y}: [^"]*)"', page
    )
    assert label is not None
    day = local_day(outage_day.date(), outage_day.tzinfo)  # type: ignore[arg-type]
    down = length(clip([seeded.outage], day))
    day_pct = pct_words(ratio(day.duration - down, day.duration) * 100)
    assert label[1].startswith(f"{label[1].split(':')[0]}: {day_pct}, 1 interruption")
    assert label[1].endswith("major outage")
    assert "2 h 30 min" in card and "Atlanta, GA only" in card and "Not counted" in card
    # Every vendor's state in words.
    for vendor, word in (
        ("classswift", "Up"),
        ("collab", "Maintenance"),
        ("schoolstatus", "Down"),
        ("itopia", "Unknown"),
    ):
        head = page.split(f'id="vendor-{vendor}"')[1].split("</div>")[0]
        assert f"</span> {word}</span>" in head, vendor


async def test_vendor_page_writes_the_formula_with_the_month_s_numbers(get, seeded: Seeded) -> None:
    zone = seeded.config.vendor("classswift").timezone
    local = seeded.outage.start.astimezone(zone)
    status, page = await get(f"/vendor/classswift?month={local:%Y-%m}")
    assert status == 200
    total = days_in_month(local.year, local.month) * 1440
    counted = counted_minutes(seeded, local.year, local.month)
    shown = text_of(page)
    assert "A = (T − M − D − E) / T" in shown
    assert f"= ({total:,} − 0 − {number(counted)} − 0) / {total:,}" in shown
    assert f"= {pct_words((total - counted) / total * 100)}" in shown
    assert page.count('role="img"') == 3  # a timeline per region
    assert f'id="day-{local:%Y-%m-%d}"' in page  # where the day bar links to
    # Maintenance excluded: no M in the formula, the reason said.
    status, page = await get("/vendor/collab")
    assert status == 200
    assert "A = (T − D − E) / T" in text_of(page)
    assert "Maintenance is excluded under this contract" in text_of(page)
    assert 'class="tl-window"' in page


async def test_history_shows_twelve_months_against_the_target(get, seeded: Seeded) -> None:
    status, page = await get("/history")
    assert status == 200
    row = page.split('id="vendor-classswift"')[1].split("</section>")[0]
    assert row.count('class="month-cell') == 12
    shown = text_of(row)
    assert "target 95 %" in shown and "met" in shown and "no data" in shown
    assert "missed" not in shown


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/vendor/nobody", 404, "No vendor 'nobody' is configured."),
        ("/vendor/classswift?month=2025-13", 422, "is not a month written YYYY-MM"),
        ("/vendor/classswift?month=november", 422, "is not a month written YYYY-MM"),
        ("/vendor/classswift?month=1969-12", 422, "before 1970"),
        ("/vendor/classswift?month=9999-01", 422, "has not begun yet in America/Los_Angeles"),
        ("/vendor/classswift?month=", 422, "is not a month written YYYY-MM"),
    ],
    ids=["unknown-vendor", "month-13", "words", "before-1970", "future", "empty"],
)
async def test_bad_requests_get_a_clear_page(get, path: str, status: int, message: str) -> None:
    answered, page = await get(path)
    assert answered == status
    assert message in text_of(page)
    assert "Traceback" not in page


async def test_html_is_escaped_on_every_page(get, seeded: Seeded) -> None:
    zone = seeded.config.vendor("classswift").timezone
    month = f"{seeded.outage.start.astimezone(zone):%Y-%m}"
    pages = {
        "/": ("name", "area", "note", "error"),
        f"/vendor/classswift?month={month}": ("name", "area"),
        "/vendor/collab": ("note",),
        "/history": ("name",),
        "/vendor/%3Cscript%3Ealert(%22id%22)%3C%2Fscript%3E": ("id",),
    }
    for path, kinds in pages.items():
        _, page = await get(path)
        assert "<script" not in page, path
        assert "<i>services" not in page, path  # the title is text too
        for kind in kinds:
            # Shown as text: escaped in the markup, the words themselves on the page.
            assert "&lt;script&gt;alert(&#34;" + kind in page, (path, kind)
            assert EVIL.format(kind) in text_of(page), (path, kind)


async def test_stylesheet(get) -> None:
    status, css = await get("/static/status.css")
    assert status == 200 and ".bar" in css


async def test_a_month_before_probing_began_has_no_data(get, seeded: Seeded) -> None:
    zone = seeded.config.vendor("itopia").timezone
    before = (seeded.began - timedelta(days=40)).astimezone(zone)
    status, page = await get(f"/vendor/itopia?month={before:%Y-%m}")
    assert status == 200
    assert "no data" in text_of(page)


# --- defects a new user found ---------------------------------------------------------------


def bar_label(page: str, vendor: str, day: date) -> str:
    section = page.split(f'id="vendor-{vendor}"')[1].split("</section>")[0]
    found = re.search(rf'href="[^"]*#day-{day.isoformat()}" aria-label="([^"]*)"', section)
    assert found is not None, day
    return html.unescape(found[1])


async def test_today_s_bar_counts_only_maintenance_begun_by_now(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    # ClassSwift on a clock where it is about noon now, with a window this morning (30 min)
    # and one this afternoon (1 h 30 min): today's bar holds the morning's only, and later,
    # from the same kept month, the part of the afternoon's that has begun.
    seeded = seed(tmp_path)
    offset = 12 - seeded.now.hour
    zone = ZoneInfo(f"Etc/GMT{-offset:+d}")
    today = seeded.now.astimezone(zone).date()

    def local(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today, time(hour, minute), zone)

    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        vendors.read_text().replace("America/Los_Angeles", zone.key, 1), encoding="utf-8"
    )
    windows = tmp_path / "maintenance_windows.yaml"
    announced = (seeded.now - timedelta(days=30)).isoformat()
    windows.write_text(
        windows.read_text()
        + "classswift:\n  announced:\n"
        + "".join(
            f'    - {{start: "{s.isoformat()}", end: "{e.isoformat()}", '
            f'announced_at: "{announced}"}}\n'
            for s, e in ((local(9), local(9, 30)), (local(15), local(16, 30)))
        ),
        encoding="utf-8",
    )
    config = load_config(vendors, windows)
    app = make_app(config, seeded.db, probe_regions=())
    server = await aiohttp_server(app)
    async with ClientSession() as session, session.get(server.make_url("/")) as response:
        page = await response.text()
    label = bar_label(page, "classswift", today)
    assert label.endswith(": 100.00 %, 30 min maintenance"), label
    assert label.count("maintenance") == 1
    later = status_html(await status_page_at(app, local(16)), Sections()).decode()
    # (by then nothing has been probed for hours: that time is not seen)
    assert ": 100.00 %, 1 h 30 min maintenance, " in bar_label(later, "classswift", today)


async def test_an_ongoing_outage_reads_as_still_going_on(get, seeded: Seeded) -> None:
    zone = seeded.config.vendor("schoolstatus").timezone
    since = moment_words(seeded.down_since, zone)
    _, page = await get("/vendor/schoolstatus")
    shown = text_of(page)
    assert f"down since {since}, still down" in shown
    assert re.search(f"since {re.escape(since)}, still down: [0-9]+ min so far", shown)
    assert "to " not in shown.split(f"down since {since}")[1].split(";")[0]
    _, page = await get("/")
    card = text_of(page.split('id="vendor-schoolstatus"')[1].split("</section>")[0])
    assert re.search(f"since {re.escape(since)}, still down: [0-9]+ min so far", card)


def probe_up(seeded: Seeded, since: datetime, late: dict[str, timedelta]) -> None:
    """itopia probed up from ``since`` to now every 10 minutes, each region's results ``late``
    by its delay (a site whose first result came a moment after the others')."""
    results = []
    at = since
    while at < seeded.now:
        results += [
            ProbeResult("itopia", "apps", r, at + late.get(r, timedelta(0)), True, 0.05, 200)
            for r in REGIONS
        ]
        at += timedelta(minutes=10)
    storage = Storage(seeded.db)
    try:
        storage.record_results(results, stale_limits(seeded.config))
    finally:
        storage.close()


@pytest.fixture
def itopia_probed(seeded: Seeded) -> tuple[int, int, datetime]:
    """itopia probed since the 3rd of last month (Atlanta's first result 0.4 s after the
    others'): (year, month) of last month and when probing began."""
    zone = seeded.config.vendor("itopia").timezone
    year, month = month_of(seeded.config.vendor("itopia"), seeded.now)
    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    began = datetime(year, month, 3, 4, 18, tzinfo=zone)
    probe_up(seeded, began, {"atlanta": timedelta(milliseconds=400)})
    return year, month, began


async def test_the_current_month_reads_so_far_and_a_partial_month_says_so(
    get, seeded: Seeded, itopia_probed: tuple[int, int, datetime]
) -> None:
    year, month, began = itopia_probed
    zone = seeded.config.vendor("itopia").timezone
    _, page = await get("/vendor/itopia")
    shown = text_of(page)
    assert shown.count("Apps: up so far this month") == 3
    assert "up all month" not in shown and "meets its 99 % target so far" in shown
    _, page = await get(f"/vendor/itopia?month={year:04d}-{month:02d}")
    shown = text_of(page)
    assert f"Probing began {moment_words(began, zone)}: nothing was seen before it." in shown
    assert f"Apps: up since probing began {moment_words(began, zone)}" in shown
    assert "met its 99 % target" in shown
    # Atlanta's 0.4 s before its first result: counted, said once, not as a range.
    assert "Apps: not seen once for under a minute" in shown
    assert "(under 1 min)" not in shown, shown[shown.index("(under 1 min)") - 300 :][:400]

    _, page = await get("/history")
    cells = re.findall(
        r'<li class="month-cell[^"]*">(.*?)</li>',
        page.split('id="vendor-itopia"')[1].split("</section>")[0],
        re.S,
    )
    last, current = text_of(cells[-2]), text_of(cells[-1])
    assert current.endswith("✓ met so far") and "partial" not in current
    assert last.endswith(f"✓ met partial: probing began 3 {date(year, month, 1):%b}")
    swift = text_of(page.split('id="vendor-classswift"')[1].split("</section>")[0])
    assert "met so far" in swift and "partial: probing began" in swift


async def test_one_rendering_of_the_status_page_serves_a_crowd_until_a_state_changes(
    aiohttp_server: ServerFactory, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many viewers at once cost one computation (the probes share the interpreter with it);
    a result that changes a region's state, or the page older than ``PAGE_FRESH``, makes the
    next one compute again; a result that changes nothing a viewer sees does not."""
    from uptime.web import pages

    rendered = 0
    real = pages.status_page_at

    async def counted(app, now):  # type: ignore[no-untyped-def]
        nonlocal rendered
        rendered += 1
        return await real(app, now)

    monkeypatch.setattr(pages, "status_page_at", counted)
    app = make_app(seeded.config, seeded.db, probe_regions=())
    server = await aiohttp_server(app)
    async with ClientSession() as session:

        async def fetch() -> str:
            async with session.get(server.make_url("/")) as response:
                assert response.status == 200
                return await response.text()

        crowd = await asyncio.gather(*(fetch() for _ in range(8)))
        assert rendered == 1 and len(set(crowd)) == 1
        assert await fetch() == crowd[0] and rendered == 1
        recorder = app[RECORDER]
        now = datetime.now(UTC)

        async def store(seconds: int, ok: bool) -> None:
            at = now + timedelta(seconds=seconds)
            await recorder.ingest([ProbeResult("schoolstatus", "api", "chicago", at, ok, 0.01)])

        await store(0, True)  # a state begins (the seeded one is stale by now)
        await fetch()
        assert rendered == 2
        await store(1, True)  # the same state, seen again: nothing on the page moves
        assert await fetch() == (await fetch()) and rendered == 2
        await store(2, False)  # down now: the next viewer gets a new rendering
        await fetch()
        assert rendered == 3
        # Nothing new, but the kept rendering is too old.
        monkeypatch.setattr(pages, "PAGE_FRESH", 0.0)
        await fetch()
        assert rendered == 4
