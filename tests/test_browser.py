"""The status page in real headless Chromium (Debian's, driven by Playwright; no browser
download), served by a real running server over a database seeded through the ingest path.

Fails, never skips, when Chromium is missing: the page is only known to work where it ran.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support_browser import DAY_LABEL, WIDTHS, Visit, launched, tab_to_day_bar
from support_pages import EVIL, Seeded, seed
from support_probing import free_port

from uptime.web.app import make_app
from uptime.web.serve import serve


class Server:
    """``uptime.web.serve.serve`` of the collector app on a thread of its own."""

    def __init__(self, seeded: Seeded) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = make_app(seeded.config, seeded.db, probe_regions=())
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, name="page-server")
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(
                serve(
                    self.app,
                    "127.0.0.1",
                    self.port,
                    ready=lambda _: self.ready.set(),
                    stop=self.stop,
                )
            )
        except BaseException as error:
            self.error = error
            self.ready.set()
        finally:
            self.loop.close()

    def __enter__(self) -> Server:
        self.thread.start()
        assert self.ready.wait(30), "the server did not start"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("district"))


@pytest.fixture(scope="module")
def server(seeded: Seeded) -> Iterator[Server]:
    with Server(seeded) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as running:
        yield running


@pytest.mark.parametrize("width", WIDTHS)
def test_status_page_as_a_viewer_sees_it(
    browser: Browser, server: Server, seeded: Seeded, tmp_path: Path, width: int
) -> None:
    visit = Visit(browser, width)
    try:
        page = visit.open(server.url + "/")
        cards = {
            vendor: page.locator(f"#vendor-{vendor}")
            for vendor in ("classswift", "collab", "schoolstatus", "itopia")
        }
        # The vendor's name is text, not markup: the script did not run.
        assert cards["classswift"].locator("h2").inner_text() == f"ClassSwift {EVIL.format('name')}"
        # States in words (an icon beside each, hidden from screen readers).
        words = {v: c.locator(".vendor-head .state").inner_text() for v, c in cards.items()}
        assert words == {
            "classswift": "✓ Up",
            "collab": "⚙ Maintenance",
            "schoolstatus": "✕ Down",
            "itopia": "? Unknown",
        }
        # Each region's view, with the failure behind a down state.
        school = cards["schoolstatus"]
        for region in ("Chicago, IL", "California", "Atlanta, GA"):
            cell = school.locator(f'td[data-region="{region}"]')
            assert cell.locator(".state").inner_text() == "✕ Down"
            assert cell.locator(".error").inner_text() == f"503 {EVIL.format('error')}"
        # 90 bars, each labelled; the outage day says so.
        bars = cards["classswift"].locator("a.bar")
        assert bars.count() == 90
        labels = [bars.nth(i).get_attribute("aria-label") or "" for i in range(90)]
        assert all(DAY_LABEL.match(label) for label in labels), labels[:3]
        outage_day = [label for label in labels if "1 interruption" in label]
        assert outage_day and "major outage" in outage_day[0]
        zone = seeded.config.vendor("classswift").timezone
        probed_days = (
            seeded.now.astimezone(zone).date() - seeded.began.astimezone(zone).date()
        ).days + 1
        assert sum("no data" in label for label in labels) == 90 - probed_days
        # Maintenance in the vendor's zone with the zone named.
        windows = cards["collab"].locator(".windows li")
        assert windows.count() == 2
        assert "Now:" in windows.nth(0).inner_text()
        assert re.search(r"(EST|EDT) \(America/New_York\)", windows.nth(0).inner_text())
        assert EVIL.format("note") in windows.nth(0).inner_text()
        # Interruptions with their duration, areas and regions; the advisory, not counted.
        interruption = cards["classswift"].locator(".events:not(.advisories) li").first
        assert "2 h 30 min" in interruption.inner_text()
        assert "Atlanta, GA, California, Chicago, IL" in interruption.inner_text()
        advisory = cards["classswift"].locator(".advisories li").first.inner_text()
        assert "NOT COUNTED" in advisory.upper()
        assert "Atlanta, GA only" in advisory and "30 min" in advisory
        # Keyboard: Tab reaches a day bar.
        tab_to_day_bar(page)
        focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert DAY_LABEL.match(focused)
        # A bar is ~3.5 px wide at 375 px: its focus ring is what shows where focus is.
        ring = page.evaluate(
            "(s => [s.outlineStyle, s.outlineWidth, s.boxShadow])"
            "(getComputedStyle(document.activeElement))"
        )
        assert ring[0] == "solid" and float(ring[1].removesuffix("px")) >= 3 and "5px" in ring[2]
        visit.check_fits()
        visit.shot(tmp_path, "status")
    finally:
        visit.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_vendor_and_history_pages(
    browser: Browser, server: Server, seeded: Seeded, tmp_path: Path, width: int
) -> None:
    visit = Visit(browser, width)
    try:
        month = seeded.outage.start.astimezone(seeded.config.vendors[0].timezone)
        page = visit.open(f"{server.url}/vendor/classswift?month={month:%Y-%m}")
        assert page.locator("svg[role=img]").count() == 3  # one timeline per region
        assert "(T − M − D − E) / T" in page.locator(".formula").inner_text()
        atlanta = page.locator("figure.timeline", has_text="Atlanta, GA")
        assert atlanta.locator("rect.tl-down").count() == 2  # the outage and its own fault
        assert "down " in atlanta.locator(".timeline-words").inner_text()
        visit.check_fits()
        visit.shot(tmp_path, "vendor")
        page = visit.open(f"{server.url}/vendor/collab")
        assert "A = (T − D − E) / T" in page.locator(".formula").inner_text()
        assert page.locator("rect.tl-window").count() >= 3
        visit.check_fits()
        page = visit.open(f"{server.url}/history")
        assert page.locator("#vendor-classswift .month-cell").count() == 12
        visit.check_fits()
        visit.shot(tmp_path, "history")
    finally:
        visit.close()
