"""The JSON API over a seeded database on a live server: vendors, state now, vendor-months equal
to the report's entries, the maintenance calendar, and a JSON 4xx for every bad input."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support_api import (
    HOSTILE_AREA,
    HOSTILE_NAME,
    HOSTILE_NOTE,
    Served,
    fetch,
    reading,
    serve,
    write_config,
)

from reports.runner import report
from uptime.web.app import make_app
from uptime.web.months import month_of

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def served(aiohttp_server: ServerFactory, tmp_path: Path) -> Served:
    return await serve(aiohttp_server, tmp_path)


async def get_json(
    served: Served, path: str, status: int = 200, headers: dict[str, str] | None = None
) -> Any:
    got, content_type, body = await fetch(served.url(path), headers)
    assert (got, content_type) == (status, "application/json"), body
    return json.loads(body)


async def test_vendors_lists_the_configuration(served: Served) -> None:
    body = await get_json(served, "/api/v1/vendors")
    assert [r["id"] for r in body["regions"]] == ["chicago", "california", "atlanta"]
    acme, bravo = body["vendors"]
    assert acme["name"] == HOSTILE_NAME  # JSON carries the text as it is
    assert (acme["timezone"], acme["quorum"], acme["target_pct"], acme["maintenance"]) == (
        "America/New_York",
        "all",
        99.9,
        "counts",
    )
    assert [(m["id"], m["functional_area"], m["critical"]) for m in acme["monitors"]] == [
        ("app", HOSTILE_AREA, True),
        ("docs", "Docs", False),
    ]
    assert acme["monitors"][0]["regions"] == ["chicago", "california", "atlanta"]
    assert (bravo["quorum"], bravo["maintenance"]) == ("majority", "excluded")
    assert "url" not in json.dumps(body)  # monitor URLs may carry credentials


async def test_status_keeps_the_states_and_adds_each_vendor(served: Served) -> None:
    body = await get_json(served, "/api/v1/status")
    assert len(body["states"]) == 9  # 3 monitors x 3 regions, as before
    assert {s["state"] for s in body["states"] if s["vendor"] == "acme"} == {"up"}
    acme, bravo = body["vendors"]
    assert (acme["id"], acme["name"], acme["state"]) == ("acme", HOSTILE_NAME, "up")
    assert acme["maintenance"]["active"] == []
    upcoming = acme["maintenance"]["upcoming"]
    assert [w["name"] for w in upcoming if w["source"] == "announced"] == ["Hotfix", HOSTILE_NOTE]
    hotfix = next(w for w in upcoming if w["name"] == "Hotfix")
    assert hotfix["kind"] == "emergency"
    assert acme["maintenance"]["next_start"] == upcoming[0]["start_utc"]
    # Bravo: only Atlanta sees it down, fewer than the majority: a regional advisory.
    [web_monitor] = bravo["monitors"]
    views = {r["region"]: r["state"] for r in web_monitor["regions"]}
    assert views == {"chicago": "up", "california": "up", "atlanta": "down"}
    assert web_monitor["state"] == "up"
    # Bravo's windows are on London's DST days; were one open now, the vendor would say so.
    assert bravo["state"] == ("maintenance" if bravo["maintenance"]["active"] else "up")


async def test_a_month_is_the_report_entry(served: Served) -> None:
    acme = served.config.vendor("acme")
    months = {month_of(acme, served.outage.start), month_of(acme, served.now)}
    for year, month in sorted(months):
        label = f"{year:04d}-{month:02d}"
        now = datetime.now(UTC)
        path = f"/api/v1/vendors/acme/months/{label}"
        entry = await get_json(served, path, headers=reading())
        document = json.loads(report(served.config, served.db, year, month, now=now))
        # The report's entry, and whether the month is closed (it is not).
        assert entry == {**document["vendors"][0], "closed": None}, label
        assert await get_json(served, path, headers=reading("admin")) == entry
    outage_month = month_of(acme, served.outage.start)
    entry = await get_json(
        served,
        "/api/v1/vendors/acme/months/{:04d}-{:02d}".format(*outage_month),
        headers=reading(),
    )
    [interruption] = entry["interruptions"]
    assert interruption["minutes"] == 30.0
    assert interruption["areas"] == [HOSTILE_AREA]
    assert interruption["regions"] == ["atlanta", "california", "chicago"]
    assert entry["minutes"]["downtime"] == 30.0


@pytest.mark.parametrize(
    ("day", "name", "start", "end", "minutes"),
    [
        ("2026-03-29", "Spring", "2026-03-29T00:00:00+00:00", "2026-03-29T04:00:00+01:00", 180),
        ("2026-10-25", "Autumn", "2026-10-25T00:00:00+01:00", "2026-10-25T04:00:00+00:00", 300),
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_maintenance_on_dst_days(
    served: Served, day: str, name: str, start: str, end: str, minutes: int
) -> None:
    body = await get_json(served, f"/api/v1/vendors/bravo/maintenance?from={day}&to={day}")
    assert (body["vendor"], body["timezone"], body["from"], body["to"]) == (
        "bravo",
        "Europe/London",
        day,
        day,
    )
    [window] = body["windows"]
    assert (window["name"], window["start"], window["end"], window["minutes"]) == (
        name,
        start,
        end,
        minutes,
    )
    assert (window["kind"], window["source"], window["announced_at"]) == (
        "scheduled",
        "recurring",
        None,
    )
    elapsed = datetime.fromisoformat(window["end_utc"]) - datetime.fromisoformat(
        window["start_utc"]
    )
    assert elapsed.total_seconds() == minutes * 60


async def test_maintenance_defaults_to_the_next_14_days(served: Served) -> None:
    zone = served.config.vendor("acme").timezone
    before = datetime.now(UTC).astimezone(zone).date()
    body = await get_json(served, "/api/v1/vendors/acme/maintenance")
    after = datetime.now(UTC).astimezone(zone).date()
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    assert first in {before, after} and (last - first).days == 13
    kinds = {w["name"]: w["kind"] for w in body["windows"]}
    assert kinds["Hotfix"] == "emergency" and kinds[HOSTILE_NOTE] == "scheduled"
    # acme's weekly window: twice in 14 days
    assert sum(w["source"] == "recurring" for w in body["windows"]) == 2


MONTHS = "/api/v1/vendors/acme/months/"
CALENDAR = "/api/v1/vendors/acme/maintenance"


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/v1/vendors/nobody/months/2026-01", 404, "unknown vendor 'nobody'"),
        ("/api/v1/vendors/nobody/maintenance", 404, "unknown vendor 'nobody'"),
        ("/maintenance/nobody.ics", 404, "unknown vendor 'nobody'"),
        (MONTHS + "2026-13", 422, "01 to 12"),
        (MONTHS + "2026-00", 422, "01 to 12"),
        (MONTHS + "0001-01", 422, "from 2000-01"),
        (MONTHS + "9999-12", 422, "to the current one"),
        (MONTHS + "1999-12", 422, "from 2000-01"),
        (MONTHS + "2026-1", 422, "expected YYYY-MM"),
        (MONTHS + "26-01", 422, "expected YYYY-MM"),
        (MONTHS + "２０２６-01", 422, "expected YYYY-MM"),  # digits, but not ASCII ones
        (MONTHS + "2026-01?x=1", 400, "unknown query parameter 'x'"),
        (CALENDAR + "?from=2026-02-30", 422, "from='2026-02-30'"),
        (CALENDAR + "?from=20260101", 422, "expected a date YYYY-MM-DD"),
        (CALENDAR + "?from=2026-01-01T00:00", 422, "expected a date YYYY-MM-DD"),
        (CALENDAR + "?from=0001-01-01", 422, "from 2000 to 2199"),
        (CALENDAR + "?to=9999-12-31&from=9999-12-01", 422, "from 2000 to 2199"),
        (CALENDAR + "?from=2026-03-02&to=2026-03-01", 422, "before from"),
        (CALENDAR + "?from=2026-01-01&to=2027-02-05", 422, "more than 400 days"),
        (CALENDAR + "?from=2026-01-01&from=2026-01-02", 400, "more than once"),
        (CALENDAR + "?form=2026-01-01", 400, "unknown query parameter 'form'"),
        ("/api/v1/status?verbose=1", 400, "unknown query parameter 'verbose'"),
        ("/api/v1/nothing", 404, "Not Found"),
    ],
    ids=lambda value: value if isinstance(value, str) and value.startswith("/") else None,
)
async def test_bad_input_is_a_json_4xx(served: Served, path: str, status: int, says: str) -> None:
    # The month route answers only the reader (401 for anyone else, tests/test_access.py).
    body = await get_json(served, path, status, reading() if "/months/" in path else None)
    assert list(body) == ["error"] and says in body["error"], body


async def test_a_range_of_400_days_is_accepted(served: Served) -> None:
    body = await get_json(served, CALENDAR + "?from=2026-01-01&to=2027-02-04")
    assert (body["from"], body["to"]) == ("2026-01-01", "2027-02-04")


async def test_a_wrong_method_is_a_json_405(served: Served) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.delete(served.url("/api/v1/status")) as response,
    ):
        assert response.status == 405
        assert response.headers["Allow"] == "GET,HEAD"
        assert list(await response.json()) == ["error"]


async def test_a_bug_is_a_logged_json_500_without_the_traceback(
    aiohttp_server: ServerFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, datetime.now(UTC))
    app = make_app(config, tmp_path / "uptime.db", probe_regions=())

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app.router.add_get("/api/v1/broken", broken)
    server = await aiohttp_server(app)
    with caplog.at_level(logging.ERROR, logger="uptime.web.responses"):
        status, _, body = await fetch(str(server.make_url("/api/v1/broken")))
    assert status == 500
    assert json.loads(body) == {"error": "internal error; the server's log has the details"}
    assert "secret detail" in caplog.text and b"secret" not in body
