"""Access control on 127.0.0.1: finance figures only with the reader's or the admin's token, the
rest public; no route writes finance data; the tokens' files and variables; ingest's refusals
of hostile requests (oversized, unauthenticated, nested, out of range, replayed, too many), each
answered 4xx (or an idempotent 2xx), never a 5xx; the configurable clock skew.

Every attack here is counted in docs/reliability.md ("Access control")."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support_api import READERS, Served, fetch, reading, serve
from support_cli import line_of, uptime_ledger
from support_ingest import RESULTS, batch, bearer, client_fixture, config_fixture  # noqa: F401
from support_metrics import READING, seed
from support_metrics import TOKENS as METRIC_TOKENS
from support_probing import FAST, TOKENS, region_jobs, wait_for, write_config

from probes.result import ProbeResult
from uptime.config import Config, load_config
from uptime.config.errors import ConfigError
from uptime.probing.agent import Agent, AgentOptions, retry_after
from uptime.probing.spool import Spool
from uptime.probing.wire import MAX_BODY, encode_result
from uptime.store.recorder import Recorder
from uptime.store.states import MAX_CLOCK_SKEW, StateTracker
from uptime.store.storage import Storage
from uptime.web.app import make_app
from uptime.web.keys import RECORDER
from uptime.web.tokens import (
    SetupError,
    agent_token,
    finance_tokens,
    matching,
    region_tokens,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient]]

# ---------------------------------------------------------------- finance figures


@pytest.fixture
async def served(aiohttp_server: ServerFactory, tmp_path: Path) -> Served:
    return await serve(aiohttp_server, tmp_path)


def outage_month(served: Served) -> str:
    start = served.outage.start.astimezone(served.config.vendor("acme").timezone)
    return f"{start.year:04d}-{start.month:02d}"


async def test_a_month_without_a_token_is_401_saying_how_to_get_one(served: Served) -> None:
    """The report API is finance data whole: besides the credit and the claim deadlines, the
    exclusions say who excluded what and why, and a closed month's hash of its frozen report
    would let anyone guess its (low-entropy) credit offline."""
    path = served.url(f"/api/v1/vendors/acme/months/{outage_month(served)}")
    for query in ("", "?x=1"):  # refused before anything else is read, its query included
        async with aiohttp.ClientSession() as session, session.get(path + query) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.json()
        assert list(body) == ["error"]
        assert body["error"] == (
            "no bearer token: finance figures need the reader's or the admin's token; send "
            "'Authorization: Bearer <token>' with it (the collector's web.reader_token_file "
            "or UPTIME_LEDGER_READER_TOKEN)"
        )
    status, _, full_body = await fetch(path, reading())
    full = json.loads(full_body)
    assert status == 200 and full["credit"]["monthly_fee"] == "720.00"
    assert full["interruptions"][0]["claim_deadline"]
    # Availability stays public, through the pages and the status API.
    status, _, page = await fetch(served.url("/vendor/acme"))
    assert status == 200 and b"%" in page


async def test_a_month_from_a_collector_without_a_reader_token_says_so(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    app = make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS, readers={})
    client = await aiohttp_client(app)
    month = datetime.now(UTC).strftime("%Y-%m")
    for headers in ({}, bearer()):  # nobody, not even a region's agent, reads it
        response = await client.get(f"/api/v1/vendors/sim/months/{month}", headers=headers)
        assert response.status == 401
        error = (await response.json())["error"]
        assert "this collector has none configured: set web.reader_token_file or " in error
        assert "UPTIME_LEDGER_READER_TOKEN on it" in error
        assert TOKENS["chicago"] not in error


WRONG_AUTHORIZATIONS = [
    pytest.param("Bearer not-a-token-of-ours-0123", id="wrong-token"),
    pytest.param(f"Bearer {TOKENS['chicago']}", id="a-regions-token"),
    pytest.param(f"Basic {READERS['reader']}", id="not-bearer"),
    pytest.param("Bearer ", id="empty"),
    pytest.param(f"Bearer {READERS['reader']}x", id="reader-token-plus-one"),
    pytest.param(f"Bearer {READERS['reader'][:-1]}", id="reader-token-less-one"),
]


@pytest.mark.parametrize("authorization", WRONG_AUTHORIZATIONS)
async def test_a_wrong_token_on_a_finance_route_is_401_and_not_echoed(
    served: Served, authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for path in (f"/api/v1/vendors/acme/months/{outage_month(served)}", "/metrics"):
        async with (
            aiohttp.ClientSession() as session,
            session.get(served.url(path), headers={"Authorization": authorization}) as response,
        ):
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), path
            error = (await response.json())["error"]
        assert "reader's or the admin's token" in error
        secret = authorization.partition(" ")[2]
        assert not secret or secret not in error
        assert not secret or secret not in caplog.text  # nor logged


async def test_metrics_without_a_token_have_no_credit_nor_deadline_and_months_are_401(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    seeded = seed(tmp_path)
    app = make_app(
        seeded.config, seeded.db, probe_regions=(), tokens=METRIC_TOKENS, readers=READERS
    )
    client = await aiohttp_client(app)
    anonymous = await (await client.get("/metrics")).text()
    full = await (await client.get("/metrics", headers=READING)).text()
    finance = ("uptime_ledger_month_credit", "uptime_ledger_claim_deadline_timestamp_seconds")
    for family in finance:
        assert f"\n{family}{{" in full, family
        assert family not in anonymous, family
    # Every other family is there for anyone: availability, states, maintenance, probes.
    assert families(anonymous) == families(full) - set(finance)
    assert "uptime_ledger_month_availability_ratio" in families(anonymous)
    # acme earns a credit this month: with the token its amount is there, without it a 401.
    month = f"/api/v1/vendors/acme/months/{seeded.month}"
    entry = await (await client.get(month, headers=READING)).json()
    amount = entry["credit"]["amount"]
    assert amount != "0.00" and entry["interruptions"][0]["claim_deadline"]
    response = await client.get(month)
    assert response.status == 401
    public = await response.text()
    for secret in (f'"{amount}"', "claim_deadline", "720", "USD"):
        assert secret not in public, secret


def families(exposition: str) -> set[str]:
    return {line.split()[2] for line in exposition.splitlines() if line.startswith("# HELP ")}


async def test_the_public_routes_need_no_token(served: Served) -> None:
    public = [
        "/",
        "/history",
        "/vendor/acme",
        "/api/v1/status",
        "/api/v1/vendors",
        "/api/v1/vendors/acme/maintenance",
        "/api/v1/openapi.json",
        "/maintenance.ics",
        "/feed.atom",
        "/healthz",
        "/metrics",
    ]
    for path in public:
        status, _, body = await fetch(served.url(path))
        assert status == 200, (path, body[:200])
        if path != "/metrics" and not path.startswith("/api/v1/openapi"):
            assert b"720.00" not in body and b"USD" not in body, path


def test_no_route_writes_but_the_agents_ingest(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    app = make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS)
    writes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("GET", "HEAD")
    }
    assert writes == {("POST", RESULTS)}  # finance writes are CLI-only


# ---------------------------------------------------------------- the tokens themselves


def config_with_web(tmp_path: Path, web_yaml: str) -> Config:
    write_config(tmp_path, "http://127.0.0.1:9/")
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(vendors.read_text() + web_yaml, encoding="utf-8")
    return load_config(vendors, tmp_path / "maintenance_windows.yaml")


def test_finance_tokens_come_from_files_or_the_environment(tmp_path: Path) -> None:
    reader, admin = "r" * 32, "a" * 32
    (tmp_path / "reader.token").write_text(reader + "\n")
    config = config_with_web(tmp_path, "web: {reader_token_file: reader.token}\n")
    assert config.web.reader_token_file == tmp_path / "reader.token"
    assert finance_tokens(config, {}, {}) == {"reader": reader}
    both = finance_tokens(config, {}, {"UPTIME_LEDGER_ADMIN_TOKEN": admin})
    assert both == {"reader": reader, "admin": admin}
    (tmp_path / "none").mkdir()
    none = config_with_web(tmp_path / "none", "")
    assert finance_tokens(none, {}, {}) == {}
    assert finance_tokens(none, {}, {"UPTIME_LEDGER_READER_TOKEN": f" {reader} "}) == {
        "reader": reader
    }


@pytest.mark.parametrize(
    ("environ", "regions", "says"),
    [
        (
            {"UPTIME_LEDGER_READER_TOKEN": "short-secret"},
            {},
            "UPTIME_LEDGER_READER_TOKEN: expected one",
        ),
        ({"UPTIME_LEDGER_READER_TOKEN": "x" * 20 + " y"}, {}, "without spaces"),
        (
            {"UPTIME_LEDGER_READER_TOKEN": "s" * 20, "UPTIME_LEDGER_ADMIN_TOKEN": "s" * 20},
            {},
            "the reader's and the admin's tokens are the same",
        ),
        ({"UPTIME_LEDGER_ADMIN_TOKEN": "c" * 20}, {"chicago": "c" * 20}, "also region chicago's"),
    ],
    ids=["short", "spaces", "reader-is-admin", "admin-is-a-region"],
)
def test_bad_finance_tokens_are_refused_without_showing_them(
    tmp_path: Path, environ: dict[str, str], regions: dict[str, str], says: str
) -> None:
    config = config_with_web(tmp_path, "")
    with pytest.raises(SetupError) as refused:
        finance_tokens(config, regions, environ)
    assert says in str(refused.value)
    for secret in environ.values():
        assert secret.strip() not in str(refused.value)


def test_a_token_file_and_its_variable_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "reader.token").write_text("r" * 32)
    config = config_with_web(tmp_path, "web: {reader_token_file: reader.token}\n")
    with pytest.raises(SetupError, match=r"web\.reader_token_file and the environment variable"):
        finance_tokens(config, {}, {"UPTIME_LEDGER_READER_TOKEN": "q" * 32})


def test_one_file_for_the_reader_and_the_admin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="also the reader_token_file"):
        config_with_web(
            tmp_path, "web: {reader_token_file: one.token, admin_token_file: ./one.token}\n"
        )


@pytest.mark.parametrize(
    ("token", "mode", "exit_code", "says"),
    [
        (None, None, 2, "web.reader_token_file: "),
        ("a" * 64, 0o640, 0, "warning: "),
        ("a" * 64, 0o600, 0, ""),
    ],
    ids=["missing", "readable-by-others", "fine"],
)
def test_check_config_checks_the_reader_token_file(
    tmp_path: Path, token: str | None, mode: int | None, exit_code: int, says: str
) -> None:
    write_config(tmp_path, "http://127.0.0.1:9/")
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(vendors.read_text() + "web: {reader_token_file: reader.token}\n")
    if token is not None and mode is not None:
        (tmp_path / "reader.token").write_text(token)
        (tmp_path / "reader.token").chmod(mode)
    done = uptime_ledger(
        "--vendors", vendors, "--maintenance", tmp_path / "maintenance_windows.yaml",
        "check-config", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr
    if token is not None:
        assert token not in done.stderr + done.stdout  # never echoed
    if says.startswith("warning"):
        assert [line for line in done.stderr.splitlines() if line.strip()] == [
            f"uptime-ledger: warning: {vendors}:{line_of(vendors, 'reader_token_file')}: "
            "web.reader_token_file: "
            f"{tmp_path / 'reader.token'} is readable by other users; restrict it: "
            f"chmod 600 {tmp_path / 'reader.token'}"
        ]
    elif says:
        assert says in done.stderr
    else:
        assert done.stderr == "" and "OK:" in done.stdout
        assert f"with the reader's token (in {tmp_path / 'reader.token'})" in done.stdout


def test_two_regions_whose_token_files_hold_one_token_are_refused(tmp_path: Path) -> None:
    """As two regions naming one file are (tests/test_config.py): one region's agents could
    write the other's results, and the collector could not tell whose a batch is."""
    token = "same-token-0123456789abcdef"
    (tmp_path / "chicago.token").write_text(token + "\n")
    (tmp_path / "atlanta.token").write_text(token)
    (tmp_path / "california.token").write_text("another-token-0123456789abcdef")
    for path in tmp_path.glob("*.token"):
        path.chmod(0o600)
    extra = {r: f", token_file: {r}.token" for r in ("chicago", "california", "atlanta")}
    config = write_config(tmp_path, "http://127.0.0.1:9/", region_extra=extra)
    says = (
        f"{tmp_path / 'vendors.yaml'}:{line_of(tmp_path / 'vendors.yaml', 'atlanta.token')}: "
        f"regions.atlanta.token_file: {tmp_path / 'atlanta.token'} "
        f"holds the same token as region chicago's ({tmp_path / 'chicago.token'}); "
        "give each region its own"
    )
    with pytest.raises(SetupError) as refused:
        region_tokens(config)
    assert str(refused.value) == says
    with pytest.raises(SetupError, match="holds the same token"):
        make_app(config, tmp_path / "uptime.db", probe_regions=())  # the collector's start
    done = uptime_ledger(
        "--vendors", tmp_path / "vendors.yaml",
        "--maintenance", tmp_path / "maintenance_windows.yaml", "check-config", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert token not in done.stderr + done.stdout  # never shown
    (tmp_path / "atlanta.token").write_text("atlanta-token-0123456789abcdef")
    assert set(region_tokens(config)) == {"chicago", "california", "atlanta"}


# ---------------------------------------------------------------- ingest: hostile requests


T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def result(at: datetime, vendor: str = "sim", monitor: str = "m0") -> dict[str, Any]:
    return encode_result(
        ProbeResult(
            vendor=vendor, monitor=monitor, region="chicago", at=at, ok=True, latency=0.01,
            status=200,
        )
    )  # fmt: skip


def stored(db: Path) -> list[tuple[Any, ...]]:
    storage = Storage(db)
    try:
        return storage.db.execute("select vendor, monitor, at from results order by at").fetchall()
    finally:
        storage.close()


async def raw_exchange(port: int, head: str, wait: float = 5.0) -> str:
    """Send ``head`` (request line and headers, no body) and read what comes back within
    ``wait`` seconds: the server answers without waiting for the body it was promised."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readuntil(b"}"), wait)).decode()
    finally:
        writer.close()


def head(length: int, authorization: str | None, expect: bool = False) -> str:
    lines = [
        f"POST {RESULTS} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    if expect:
        lines.append("Expect: 100-continue")
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.mark.parametrize(
    ("length", "authorization", "expect", "status"),
    [
        (MAX_BODY + 1, f"Bearer {TOKENS['chicago']}", False, 413),
        (10**12, f"Bearer {TOKENS['chicago']}", False, 413),
        (100 * 2**20, None, False, 401),
        (100, "Bearer wrong-token-0123456789", False, 401),
        (MAX_BODY + 1, f"Bearer {TOKENS['chicago']}", True, 413),
        (1000, None, True, 401),
    ],
    ids=["one-past", "a-terabyte", "no-token", "wrong-token", "expect-too-long", "expect-no-token"],
)
async def test_refused_before_the_body_is_read(
    client: TestClient, length: int, authorization: str | None, expect: bool, status: int
) -> None:
    answer = await raw_exchange(client.port, head(length, authorization, expect))
    assert answer.startswith(f"HTTP/1.1 {status} "), answer
    assert "100 Continue" not in answer  # the client is never asked for the body
    assert client.app[RECORDER].ingested == 0


async def test_expect_100_continue_goes_on_for_a_good_request(client: TestClient) -> None:
    payload = json.dumps(batch(1, [result(T0)])).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(head(len(payload), f"Bearer {TOKENS['chicago']}", expect=True).encode())
        await writer.drain()
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(
            b"HTTP/1.1 100 Continue"
        )
        writer.write(payload)
        answer = (await asyncio.wait_for(reader.readuntil(b"}"), 5)).decode()
    finally:
        writer.close()
    assert answer.startswith("HTTP/1.1 200 ") and '"new": 1' in answer


async def test_a_chunked_body_is_cut_at_the_limit(client: TestClient) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"agent": "chicago-abc", "region": "chicago", "first_seq": 1, "results": ['
        chunk = (json.dumps(result(T0)) + ",").encode() * 256
        while sent < 4 * MAX_BODY:
            sent += len(chunk)
            yield chunk

    try:
        response = await client.post(RESULTS, data=endless(), headers=bearer())
    except aiohttp.ClientError:
        pytest.fail("the server dropped the connection instead of answering 413")
    assert response.status == 413
    assert "body too large" in (await response.json())["error"]
    assert sent < 2 * MAX_BODY  # it stopped reading at the limit, not at the end
    assert client.app[RECORDER].ingested == 0


NESTED = [
    pytest.param(b"[" * 100_000, id="100k-brackets"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="50k-objects"),
    pytest.param(
        json.dumps(batch(1, [])).replace("[]", "[" * 20_000 + "]" * 20_000).encode(),
        id="nested-results",
    ),
]


@pytest.mark.parametrize("payload", NESTED)
async def test_deeply_nested_json_is_a_400(
    client: TestClient, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.post(RESULTS, data=payload, headers=bearer())
    assert response.status == 400
    assert "nested too deeply" in (await response.json())["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _with(**fields: Any) -> bytes:
    item = {**result(T0), **fields}
    return json.dumps(batch(1, [item])).encode()


OUT_OF_RANGE = [
    pytest.param(json.dumps(batch(2**63, [result(T0)])).encode(), "body.first_seq", id="seq-2**63"),
    pytest.param(json.dumps(batch(2**64 + 5, [])).encode(), "body.first_seq", id="seq-2**64"),
    pytest.param(json.dumps(batch(-(2**63), [])).encode(), "body.first_seq", id="seq-negative"),
    pytest.param(
        json.dumps(batch(1, [])).replace('"first_seq": 1', '"first_seq": ' + "9" * 5000).encode(),
        "digits is out of range", id="seq-5000-digits",
    ),
    pytest.param(
        json.dumps(batch(1, [])).replace('"first_seq": 1', '"first_seq": 1e30').encode(),
        "body.first_seq: got float", id="seq-float",
    ),
    pytest.param(_with(status=10**6), "body.results[0].status", id="status-1e6"),
    pytest.param(_with(status=99), "body.results[0].status", id="status-99"),
    pytest.param(
        _with(latency=1).replace(b'"latency": 1', b'"latency": 1e999'), "latency", id="latency-inf"
    ),
    pytest.param(
        _with(latency=1).replace(b'"latency": 1', b'"latency": NaN'), "latency", id="latency-nan"
    ),
    pytest.param(_with(at="2025-13-01T00:00:00Z"), "body.results[0].at", id="month-13"),
    pytest.param(_with(at="99999-01-01T00:00:00Z"), "body.results[0].at", id="year-99999"),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "says"), OUT_OF_RANGE)
async def test_out_of_range_numbers_are_a_422(
    client: TestClient, payload: bytes, says: str
) -> None:
    response = await client.post(RESULTS, data=payload, headers=bearer())
    assert response.status == 422, await response.text()
    assert says in (await response.json())["error"]
    assert client.app[RECORDER].ingested == 0


async def test_unknown_region_and_another_regions_token(client: TestClient) -> None:
    response = await client.post(RESULTS, json=batch(1, [], region="mars"), headers=bearer())
    assert response.status == 422 and "unknown region 'mars'" in (await response.json())["error"]
    response = await client.post(RESULTS, json=batch(1, [result(T0)]), headers=bearer("atlanta"))
    assert response.status == 403
    assert "the token is for region 'atlanta'" in (await response.json())["error"]
    assert client.app[RECORDER].ingested == 0


async def test_unknown_vendors_and_monitors_are_ignored_logged_and_never_stored(
    client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = [
        result(T0, vendor="nobody"),
        result(T0 + timedelta(seconds=1), monitor="gone"),
        result(T0 + timedelta(seconds=2), vendor="../../etc", monitor="'; drop table results"),
    ]
    with caplog.at_level(logging.WARNING, logger="uptime.web.ingest"):
        response = await client.post(RESULTS, json=batch(1, unknown), headers=bearer())
    assert response.status == 200
    answer = await response.json()
    assert (answer["new"], answer["ignored"], answer["received"]) == (0, 3, 3)
    assert "sent 3 results for monitors not probed from chicago; ignored" in caplog.text
    await client.close()  # the app stops: its database is closed
    assert stored(tmp_path / "uptime.db") == []


async def test_replayed_and_older_batches_get_an_idempotent_200(
    client: TestClient, tmp_path: Path
) -> None:
    older = batch(1, [result(T0), result(T0 + timedelta(seconds=1))])
    newer = batch(3, [result(T0 + timedelta(seconds=2)), result(T0 + timedelta(seconds=3))])
    answers = []
    for body in (newer, newer, older, older, newer):
        response = await client.post(RESULTS, json=body, headers=bearer())
        assert response.status == 200
        answers.append(await response.json())
    # The agent sends a batch only once every one before it is acknowledged: an older batch
    # after a newer one is a replay of what was stored, and stores nothing.
    assert [a["new"] for a in answers] == [2, 0, 0, 0, 0]
    assert [a["last_seq"] for a in answers] == [4, 4, 4, 4, 4]
    await client.close()
    assert len(stored(tmp_path / "uptime.db")) == 2


async def test_ingest_is_rate_limited_per_region(
    aiohttp_client: ClientFactory, config: Config, tmp_path: Path
) -> None:
    # The default limit: a burst of 100, then 10 a second, by a clock the test moves (however
    # slow the machine, the bucket refills only when it says). Empty batches cost nothing.
    now = [1000.0]
    app = make_app(
        config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS, ingest_clock=lambda: now[0]
    )
    client = await aiohttp_client(app)

    async def post(region: str = "chicago") -> aiohttp.ClientResponse:
        return await client.post(
            RESULTS, json=batch(1, [], region=region, agent=f"{region}-abc"), headers=bearer(region)
        )

    statuses = [(await post()).status for _ in range(100)]
    assert statuses == [200] * 100
    response = await post()
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"  # 0.1 s to the next token, rounded up
    assert "too many requests from region chicago's agents" in (await response.json())["error"]
    # Another region's agents are not held back by chicago's.
    assert (await post("atlanta")).status == 200
    # A tenth of a second later, one more POST; two tenths, two.
    now[0] += 0.1
    assert [(await post()).status for _ in range(2)] == [200, 429]
    now[0] += 0.2
    assert [(await post()).status for _ in range(3)] == [200, 200, 429]
    # Idle long enough, the whole burst again, never more.
    now[0] += 3600
    assert [(await post()).status for _ in range(101)] == [200] * 100 + [429]


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after(None) == 0.0
    assert retry_after("3") == 3.0
    assert retry_after("86400") == 300.0  # honoured up to 5 minutes
    assert retry_after("soon") == 0.0
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= retry_after(later) <= 30


async def test_the_agent_waits_as_long_as_retry_after_says(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    posts: list[float] = []  # when each batch with results came

    async def limited(request: web.Request) -> web.Response:
        body = await request.json()
        if not body["results"]:  # the agent's hello
            return web.json_response({"new": 0, "ignored": 0, "last_seq": 0, "received": 0})
        posts.append(time.monotonic())
        if len(posts) == 1:
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "1"}
            )
        n = len(body["results"])
        last = body["first_seq"] + n - 1
        return web.json_response({"new": n, "ignored": 0, "last_seq": last, "received": n})

    app = web.Application()
    app.router.add_post(RESULTS, limited)
    server = await aiohttp_server(app)
    spool_path = tmp_path / "spool.db"
    with Spool(spool_path, "chicago") as spool:
        spool.append([result(T0)])
    agent = Agent(
        config, "chicago", str(server.make_url("/")), TOKENS["chicago"], spool_path,
        jobs=[], probing=FAST,
        options=AgentOptions(backoff_min=0.05, backoff_max=0.1, drain_on_stop=0),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    assert await wait_for(lambda: agent.sent == 1, 5)
    stop.set()
    await running
    assert len(posts) == 2
    assert posts[1] - posts[0] >= 0.95  # not the 0.05 s of its own backoff


async def test_a_whole_batch_of_unknown_monitors_does_not_block_the_spool(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    """Config drift: the agent probes monitors the collector's vendors.yaml no longer has."""
    from support_probing import Timeline

    target = await aiohttp_server(Timeline({}).app())
    url = str(target.make_url("/"))
    (tmp_path / "agent").mkdir()
    (tmp_path / "collector").mkdir()
    agent_config = write_config(tmp_path / "agent", url, monitors=3)
    collector_config = write_config(tmp_path / "collector", url, monitors=1)
    db = tmp_path / "uptime.db"
    server = await aiohttp_server(make_app(collector_config, db, probe_regions=(), tokens=TOKENS))
    jobs = [j for j in region_jobs(agent_config, dict.fromkeys(TOKENS, url))
            if j.region == "chicago" and j.target.monitor != "m0"]  # fmt: skip
    agent = Agent(
        agent_config, "chicago", str(server.make_url("/")), TOKENS["chicago"],
        tmp_path / "spool.db", jobs=jobs, probing=FAST,
        options=AgentOptions(backoff_min=0.05, backoff_max=0.1, drain_on_stop=3),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    assert await wait_for(lambda: agent.sent >= 6, 8)
    stop.set()
    await running  # no AgentRefused: the collector answered 200 with every result ignored
    with Spool(tmp_path / "spool.db", "chicago") as spool:
        assert spool.pending() == 0
    assert agent.sent == agent.scheduler.stats.results
    await server.close()
    assert stored(db) == []


# ---------------------------------------------------------------- clock skew


def skewed_config(tmp_path: Path, skew: str) -> Config:
    write_config(tmp_path, "http://127.0.0.1:9/")
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(vendors.read_text() + f"probing: {{max_clock_skew: {skew}}}\n")
    return load_config(vendors, tmp_path / "maintenance_windows.yaml")


@pytest.mark.parametrize("skew", ["0s", "500ms", "2h", "-1m", "soon"])
def test_max_clock_skew_is_bounded(tmp_path: Path, skew: str) -> None:
    with pytest.raises(ConfigError, match=r"probing\.max_clock_skew"):
        skewed_config(tmp_path, skew)


async def test_the_configured_skew_is_what_ingest_allows(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = skewed_config(tmp_path, "5m")
    assert config.probing.max_clock_skew == timedelta(minutes=5) != MAX_CLOCK_SKEW
    client = await aiohttp_client(
        make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS)
    )
    now = datetime.now(UTC)
    # Ahead by 3 minutes: refused under the default 1 minute, fine under 5.
    response = await client.post(
        RESULTS, json=batch(1, [result(now + timedelta(minutes=3))]), headers=bearer()
    )
    assert response.status == 200 and (await response.json())["new"] == 1
    states = await client.app[RECORDER].region_states(datetime.now(UTC))
    assert states[("sim", "m0", "chicago")][0] == "up"  # and it moved the state tracker
    # Ahead by 7 minutes: refused, saying by how much the agent's clock is off.
    response = await client.post(
        RESULTS, json=batch(2, [result(now + timedelta(minutes=7))]), headers=bearer()
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert "the agent's clock is off by at least" in error
    off = error.split("off by at least ")[1].split(";")[0]
    assert off in {"6m 56s", "6m 57s", "6m 58s", "6m 59s", "7m 0s", "7m 1s"}, off
    assert "at most 5m ahead (probing.max_clock_skew)" in error


async def test_results_stamped_long_ago_are_fine(client: TestClient) -> None:
    """A spool replayed after a week's outage: old results in a fresh batch are stored."""
    week_ago = datetime.now(UTC) - timedelta(days=7)
    results = [result(week_ago + timedelta(minutes=i)) for i in range(3)]
    response = await client.post(RESULTS, json=batch(1, results), headers=bearer())
    assert response.status == 200 and (await response.json())["new"] == 3


def test_the_state_tracker_uses_the_configured_skew() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    ahead = ProbeResult("sim", "m0", "chicago", now + timedelta(minutes=3), True, 0.01)
    default = StateTracker(clock=lambda: now)
    default.observe(ahead, timedelta(minutes=5))
    assert default.open == {}  # past the default minute: it never moves the intervals
    wider = StateTracker(clock=lambda: now, max_skew=timedelta(minutes=5))
    wider.observe(ahead, timedelta(minutes=5))
    assert wider.open[("sim", "m0", "chicago")].start == ahead.at


def test_matching_names_whose_token_it_is() -> None:
    tokens = {"chicago": TOKENS["chicago"], "atlanta": TOKENS["atlanta"]}
    assert matching(TOKENS["atlanta"], tokens) == "atlanta"
    assert matching(TOKENS["chicago"], tokens) == "chicago"
    assert matching(TOKENS["chicago"] + "x", tokens) is None
    assert matching(TOKENS["chicago"], {}) is None


@pytest.mark.parametrize("factory", [False, True], ids=["path", "storage-factory"])
async def test_the_recorder_s_skew_is_its_storage_s(tmp_path: Path, factory: bool) -> None:
    """Given a path or a callable making its Storage (with the default skew), the recorder's
    state tracker takes a result ingest took."""
    db = tmp_path / "uptime.db"
    recorder = Recorder(
        (lambda: Storage(db)) if factory else db,
        {("sim", "m0"): timedelta(minutes=5)},
        {"chicago": {("sim", "m0")}},
        max_clock_skew=timedelta(minutes=5),
    )
    await recorder.open()
    try:
        ahead = datetime.now(UTC) + timedelta(minutes=3)
        assert await recorder.ingest([ProbeResult("sim", "m0", "chicago", ahead, True, 0.01)]) == 1
        states = await recorder.region_states(datetime.now(UTC))
        assert states[("sim", "m0", "chicago")][0] == "up"  # under the default 1 minute: none
    finally:
        await recorder.close()


async def test_a_regions_token_may_come_from_the_environment(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    config = write_config(
        tmp_path, "http://127.0.0.1:9/", region_extra={"chicago": ", token_env: CHICAGO_TOKEN"}
    )
    assert config.region("chicago").remote and not config.region("atlanta").remote
    line = line_of(tmp_path / "vendors.yaml", "CHICAGO_TOKEN")
    with pytest.raises(SetupError) as unset:
        region_tokens(config, environ={})
    assert str(unset.value) == (
        f"{tmp_path / 'vendors.yaml'}:{line}: regions.chicago.token_env: the environment "
        "variable CHICAGO_TOKEN is not set"
    )
    with pytest.raises(SetupError, match="at least 16 characters"):
        region_tokens(config, environ={"CHICAGO_TOKEN": "short"})
    tokens = region_tokens(config, environ={"CHICAGO_TOKEN": TOKENS["chicago"] + "\n"})
    assert tokens == {"chicago": TOKENS["chicago"]}
    app = make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=tokens)
    client = await aiohttp_client(app)
    answer = await client.post(RESULTS, json=batch(1, [result(T0)]), headers=bearer())
    assert answer.status == 200 and (await answer.json())["new"] == 1


def test_token_env_and_token_file_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"regions\.chicago\.token_env.*token_env beside"):
        write_config(
            tmp_path,
            "http://127.0.0.1:9/",
            region_extra={"chicago": ", token_file: c.token, token_env: CHICAGO_TOKEN"},
        )
    with pytest.raises(ConfigError, match=r"regions\.chicago\.token_env"):
        write_config(tmp_path, "http://127.0.0.1:9/", region_extra={"chicago": ", token_env: x"})


def test_an_agent_takes_its_token_from_the_environment_without_a_token_file(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    common = ("--vendors", config.vendors_path, "--maintenance", config.maintenance_path,
              "agent", "--region", "chicago", "--collector", "http://127.0.0.1:9")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "UPTIME_LEDGER_AGENT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "uptime.cli", *map(str, common)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "uptime-ledger: error: no token: give --token-file F or set the environment variable "
        "UPTIME_LEDGER_AGENT_TOKEN"
    ]
    env["UPTIME_LEDGER_AGENT_TOKEN"] = "short"
    done = subprocess.run(
        [sys.executable, "-m", "uptime.cli", *map(str, common)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "the environment variable UPTIME_LEDGER_AGENT_TOKEN: expected one token" in done.stderr
    assert "short" not in done.stderr
    token = TOKENS["chicago"]
    assert agent_token(None, {"UPTIME_LEDGER_AGENT_TOKEN": f" {token}\n"}) == token
