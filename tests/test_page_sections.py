"""The status page's kept sections (``pages.Sections``) are never stale: when a region's state
changes between two requests, exactly the sections whose card changed are rendered again, and
the page equals one rendered with nothing kept."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from support_pages import seed

from probes.result import FailureClass, ProbeResult
from uptime.web.app import make_app
from uptime.web.keys import RECORDER
from uptime.web.pages import SECTIONS, Sections, status_html, status_page_at

ServerFactory = Callable[..., Awaitable[TestServer]]
MESSAGE = "503 <b>gone from Chicago</b>"


def section_of(page: str, vendor: str) -> str:
    start = page.index(f'<section class="vendor" id="vendor-{vendor}"')
    return page[start : page.index("</section>", start)]


async def test_a_region_changing_state_renders_that_vendor_s_section_again(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    seeded = seed(tmp_path)
    app = make_app(seeded.config, seeded.db, probe_regions=())
    server = await aiohttp_server(app)
    sections = app[SECTIONS]
    async with ClientSession() as session:

        async def get() -> str:
            async with session.get(server.make_url("/")) as response:
                assert response.status == 200
                return await response.text()

        served_before = await get()
        now = datetime.now(UTC)
        before = await status_page_at(app, now)
        status_html(before, sections)
        kept = {card.id: sections.render(card) for card in before.vendors}
        # Kept: rendering an equal card again hands back the same bytes.
        assert all(sections.render(card) is kept[card.id] for card in before.vendors)

        failed = ProbeResult(
            "classswift",
            "app",
            "chicago",
            now,
            False,
            0.05,
            status=503,
            error=FailureClass.STATUS,
            message=MESSAGE,
        )
        assert await app[RECORDER].ingest([failed]) == 1
        later = now + timedelta(seconds=1)
        after = await status_page_at(app, later)
        page = status_html(after, sections)

        assert page == status_html(after, Sections())  # as if nothing had been kept
        cards_before = {card.id: card for card in before.vendors}
        changed = {card.id for card in after.vendors if card != cards_before[card.id]}
        rendered = {card.id for card in after.vendors if sections.render(card) is not kept[card.id]}
        assert rendered == changed
        assert "classswift" in changed and "itopia" not in changed
        swift = section_of(page.decode(), "classswift")
        assert html.escape(MESSAGE, quote=False) in swift and "✕</span> Down" in swift

        served_after = await get()
    assert html.escape(MESSAGE, quote=False) in section_of(served_after, "classswift")
    assert html.escape(MESSAGE, quote=False) not in served_before
    assert section_of(served_after, "itopia") == section_of(served_before, "itopia")
