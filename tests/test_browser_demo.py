"""The status page of ``uptime-ledger demo`` in real headless Chromium, as a newcomer sees it
after the README's first line: the scenario's vendors in words, the regional fault as an
advisory, the open maintenance window with its zone, the credit-earning outage in the bars and
on its month's page, at 1280 px and 375 px, with no console error, keyboard focus reaching a
day bar, and screenshots kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support_browser import DAY_LABEL, WIDTHS, Visit, launched, tab_to_day_bar
from support_demo import Demo
from support_probing import free_port

from uptime.demo.scenario import BAD_DAY


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as running:
        yield running


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running demo's base URL."""
    root = tmp_path_factory.mktemp("demo")
    (root / "tmp").mkdir()
    running = Demo(
        "--port",
        free_port(),
        "--db",
        root / "demo.db",
        "--out",
        root / "out",
        cwd=root,
        tmpdir=root / "tmp",
    )
    try:
        urls = running.wait_ready()
        yield urls["status page"].rstrip("/")
    finally:
        code, err = running.interrupt()
        assert code == 0, err


def card_state(page: object, vendor: str) -> str:
    return page.locator(f"#vendor-{vendor} .vendor-head .state").inner_text()  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_status_page_as_a_newcomer_sees_it(
    browser: Browser,
    demo: str,
    tmp_path: Path,
    width: int,
) -> None:
    visit = Visit(browser, width)
    try:
        page = visit.open(demo + "/")
        # The vendor with the window open now reads as in maintenance, in words.
        assert card_state(page, "video") == "⚙ Maintenance"
        assert card_state(page, "busroutes") == "✓ Up"
        # The regional fault: Atlanta sees it down, the vendor is up, the advisory says so.
        messaging = page.locator("#vendor-messaging")
        assert card_state(page, "messaging") == "✓ Up"
        atlanta = messaging.locator('td[data-region="Atlanta, GA"] .state').first
        assert atlanta.inner_text() == "✕ Down"
        chicago = messaging.locator('td[data-region="Chicago, IL"] .state').first
        assert chicago.inner_text() == "✓ Up"
        advisory = messaging.locator(".advisories li").first.inner_text()
        assert "NOT COUNTED" in advisory.upper() and "Atlanta, GA" in advisory
        # Maintenance with the zone named; the emergency window announced for later today.
        video = page.locator("#vendor-video .windows li").first.inner_text()
        assert "Now:" in video
        assert re.search(r"\((America/New_York|America/Chicago|America/Los_Angeles)\)", video)
        helpdesk = page.locator("#vendor-helpdesk .windows").inner_text()
        assert "emergency" in helpdesk.lower()
        # Ninety labelled days; the credit-earning outage of the 12th is graded a major outage.
        bars = page.locator("#vendor-classroom a.bar")
        assert bars.count() == 90
        labels = [bars.nth(i).get_attribute("aria-label") or "" for i in range(90)]
        assert all(DAY_LABEL.match(label) for label in labels), labels[:3]
        bad_days = [label for label in labels if re.match(rf"\w{{3}} {BAD_DAY} ", label)]
        assert bad_days and all("major outage" in label for label in bad_days), bad_days
        # Keyboard: Tab reaches a day bar.
        tab_to_day_bar(page)
        visit.check_fits()
        visit.shot(tmp_path, "demo-status")

        # The bad day's month on the vendor's page: its formula with the numbers, a timeline
        # per region; and the history.
        page = visit.open(f"{demo}/vendor/classroom")
        assert "(T − M − D − E) / T" in page.locator(".formula").inner_text()
        assert page.locator("svg[role=img]").count() == 3
        visit.check_fits()
        visit.shot(tmp_path, "demo-vendor")
        page = visit.open(f"{demo}/history")
        assert page.locator("#vendor-classroom .month-cell").count() == 12
        # last month (inside the 90 days of history) had the bad day: missed, in words
        assert "missed" in page.locator("#vendor-classroom").inner_text().lower()
        visit.check_fits()
        visit.shot(tmp_path, "demo-history")
    finally:
        visit.close()
