"""``uptime.web.status.upcoming_windows``: the windows a page or a scrape shows are those of
``[now, now + UPCOMING)`` exactly, though they are expanded for longer at a time and kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from support_probing import write_config

from credits.intervals import Interval
from uptime.config import load_config
from uptime.web.app import make_app
from uptime.web.page_context import WINDOWS_SHOWN
from uptime.web.pages import status_page_at
from uptime.web.status import UPCOMING, WINDOWS_KEPT_FOR, upcoming_windows

T0 = datetime(2026, 3, 7, 23, 59, 30, tzinfo=UTC)


def test_the_kept_windows_are_those_of_each_moment(tmp_path: Path) -> None:
    write_config(tmp_path, "http://127.0.0.1:9/")
    # Every 30 minutes for 10 (one is often running at the moment), and New York's clocks change
    # on 8 March 2026 within the 14 days ahead; an announced window at the very end of them.
    (tmp_path / "maintenance_windows.yaml").write_text(
        "sim:\n"
        "  recurring:\n"
        '    - {name: Often, cron: "*/30 * * * *", duration: 10m, timezone: America/New_York}\n'
        "  announced:\n"
        f'    - {{start: "{(T0 + UPCOMING).isoformat()}", '
        f'end: "{(T0 + UPCOMING + timedelta(hours=1)).isoformat()}", '
        f'announced_at: "{(T0 - timedelta(days=30)).isoformat()}"}}\n',
        encoding="utf-8",
    )
    vendor = load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml").vendors[
        0
    ]
    steps = [timedelta(0), timedelta(seconds=31), timedelta(minutes=4), timedelta(minutes=59)]
    steps += [WINDOWS_KEPT_FOR, WINDOWS_KEPT_FOR + timedelta(seconds=1), timedelta(hours=5)]
    for step in steps:
        now = T0 + step
        expected = tuple(vendor.windows(Interval(now, now + UPCOMING)))
        assert upcoming_windows(vendor, now) == expected, step
        assert expected[0].interval.start <= now + timedelta(minutes=30)
    # The announced window starts at the very end of T0's 14 days: not yet shown, then shown.
    assert upcoming_windows(vendor, T0)[-1].interval.start < T0 + UPCOMING
    assert upcoming_windows(vendor, T0 + timedelta(seconds=1))[-1].interval.start == T0 + UPCOMING
    # A clock that went back, and a vendor whose calendar changed (a window recorded from the
    # command line makes a new vendor): expanded again.
    earlier = T0 - timedelta(hours=3)
    assert upcoming_windows(vendor, earlier) == tuple(
        vendor.windows(Interval(earlier, earlier + UPCOMING))
    )
    bare = replace(vendor, calendar=replace(vendor.calendar, recurring=(), announced=()))
    assert upcoming_windows(bare, T0) == ()


async def test_the_status_page_lists_ten_windows_and_counts_the_rest(
    tmp_path: Path, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    # A window every 30 minutes: 672 in the next 14 days. The page lists the open one and the
    # next nine, says how many more, and points at the feed that has them all.
    write_config(tmp_path, "http://127.0.0.1:9/")
    (tmp_path / "maintenance_windows.yaml").write_text(
        "sim:\n  recurring:\n"
        '    - {name: Often, cron: "*/30 * * * *", duration: 10m, timezone: UTC}\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml")
    app = make_app(config, tmp_path / "uptime.db", probe_regions=())
    server = await aiohttp_server(app)
    now = datetime.now(UTC)
    [card] = (await status_page_at(app, now)).vendors
    everything = upcoming_windows(config.vendors[0], now)
    assert len(card.windows) == WINDOWS_SHOWN
    assert card.windows_more == len(everything) - WINDOWS_SHOWN >= 600
    async with ClientSession() as session, session.get(server.make_url("/")) as response:
        page = await response.text()
    assert page.count("— Often (scheduled maintenance)") == WINDOWS_SHOWN
    assert f"and {card.windows_more:,} more in the next 14 days" in page
    assert 'href="/maintenance/sim.ics"' in page
