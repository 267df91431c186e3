"""The pages over real HTTP (``aiohttp_server``) and a database seeded through the ingest path:
the figures they print, the errors they answer, and HTML escaped on every one."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from support_pages import EVIL, Seeded, seed

from credits.availability import days_in_month, month_period
from credits.days import local_day
from credits.intervals import MINUTE, clip, length, ratio
from uptime.web.app import make_app
from uptime.web.months import month_of
from uptime.web.page_context import number, pct_words

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


async def test_history_says_so_far_and_where_probing_began(get, seeded: Seeded) -> None:
    """The month under way has met its target only so far; the month probing began in says
    from when it was probed."""
    _, page = await get("/history")
    row = page.split('id="vendor-classswift"')[1].split("</section>")[0]
    cells = [text_of(cell) for cell in row.split('class="month-cell')[1:]]
    assert "met so far" in cells[-1]
    assert all("so far" not in cell for cell in cells[:-1])
    zone = seeded.config.vendor("classswift").timezone
    began = seeded.began.astimezone(zone)
    label = f"{began:%b %Y}"
    [first] = [cell for cell in cells if label in cell]
    assert f"probed from {began:%a} {began.day} {began:%b %Y}" in first


async def test_an_outage_still_going_on_reads_as_such(get, seeded: Seeded) -> None:
    """schoolstatus is down now in every region: its timeline says since when, and that it is
    still down, not that it ended."""
    _, page = await get("/vendor/schoolstatus")
    shown = text_of(page)
    assert shown.count("still down now") == 3, shown
    zone = seeded.config.vendor("schoolstatus").timezone
    assert f"down since {seeded.down_since.astimezone(zone):%a}" in shown
