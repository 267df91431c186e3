"""The HTML pages: ``/`` (status), ``/vendor/{id}[?month=YYYY-MM]`` and ``/history``.

Each handler gathers the data (states now, the months from ``Months``), builds a context of
plain values (``uptime.web.page_context``) and renders it with jinja2 (autoescaped). Pages are
complete without JavaScript and reload themselves every ``web.refresh``.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any, NamedTuple

import jinja2
from aiohttp import web
from markupsafe import Markup

from credits.intervals import EARLIEST
from credits.model import MaintenanceWindow
from uptime.config import Config, Vendor
from uptime.store.finance import month_label
from uptime.store.recorder import Recorder, RegionStates
from uptime.store.states import Key
from uptime.store.storage import Storage
from uptime.web.keys import MONTHS, RECORDER, current_config
from uptime.web.months import Months, is_current, month_of, months_back, share_the_interpreter
from uptime.web.page_context import (
    BAR_DAYS,
    MadeCard,
    StatusPage,
    VendorCard,
    card_at,
    closed_note,
    history_page,
    region_names,
    status_page,
    vendor_card,
    vendor_page,
)
from uptime.web.page_months import PageMonth, history_month, page_month
from uptime.web.status import series_keys, upcoming_windows, vendor_now, views_now

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("uptime.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

STYLESHEET = "/static/status.css"

#: How many calendar months the history shows.
HISTORY_MONTHS = 12

MONTH_PARAM = re.compile(r"(\d{4})-(\d{2})")


class Sections:
    """Each vendor's section of the status page rendered (``status_vendor.html``, as UTF-8),
    kept with the card it was rendered from: a card is plain values, so an equal card renders
    equal HTML and a request renders again only the sections whose card changed. One entry per
    vendor id (so at most one per configured vendor)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[VendorCard, bytes]] = {}

    def render(self, card: VendorCard) -> bytes:
        kept = self._kept.get(card.id)
        if kept is not None and kept[0] == card:
            return kept[1]
        html = TEMPLATES.get_template("status_vendor.html").render(v=card).encode()
        self._kept[card.id] = (card, html)
        return html


#: Where the sections go in ``status.html`` (escaped text cannot contain a ``<``).
SECTIONS_HERE = Markup("<!-- sections -->")

SECTIONS = web.AppKey("sections", Sections)


def add_routes(app: web.Application) -> None:
    """Register the pages on ``app``."""
    app[SECTIONS] = Sections()
    app[CARDS] = Cards()
    app[KEPT_PAGE] = KeptPage()
    app.router.add_get("/", get_status_page)
    app.router.add_get("/vendor/{id}", get_vendor_page)
    app.router.add_get("/history", get_history_page)
    app.router.add_get(STYLESHEET, get_stylesheet)


def page_html(name: str, **context: Any) -> str:
    """Template ``name`` rendered with ``context`` and the stylesheet's address."""
    return TEMPLATES.get_template(name).render(stylesheet=STYLESHEET, **context)


def render(name: str, status: int = 200, **context: Any) -> web.Response:
    html = page_html(name, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def error_page(config: Config, status: int, heading: str, message: str) -> web.Response:
    return render("error.html", status, title=config.web.title, heading=heading, message=message)


def bar_months(vendor: Vendor, now: datetime) -> list[tuple[int, int]]:
    """The calendar months the status page's daily bars cover, oldest first."""
    return _bar_months(now.astimezone(vendor.timezone).date())


@functools.lru_cache(maxsize=64)
def _bar_months(today: date) -> list[tuple[int, int]]:
    # Kept: a district's vendors share a few local days (a list is only read).
    first = today - timedelta(days=BAR_DAYS - 1)
    count = (today.year - first.year) * 12 + today.month - first.month + 1
    return months_back(today.year, today.month, count)


async def down_errors(recorder: Recorder, states: RegionStates) -> dict[Key, str]:
    """The failure behind each region's current down state in the recorder's ``states``."""
    since = {key: since for key, (state, since, _) in states.items() if state == "down"}
    if not since:
        return {}
    return await recorder.call(Storage.failures_since, since)


def status_months(
    config: Config, vendors: Sequence[Vendor], months: Months, now: datetime
) -> list[list[PageMonth]]:
    """Each of ``vendors``' months under the status page's bars, from ``months`` (oldest
    first). On the months' thread."""
    spans = [bar_months(v, now) for v in vendors]
    wanted = [(v, y, m) for v, span in zip(vendors, spans, strict=True) for y, m in span]
    make = functools.partial(page_month, now=now, with_seen=False, names=region_names(config))
    made = months.made("page", make, wanted, now)
    per_vendor, at = [], 0
    for span in spans:
        per_vendor.append(made[at : at + len(span)])
        at += len(span)
    return per_vendor


class _CardInputs(NamedTuple):
    """What a vendor's card is made from besides the clock (months compared by identity:
    ``Months`` hands out the same value while it holds)."""

    vendor: Vendor
    names: dict[str, str]
    views: tuple[tuple[str, datetime | None, str], ...]  #: (state, since, failure) per series
    windows: tuple[MaintenanceWindow, ...]
    months: tuple[PageMonth, ...]

    def same(self, other: _CardInputs) -> bool:
        return (
            self.vendor is other.vendor
            and self.names == other.names
            and self.views == other.views
            and self.windows == other.windows
            and len(self.months) == len(other.months)
            and all(map(operator.is_, self.months, other.months))
        )


class Cards:
    """Each vendor's status card as last made, with what it was made from: a request makes a
    card again only when a region's state or a down region's failure changed, a window
    entered or left the vendor's next days, one of its months was computed again, or the
    clock passed a moment its words change at (``MadeCard.until``) or went back before the
    card was made; a card whose today's bar moves with the clock has that bar made again. One
    entry per vendor id."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[_CardInputs, MadeCard]] = {}

    def card(
        self,
        config: Config,
        states: RegionStates,
        errors: Mapping[Key, str],
        months: Sequence[PageMonth],
        vendor: Vendor,
        names: dict[str, str],
        now: datetime,
    ) -> VendorCard:
        """``vendor``'s card at ``now`` (``vendor_card`` of its states now, the failures
        behind its down regions and its ``months`` under the bars); ``names`` are
        ``region_names(config)``."""
        views = views_now(vendor, states)
        windows = upcoming_windows(vendor, now)
        inputs = _CardInputs(
            vendor,
            names,
            tuple(
                (state, since, errors.get(key, "") if state == "down" else "")
                for key, (state, since, _) in zip(series_keys(vendor), views, strict=True)
            ),
            windows,
            tuple(months),
        )
        kept = self._kept.get(vendor.id)
        if kept is not None and kept[1].made_at <= now < kept[1].until and kept[0].same(inputs):
            made = kept[1]
            card = card_at(made, vendor, now)
            # The inputs of now: equal, and compared by identity next time (a vendor's windows
            # are expanded again every hour).
            self._kept[vendor.id] = (inputs, made._replace(card=card))
            return card
        made = vendor_card(config, vendor_now(vendor, views, windows, now), months, errors)
        self._kept[vendor.id] = (inputs, made)
        return made.card


CARDS = web.AppKey("cards", Cards)


def status_page_of(
    config: Config,
    states: RegionStates,
    errors: Mapping[Key, str],
    months: Months,
    cards: Cards,
    now: datetime,
) -> StatusPage:
    """The status page's context from the recorder's ``states`` at ``now`` (on the months'
    thread: a large district's cards are work the event loop, where probes run, should not
    do)."""
    per_vendor = status_months(config, config.vendors, months, now)
    made, names = [], region_names(config)
    for vendor, kept in zip(config.vendors, per_vendor, strict=True):
        share_the_interpreter()
        made.append(cards.card(config, states, errors, kept, vendor, names, now))
    return status_page(config, made, now)


async def status_page_at(app: web.Application, now: datetime) -> StatusPage:
    """The status page's context at ``now``."""
    recorder, months = app[RECORDER], app[MONTHS]
    config = await current_config(app)
    states = await recorder.region_states(now)
    errors = await down_errors(recorder, states)
    return await months.run(status_page_of, config, states, errors, months, app[CARDS], now)


#: Seconds one rendering of the status page serves every viewer while no region's state
#: changed and nothing was recorded: a morning's crowd costs one computation every few seconds
#: instead of one each (a large district's page is a few tenths of a second of the
#: interpreter, which the probes share). The page says when it was computed.
PAGE_FRESH = 5.0


class KeptPage:
    """The status page as last rendered, and the rendering under way (shared by the requests
    that arrive meanwhile)."""

    def __init__(self) -> None:
        self.key: tuple[int, int | None] | None = None
        self.made_at = 0.0
        self.body = b""
        self.making: asyncio.Task[bytes] | None = None


KEPT_PAGE = web.AppKey("kept_page", KeptPage)


async def get_status_page(request: web.Request) -> web.Response:
    app = request.app
    kept, months = app[KEPT_PAGE], app[MONTHS]
    await months.current()  # the audit trail's news, for the key
    # The writer's news, not every result stored: probes come every second or so, and a result
    # that confirms a state changes nothing on the page.
    key = (app[RECORDER].news.total, months.trail_seq)
    if kept.key == key and time.monotonic() - kept.made_at < PAGE_FRESH:
        body = kept.body
    else:
        if kept.making is None:
            kept.making = asyncio.create_task(_render_status_page(app, key))
        body = await asyncio.shield(kept.making)
    return web.Response(body=body, content_type="text/html", charset="utf-8")


async def _render_status_page(app: web.Application, key: tuple[int, int | None]) -> bytes:
    kept = app[KEPT_PAGE]
    try:
        page = await status_page_at(app, datetime.now(UTC))
        body = await app[MONTHS].run(status_html, page, app[SECTIONS])
        kept.key, kept.made_at, kept.body = key, time.monotonic(), body
        return body
    finally:
        kept.making = None


def status_html(page: StatusPage, sections: Sections) -> bytes:
    """The status page as UTF-8: its frame rendered around the vendors' kept sections (joined
    as bytes: the page is megabytes for a large district, each section a few kilobytes)."""
    frame = TEMPLATES.get_template("status.html").render(
        stylesheet=STYLESHEET,
        title=page.title,
        refresh=page.refresh,
        page=page,
        sections=SECTIONS_HERE,
    )
    head, _, tail = frame.partition(SECTIONS_HERE)
    parts = [head.encode()]
    for card in page.vendors:
        share_the_interpreter()
        parts += (sections.render(card), b"\n")
    if page.vendors:
        parts.pop()  # the last separator
    parts.append(tail.encode())
    return b"".join(parts)


def parse_month(text: str, vendor: Vendor, now: datetime) -> tuple[int, int]:
    """``YYYY-MM`` of a month that has begun on the vendor's clock; ValueError saying why not."""
    found = MONTH_PARAM.fullmatch(text)
    if not found or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"month {text!r} is not a month written YYYY-MM, e.g. 2025-11")
    year, month = int(found[1]), int(found[2])
    if year < EARLIEST.year:
        raise ValueError(f"month {text} is before {EARLIEST.year}: nothing was monitored then")
    if (year, month) > month_of(vendor, now):
        raise ValueError(f"month {text} has not begun yet in {vendor.timezone.key}")
    return year, month


async def get_vendor_page(request: web.Request) -> web.Response:
    months = request.app[MONTHS]
    config, now = await current_config(request.app), datetime.now(UTC)
    vendor = next((v for v in config.vendors if v.id == request.match_info["id"]), None)
    if vendor is None:
        return error_page(
            config, 404, "No such vendor", f"No vendor {request.match_info['id']!r} is configured."
        )
    try:
        year, month = (
            parse_month(request.query["month"], vendor, now)
            if "month" in request.query
            else month_of(vendor, now)
        )
    except ValueError as error:
        return error_page(config, 422, "Not a month this page can show", str(error))
    [kept] = await months.get(
        "vendor",
        functools.partial(page_month, now=now, with_seen=True, names=region_names(config)),
        [(vendor, year, month)],
        now,
    )
    found = await months.run(months.closed, month_label(year, month))
    note = None
    if found is not None:
        close, frozen = found
        note = closed_note(
            close.by, close.closed_at, close.sha256, frozen.get(vendor.id), kept.context
        )
    current = is_current(vendor, year, month, now)
    page = vendor_page(config, vendor, kept, year, month, now, current, note)
    return render("vendor.html", title=page.title, refresh=page.refresh, page=page)


def history_html(months: Months, now: datetime) -> str:
    """The history page (on the months' thread: a large district's 12 months of cells are
    work the event loop, where probes run, should not do). A closed month shows its frozen
    figures."""
    config, records = months.refresh()
    spans = [months_back(*month_of(v, now), HISTORY_MONTHS) for v in config.vendors]
    wanted = [(v, y, m) for v, span in zip(config.vendors, spans, strict=True) for y, m in span]
    made = months.made("history", history_month, wanted, now)
    for i, (vendor, year, month) in enumerate(wanted):
        found = months.closed(month_label(year, month)) if records.closes else None
        frozen = None if found is None else found[1].get(vendor.id)
        if frozen is not None:
            made[i] = made[i]._replace(
                availability_pct=frozen.availability_pct,
                target_pct=frozen.target_pct,
                met=frozen.met,
            )
    rows = [
        (vendor, span, made[i * HISTORY_MONTHS : (i + 1) * HISTORY_MONTHS])
        for i, (vendor, span) in enumerate(zip(config.vendors, spans, strict=True))
    ]
    page = history_page(config, rows, now, frozenset(records.closes))
    return page_html("history.html", title=page.title, refresh=page.refresh, page=page)


async def get_history_page(request: web.Request) -> web.Response:
    months = request.app[MONTHS]
    html = await months.run(history_html, months, datetime.now(UTC))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


@functools.cache
def stylesheet() -> str:
    return files("uptime.web").joinpath("templates/status.css").read_text(encoding="utf-8")


async def get_stylesheet(request: web.Request) -> web.Response:
    return web.Response(
        text=stylesheet(),
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "max-age=3600"},
    )
