"""Real headless Chromium (Debian's, driven by Playwright with ``executable_path``; never a
browser download) for the page tests: a browser, a page at one width that records console
errors and dialogs, screenshots, and keyboard focus.

Fails, never skips, when Chromium is missing: the page is only known to work where it ran.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots-pages")
WIDTHS = (1280, 375)
DAY_LABEL = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}: ")


@contextlib.contextmanager
def launched() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def tab_to_day_bar(page: Page, presses: int = 80) -> None:
    """Press Tab from the top of the page until a day bar has the focus (fails if none does)."""
    page.locator("body").focus()
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('bar')"):
            return
    pytest.fail("Tab never reached a day bar")


class Visit:
    """A page at one width, with every console error and dialog it raised."""

    def __init__(self, browser: Browser, width: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page: Page = self.context.new_page()
        self.width = width
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, url: str) -> Page:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        return self.page

    def check_fits(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.width, f"{self.page.url} is {width} px wide at {self.width} px"
        assert self.errors == [] and self.dialogs == []

    def shot(self, tmp_path: Path, name: str) -> None:
        path = tmp_path / f"{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=True)
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)

    def close(self) -> None:
        self.context.close()
