"""The read-only JSON API under ``/api/v1`` (docs/api.md; the OpenAPI document is
``uptime.web.openapi``).

Handlers only wire the library: the state now comes from ``uptime.web.status``, a vendor-month
is the report's own entry (``reports.json_report.vendor_json``) made through ``app[MONTHS]``,
windows are ``Vendor.windows``. Bad input raises ``uptime.web.responses.ApiError``, which the
``json_errors`` middleware answers as ``{"error": ...}``: an unknown vendor is 404, a month or
date that cannot be read or is out of range 422, a query parameter the route does not take 400
(a typo such as ``?form=`` would otherwise silently give the defaults).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from credits.intervals import Interval
from credits.model import MaintenanceWindow
from credits.month import Observations, VendorMonth
from reports.context import minutes, vendor_context
from reports.json_report import vendor_json
from uptime.config import Config, Vendor
from uptime.store.finance import month_label
from uptime.store.recorder import RegionStates
from uptime.web.access import require_finance
from uptime.web.keys import CONFIG, MONTHS, PROBES, RECORDER, current_config
from uptime.web.months import Months, month_of
from uptime.web.openapi import openapi_document
from uptime.web.responses import ApiError
from uptime.web.status import UPCOMING, MonitorNow, VendorNow, vendors_now

#: The earliest month and day the API computes (no district has probes from before).
FIRST_YEAR = 2000
#: The latest day the maintenance calendar expands to.
LAST_YEAR = 2199
#: The longest ``from``..``to`` range of the maintenance calendar, in days (both included).
MAX_DAYS = 400

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


# --------------------------------------------------------------------------------------------
# Handlers


async def get_vendors(request: web.Request) -> web.Response:
    """The configured regions and vendors."""
    _query(request, ())
    config = request.app[CONFIG]
    return web.json_response(
        {
            "regions": [{"id": r.id, "name": r.name} for r in config.regions],
            "vendors": [vendor_config_json(v) for v in config.vendors],
        }
    )


async def get_status(request: web.Request) -> web.Response:
    """Current state of every (vendor, monitor, region), and of every vendor by its quorum."""
    _query(request, ())
    now = datetime.now(UTC)
    states = await request.app[RECORDER].region_states(now)
    # A large district's states are thousands of objects: made beside the event loop, where
    # the probes run.
    months = request.app[MONTHS]
    body = await months.run(_status_body, months, states, now)
    probes = request.app.get(PROBES)
    if probes is not None:
        body["probing"] = {
            "regions": list(probes.regions),
            "jobs": len(probes.scheduler.jobs),
            "canaries": probes.scheduler.canary_states(),
            "stats": probes.scheduler.stats.as_dict(),
        }
    return web.json_response(body)


def _status_body(months: Months, states: RegionStates, now: datetime) -> dict[str, Any]:
    config, _ = months.refresh()  # with what the audit trail recorded
    return {
        "now": now.isoformat(),
        "states": [
            {
                "vendor": vendor,
                "monitor": monitor,
                "region": region,
                "state": state,
                "since": since.isoformat(),
                "last_seen": last_seen.isoformat(),
            }
            for (vendor, monitor, region), (state, since, last_seen) in sorted(states.items())
        ],
        "vendors": [vendor_now_json(v) for v in vendors_now(config, states, now)],
    }


async def get_vendor_month(request: web.Request) -> web.Response:
    """One vendor's entry of the month's report (month to date for the current month), only for
    the reader's or the admin's token (``uptime.web.access``): besides the credit, its
    exclusions, who closed it and the closed report's hash are finance records too."""
    require_finance(request)
    _query(request, ())
    now = datetime.now(UTC)
    vendor = find_vendor(request.app[CONFIG], request.match_info["vendor"])
    year, month = parse_month(request.match_info["month"], month_of(vendor, now))
    months = request.app[MONTHS]
    [entry] = await months.get("api-month", _report_entry, [(vendor, year, month)], now)
    found = await months.run(months.closed, month_label(year, month))
    if found is None or vendor.id not in found[1]:
        return web.json_response({**entry, "closed": None})
    # A closed month is its frozen figures, as the report prints them.
    close, frozen = found
    closed = {
        "closed_at": _utc(close.closed_at),
        "by": close.by,
        "sha256": close.sha256,
        "live_figures_differ": vendor_json(frozen[vendor.id]) != entry,
    }
    return web.json_response({**vendor_json(frozen[vendor.id]), "closed": closed})


async def get_vendor_maintenance(request: web.Request) -> web.Response:
    """One vendor's maintenance windows overlapping the days ``from`` to ``to`` (both
    included, on the vendor's wall clock)."""
    query = _query(request, ("from", "to"))
    vendor = find_vendor(await current_config(request.app), request.match_info["vendor"])
    today = datetime.now(UTC).astimezone(vendor.timezone).date()
    first, last = day_range(query.get("from"), query.get("to"), today)
    zone = vendor.timezone
    period = Interval(
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )
    return web.json_response(
        {
            "vendor": vendor.id,
            "timezone": zone.key,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "windows": [window_json(w) for w in vendor.windows(period)],
        }
    )


async def get_openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of every ``/api/v1`` route."""
    _query(request, ())
    return web.json_response(openapi_document(request.app[CONFIG]))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# --------------------------------------------------------------------------------------------
# Reading the request


def _query(request: web.Request, allowed: Collection[str]) -> dict[str, str]:
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
        raise ApiError(400, f"unknown query parameter {unknown[0]!r}; {takes}")
    for key in allowed:
        if len(request.query.getall(key, ())) > 1:
            raise ApiError(400, f"query parameter {key!r} given more than once")
    return {k: request.query[k] for k in allowed if k in request.query}


def find_vendor(config: Config, vendor_id: str) -> Vendor:
    """The vendor with this id; :class:`ApiError` 404 otherwise."""
    for vendor in config.vendors:
        if vendor.id == vendor_id:
            return vendor
    raise ApiError(404, f"unknown vendor {vendor_id[:100]!r}; GET /api/v1/vendors lists them")


def parse_month(text: str, current: tuple[int, int]) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month), from ``FIRST_YEAR``-01 to ``current`` (the vendor's
    month now); :class:`ApiError` 422 otherwise."""
    found = _MONTH_RE.fullmatch(text)
    if found is None:
        raise ApiError(422, f"month {text[:40]!r}: expected YYYY-MM, such as 2025-02")
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise ApiError(422, f"month {text!r}: the month must be 01 to 12")
    first = f"{FIRST_YEAR:04d}-01"
    latest = f"{current[0]:04d}-{current[1]:02d}"
    if year < FIRST_YEAR or (year, month) > current:
        raise ApiError(
            422, f"month {text!r}: expected a month from {first} to the current one, {latest}"
        )
    return year, month


def parse_day(text: str, name: str) -> date:
    """A ``YYYY-MM-DD`` query parameter; :class:`ApiError` 422 otherwise."""
    if _DATE_RE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                return day
            raise ApiError(422, f"{name}={text}: expected a day from {FIRST_YEAR} to {LAST_YEAR}")
    raise ApiError(422, f"{name}={text[:40]!r}: expected a date YYYY-MM-DD, such as 2025-03-01")


def day_range(given_from: str | None, given_to: str | None, today: date) -> tuple[date, date]:
    """The days ``from`` to ``to``, both included: ``from`` defaults to ``today``, ``to`` to
    ``UPCOMING`` days from ``from`` on; at most ``MAX_DAYS`` days."""
    first = today if given_from is None else parse_day(given_from, "from")
    default_last = first + UPCOMING - timedelta(days=1)
    last = default_last if given_to is None else parse_day(given_to, "to")
    if last < first:
        raise ApiError(422, f"to={last} is before from={first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApiError(422, f"from={first} to={last} is more than {MAX_DAYS} days")
    return first, last


# --------------------------------------------------------------------------------------------
# The answers as JSON values


def _report_entry(month: VendorMonth, seen: Observations) -> dict[str, Any]:
    return vendor_json(vendor_context(month))


def vendor_config_json(vendor: Vendor) -> dict[str, Any]:
    """What vendors.yaml says of ``vendor`` that anyone may read (no URLs: they can carry
    credentials; no fee: it is a finance figure)."""
    return {
        "id": vendor.id,
        "name": vendor.name,
        "timezone": vendor.timezone.key,
        "quorum": vendor.quorum,
        "hosting": vendor.hosting,
        "target_pct": float(vendor.sla.target_pct),
        "maintenance": vendor.sla.maintenance,
        "monitors": [
            {
                "id": m.id,
                "functional_area": m.functional_area,
                "kind": m.kind,
                "critical": m.critical,
                "interval_s": m.interval.total_seconds(),
                "regions": list(m.regions),
            }
            for m in vendor.monitors
        ],
    }


def window_json(window: MaintenanceWindow) -> dict[str, Any]:
    """One window: in its own zone (with the offset) and in UTC, its length in minutes."""
    start, end = window.interval.start, window.interval.end
    return {
        "name": window.name,
        "kind": window.kind.value,
        "source": window.source,
        "timezone": window.timezone.key,
        "start": start.astimezone(window.timezone).isoformat(),
        "end": end.astimezone(window.timezone).isoformat(),
        "start_utc": _utc(start),
        "end_utc": _utc(end),
        "minutes": minutes(window.interval.duration),
        "announced_at": None if window.announced_at is None else _utc(window.announced_at),
    }


def vendor_now_json(now: VendorNow) -> dict[str, Any]:
    """A vendor's state now, each monitor's and each region's view, and its windows open now
    and starting within ``UPCOMING``."""
    return {
        "id": now.vendor.id,
        "name": now.vendor.name,
        "state": now.state,
        "monitors": [_monitor_now_json(m) for m in now.monitors],
        "maintenance": {
            "active": [window_json(w) for w in now.active],
            "upcoming": [window_json(w) for w in now.windows if w.interval.start > now.now],
            "next_start": None if now.next_start is None else _utc(now.next_start),
        },
    }


def _monitor_now_json(monitor: MonitorNow) -> dict[str, Any]:
    return {
        "id": monitor.monitor.id,
        "functional_area": monitor.monitor.functional_area,
        "critical": monitor.monitor.critical,
        "state": monitor.state,
        "regions": [
            {
                "region": r.region,
                "state": r.state,
                "since": _maybe_utc(r.since),
                "last_seen": _maybe_utc(r.last_seen),
            }
            for r in monitor.regions
        ],
    }


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _maybe_utc(instant: datetime | None) -> str | None:
    return None if instant is None else _utc(instant)
