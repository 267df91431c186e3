"""The status page's kept sections (``pages.Sections``) are never stale: when a region's state
changes between two requests, exactly the sections whose card changed are rendered again, and
the page equals one rendered with nothing kept."""

from __future__ import annotations

import html
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from support_pages import REGIONS, STEP, seed

from credits.intervals import Interval
from probes.result import FailureClass, ProbeResult
from uptime.web.app import make_app
from uptime.web.keys import MONTHS, RECORDER
from uptime.web.page_context import (
    RECENT_ADVISORIES,
    StatusPage,
    VendorCard,
    region_names,
    vendor_page,
)
from uptime.web.page_months import page_month
from uptime.web.pages import (
    SECTIONS,
    Cards,
    Sections,
    down_errors,
    status_html,
    status_page_at,
    status_page_of,
)

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


async def test_kept_cards_are_the_cards_made_afresh_as_the_clock_moves(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """Walk the clock over ten days past the seeded district's ``now``, probes reporting every
    10 minutes (the end of DST in the US and a month's end, collab's windows opening and
    closing, classswift's advisory leaving the last seven days, an outage that moves
    classswift's today's bar, and the clock stepping back): at every moment, regular, random
    and a second either side of each edge, the cards the page keeps are those made with
    nothing kept, and a healthy vendor's card is kept for hours."""
    seeded = seed(tmp_path, datetime(2026, 10, 29, 17, 3, 20, tzinfo=UTC))
    app = make_app(seeded.config, seeded.db, probe_regions=())
    await aiohttp_server(app)
    recorder, months, config = app[RECORDER], app[MONTHS], seeded.config
    end = seeded.now + timedelta(days=10)
    edges = [
        seeded.window_now.end,
        seeded.window_next.start,
        seeded.window_next.end,
        seeded.advisory.end + RECENT_ADVISORIES,
    ]
    for vendor in config.vendors:  # each vendor's local midnights
        day = seeded.now.astimezone(vendor.timezone).date()
        while (midnight := datetime.combine(day, time(), vendor.timezone)) < end:
            edges.append(midnight.astimezone(UTC))
            day += timedelta(days=1)
    second, rng = timedelta(seconds=1), random.Random(8)
    moments = {seeded.now + timedelta(minutes=97) * k for k in range(150)}
    moments |= {seeded.now + timedelta(seconds=rng.randrange(10 * 86400)) for _ in range(100)}
    moments |= {edge + d for edge in edges for d in (-second, timedelta(0), second)}
    # Atlanta's agent, its clock ahead of ours, reports a blip that begins after our now.
    blip = Interval(
        seeded.now + timedelta(days=6, minutes=3),
        seeded.now + timedelta(days=6, minutes=3, seconds=20),
    )
    told = blip.start - timedelta(seconds=30)
    moments |= {told} | {
        e + d for e in (blip.start, blip.end) for d in (-second, 0 * second, second)
    }
    walk = sorted(m for m in moments if seeded.now < m < end)
    # The clock steps back over a window's start and a day's end, then on again.
    for edge in (seeded.window_next.start, edges[-1]):
        at = walk.index(edge + second)
        walk[at + 1 : at + 1] = [edge - second * 2, edge + second * 3]
    down = Interval(
        seeded.now + timedelta(days=4, hours=5), seeded.now + timedelta(days=4, hours=7)
    )
    probed = ("classswift", "app"), ("collab", "web"), ("schoolstatus", "api")
    reported = seeded.now
    kept_since: dict[str, datetime] = {}
    longest: dict[str, timedelta] = {}
    last: dict[str, VendorCard] = {}
    for at in walk:
        while reported + STEP <= at:  # every series' results up to ``at``
            reported += STEP
            failing = reported in down
            await recorder.ingest(
                [
                    ProbeResult(
                        vendor,
                        monitor,
                        region,
                        reported,
                        not (failing and vendor == "classswift"),
                        0.05,
                        status=503 if failing and vendor == "classswift" else 200,
                        error=FailureClass.STATUS if failing and vendor == "classswift" else None,
                    )
                    for vendor, monitor in probed
                    for region in REGIONS
                ]
            )
        if at == told:
            await recorder.ingest(
                [
                    ProbeResult(
                        *("classswift", "app", "atlanta", blip.start, False, 0.05),
                        status=503,
                        error=FailureClass.STATUS,
                    ),
                    ProbeResult("classswift", "app", "atlanta", blip.end, True, 0.05, status=200),
                ]
            )
        kept = await status_page_at(app, at)
        states = await recorder.region_states(at)
        errors = await down_errors(recorder, states)
        fresh = await months.run(status_page_of, config, states, errors, months, Cards(), at)
        for card, afresh in zip(kept.vendors, fresh.vendors, strict=True):
            assert card == afresh, f"{card.id} at {at.isoformat()}"
            if last.get(card.id) is not card:
                kept_since[card.id] = at
            last[card.id] = card
            longest[card.id] = max(longest.get(card.id, timedelta(0)), at - kept_since[card.id])
        if at in (blip.start - second, blip.start + second):  # the blip shows once it began
            swift = next(card for card in kept.vendors if card.id == "classswift")
            assert len(swift.advisories) == (1 if at < blip.start else 2)
    assert len(walk) > 350
    assert longest["classswift"] > timedelta(hours=6), longest
    assert longest["schoolstatus"] > timedelta(hours=6), longest


async def test_today_s_share_up_does_not_grow_while_the_vendor_is_still_down(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """SchoolStatus is down from every site since 11:55pm in Chicago; at 12:15am its today's
    bar is 0 % up. Its month, being read while the outage went on, is kept for a few seconds:
    its today is cut where it was read, not at each later ``now`` (the day would grow while
    the down time stays as read, and the vendor look up for those seconds)."""
    seeded = seed(tmp_path, datetime(2026, 11, 10, 6, 15, tzinfo=UTC))  # 12:15am CST
    app = make_app(seeded.config, seeded.db, probe_regions=())
    await aiohttp_server(app)

    async def today_bar(at: datetime) -> str:
        page = await status_page_at(app, at)
        [card] = [card for card in page.vendors if card.id == "schoolstatus"]
        return card.bars[-1].label

    first = await today_bar(seeded.now + timedelta(seconds=1))
    assert first.startswith("Tue 10 Nov 2026: 0.00 %")
    for seconds in (3, 6, 9):
        assert await today_bar(seeded.now + timedelta(seconds=seconds)) == first


async def test_an_advisory_across_a_month_s_edge_is_one_and_one_going_on_says_so(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """ClassSwift's Atlanta-only failure runs from 11:50pm on 31 Oct to 12:20am on 1 Nov in
    Los Angeles: one advisory on the page, not one a month. A new one still going on when
    the month was read says so, on the status page and the vendor's page."""
    seeded = seed(tmp_path, datetime(2026, 11, 2, 6, 53, 20, tzinfo=UTC))
    assert seeded.advisory == Interval(
        datetime(2026, 11, 1, 6, 50, tzinfo=UTC), datetime(2026, 11, 1, 7, 20, tzinfo=UTC)
    )
    app = make_app(seeded.config, seeded.db, probe_regions=())
    await aiohttp_server(app)

    def swift(page: StatusPage) -> VendorCard:
        return next(card for card in page.vendors if card.id == "classswift")

    [row] = swift(await status_page_at(app, seeded.now + timedelta(seconds=1))).advisories
    assert row.when == "Sat 31 Oct, 11:50pm to Sun 1 Nov, 12:20am PDT (America/Los_Angeles)"
    assert row.duration == "30 min"

    results = [  # Atlanta failing, the other sites fine
        ProbeResult(
            *("classswift", "app", region, seeded.now + STEP * k, region != "atlanta", 0.05),
            status=503 if region == "atlanta" else 200,
            error=FailureClass.STATUS if region == "atlanta" else None,
        )
        for k in (1, 2)
        for region in REGIONS
    ]
    await app[RECORDER].ingest(results)
    now = seeded.now + STEP * 2 + timedelta(seconds=1)
    newest = swift(await status_page_at(app, now)).advisories[0]
    assert newest.when.startswith("since Sun 1 Nov, 11:03pm") and "still going on" in newest.when
    assert newest.duration.endswith("so far")
    vendor = next(v for v in seeded.config.vendors if v.id == "classswift")
    make = partial(page_month, now=now, with_seen=True, names=region_names(seeded.config))
    [kept] = await app[MONTHS].get("vendor", make, [(vendor, 2026, 11)], now)
    page = vendor_page(seeded.config, vendor, kept, 2026, 11, now, current=True)
    assert "still going on" in page.advisories[-1].when  # in order of start there
