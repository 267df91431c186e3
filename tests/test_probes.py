"""Probe kinds against real servers on 127.0.0.1: every failure class, the 1 MiB cap, TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from support_probing import free_port

import probes
from probes import CHECKS, FailureClass, ProbeResult, ProbeTarget
from probes.evidence import MESSAGE_MAX
from probes.http import BODY_CAP, ProbeResponse, new_session

ServerFactory = Callable[..., Awaitable[TestServer]]

NEEDLE = "Welcome"
SLACK = 0.25  # seconds a probe may overrun its timeout (scheduling on a busy CI box)


# ---------------------------------------------------------------- servers


async def _stream(
    request: web.Request, parts: list[bytes], pause: float = 0.0
) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    try:
        for part in parts:
            await resp.write(part)
            if pause:
                await asyncio.sleep(pause)
        await resp.write_eof()
    except ConnectionError:
        pass  # the probe stopped reading (the cap) and closed: expected
    return resp


async def ok(request: web.Request) -> web.Response:
    return web.Response(text=f"<h1>{NEEDLE}</h1>")


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="<h1>Hello</h1>")


async def unavailable(request: web.Request) -> web.Response:
    return web.Response(status=503, text="maintenance")


async def empty(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def close(request: web.Request) -> web.Response:
    return web.Response(text=NEEDLE, headers={"Connection": "close"})


async def late(request: web.Request) -> web.StreamResponse:
    # ~512 KiB of filler in 16 writes, then the needle: found, but not in the first read.
    return await _stream(request, [b"x" * 32768] * 16 + [NEEDLE.encode()])


async def split(request: web.Request) -> web.StreamResponse:
    # The needle straddles two writes that arrive apart.
    return await _stream(request, [b"x" * 100_000 + b"Wel", b"come"], pause=0.05)


def _at(offset: int) -> bytes:
    return b"x" * offset + NEEDLE.encode() + b"x" * 1000


async def cap_edge_in(request: web.Request) -> web.Response:
    return web.Response(body=_at(BODY_CAP - len(NEEDLE)))  # needle's last byte is byte 1 MiB


async def cap_edge_out(request: web.Request) -> web.Response:
    return web.Response(body=_at(BODY_CAP - len(NEEDLE) + 1))  # one byte too far


async def huge(request: web.Request) -> web.StreamResponse:
    # 16 MiB with the needle only at the very end.
    return await _stream(request, [b"x" * 65536] * 256 + [NEEDLE.encode()])


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.2)
    return web.Response(text=NEEDLE)


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.Response(text=NEEDLE)


async def redirect(request: web.Request) -> web.Response:
    left = int(request.match_info["left"])
    if left == 0:
        return web.Response(text=NEEDLE)
    raise web.HTTPFound(f"/redirect/{left - 1}")


def make_app() -> web.Application:
    app = web.Application()
    for path, handler in {
        "/ok": ok,
        "/hello": hello,
        "/503": unavailable,
        "/empty": empty,
        "/close": close,
        "/late": late,
        "/split": split,
        "/cap-edge-in": cap_edge_in,
        "/cap-edge-out": cap_edge_out,
        "/huge": huge,
        "/slow": slow,
        "/hang": hang,
        "/redirect/{left}": redirect,
    }.items():
        app.router.add_route("*", path, handler)
    return app


@pytest.fixture
async def server(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(make_app())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener whose accept queue is full, so a new connect hangs in SYN retries.

    Gives a real connect timeout without leaving 127.0.0.1 (Linux drops the SYN).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.05)
    yield port
    for c in fillers:
        c.close()
    listener.close()


def target(url: str, kind: str = "http", **kw: Any) -> ProbeTarget:
    return ProbeTarget(vendor="acme", monitor="app", url=url, kind=kind, **kw)  # type: ignore[arg-type]


def assert_well_formed(result: ProbeResult, before: datetime) -> None:
    assert (result.vendor, result.monitor, result.region) == ("acme", "app", "chicago")
    assert result.at.tzinfo is UTC
    assert before <= result.at <= before + timedelta(seconds=1)  # when the probe *started*
    assert result.latency >= 0
    assert result.ok is (result.error is None)
    assert (result.message is None) is (result.ok and not result.degraded)
    assert result.message is None or len(result.message) <= MESSAGE_MAX
    assert not (result.degraded and not result.ok)


async def run(t: ProbeTarget, session: aiohttp.ClientSession | None, timeout: float) -> ProbeResult:
    before = datetime.now(UTC)
    result = await CHECKS[t.kind](t, session, timeout, region="chicago")
    assert_well_formed(result, before)
    return result


# ---------------------------------------------------------------- HTTP against a local server


@dataclass(frozen=True)
class Case:
    path: str
    ok: bool
    error: FailureClass | None = None
    status: int | None = 200
    message: str | None = None  # a substring of the evidence
    degraded: bool = False
    timeout: float = 5.0
    kw: dict[str, Any] = field(default_factory=dict)


HTTP_CASES = {
    "ok-200": Case("/ok", ok=True),
    "ok-204-no-body": Case("/empty", ok=True, status=204, kw={"expect_status": (204,)}),
    "ok-head": Case("/ok", ok=True, kw={"method": "HEAD"}),
    "ok-503-when-expected": Case("/503", ok=True, status=503, kw={"expect_status": (200, 503)}),
    "status-503": Case("/503", ok=False, error=FailureClass.STATUS, status=503, message="HTTP 503"),
    "status-204-unexpected": Case(
        "/empty", ok=False, error=FailureClass.STATUS, status=204, message="HTTP 204"
    ),
    "status-404": Case(
        "/nope", ok=False, error=FailureClass.STATUS, status=404, message="HTTP 404"
    ),
    "body-found": Case("/ok", ok=True, kw={"body_contains": NEEDLE}),
    "body-missing": Case(
        "/hello",
        ok=False,
        error=FailureClass.BODY,
        message="body lacks 'Welcome'",
        kw={"body_contains": NEEDLE},
    ),
    "body-not-checked-on-bad-status": Case(
        "/503", ok=False, error=FailureClass.STATUS, status=503, kw={"body_contains": "nope"}
    ),
    "body-found-beyond-first-chunk": Case("/late", ok=True, kw={"body_contains": NEEDLE}),
    "body-found-across-writes": Case("/split", ok=True, kw={"body_contains": NEEDLE}),
    "body-found-ending-at-1MiB": Case("/cap-edge-in", ok=True, kw={"body_contains": NEEDLE}),
    "body-one-byte-past-1MiB": Case(
        "/cap-edge-out",
        ok=False,
        error=FailureClass.BODY,
        message="in its first 1 MiB",  # BODY_CAP, as docs/configuration.md says it
        kw={"body_contains": NEEDLE},
    ),
    "body-only-after-16MiB": Case(
        "/huge", ok=False, error=FailureClass.BODY, kw={"body_contains": NEEDLE}
    ),
    "slow-but-under-max-latency": Case("/ok", ok=True, kw={"max_latency": 5.0}),
    "slow-over-max-latency-degraded": Case(
        "/slow", ok=True, degraded=True, message="slow: ", kw={"max_latency": 0.05}
    ),
    "slow-no-max-latency": Case("/slow", ok=True),
    "redirects-within-limit": Case("/redirect/3", ok=True, kw={"body_contains": NEEDLE}),
    "redirects-exactly-limit": Case("/redirect/5", ok=True, kw={"max_redirects": 5}),
    "redirects-beyond-limit": Case(
        "/redirect/6",
        ok=False,
        error=FailureClass.STATUS,
        status=302,
        message="too many redirects (>5)",
        kw={"max_redirects": 5},
    ),
    "redirects-off-302": Case(
        "/redirect/1",
        ok=False,
        error=FailureClass.STATUS,
        status=302,
        message="HTTP 302",
        kw={"max_redirects": 0},
    ),
    "redirects-off-302-expected": Case(
        "/redirect/1", ok=True, status=302, kw={"max_redirects": 0, "expect_status": (302,)}
    ),
    "timeout-slow-handler": Case(
        "/hang", ok=False, error=FailureClass.TIMEOUT, status=None, message="timed out", timeout=0.3
    ),
    "timeout-slower-than-handler-limit": Case(
        "/slow", ok=False, error=FailureClass.TIMEOUT, status=None, timeout=0.05
    ),
}


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
async def test_http(case: Case, server: TestServer, session: aiohttp.ClientSession) -> None:
    t = target(str(server.make_url(case.path)), **case.kw)
    started = time.perf_counter()
    result = await run(t, session, case.timeout)
    elapsed = time.perf_counter() - started

    assert result.ok is case.ok, result
    assert result.error == case.error
    assert result.status == case.status
    assert result.degraded is case.degraded
    if case.message:
        assert result.message is not None and case.message in result.message
    assert elapsed < case.timeout + SLACK
    assert result.latency <= elapsed
    assert result.cert_expires_at is None  # plain HTTP


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every size the probe pulls out of a response body."""
    sizes: list[int] = []
    original = aiohttp.StreamReader.read

    async def counting(self: aiohttp.StreamReader, n: int = -1) -> bytes:
        data = await original(self, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(aiohttp.StreamReader, "read", counting)
    return sizes


async def test_body_cap_holds(
    server: TestServer, session: aiohttp.ClientSession, bytes_read: list[int]
) -> None:
    result = await run(target(str(server.make_url("/huge")), body_contains=NEEDLE), session, 5.0)
    assert result.error is FailureClass.BODY
    assert sum(bytes_read) == BODY_CAP
    assert all(0 < n <= BODY_CAP for n in bytes_read)


async def test_body_not_read_without_body_contains(
    server: TestServer, session: aiohttp.ClientSession, bytes_read: list[int]
) -> None:
    result = await run(target(str(server.make_url("/huge"))), session, 5.0)
    assert result.ok
    assert bytes_read == []


async def test_timeout_message_is_the_probes_own(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    result = await run(target(str(server.make_url("/hang"))), session, 0.2)
    assert result.message == "timed out after 0.2s"
    assert 0.2 <= result.latency < 0.2 + SLACK


async def test_session_timeout_tighter_than_probes(server: TestServer) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1)) as s:
        result = await run(target(str(server.make_url("/hang"))), s, 5.0)
    assert result.error is FailureClass.TIMEOUT
    assert result.message is not None and result.message.startswith("timed out: ")
    assert result.latency < 1.0


async def test_message_clipped(server: TestServer, session: aiohttp.ClientSession) -> None:
    t = target(str(server.make_url("/hello")), body_contains="y" * 500)
    result = await run(t, session, 5.0)
    assert result.message is not None
    assert len(result.message) == MESSAGE_MAX
    assert result.message.startswith("body lacks 'yyy") and result.message.endswith("…")


# ---------------------------------------------------------------- HTTP without a healthy server


async def test_http_refused(session: aiohttp.ClientSession) -> None:
    result = await run(target(f"http://127.0.0.1:{free_port()}/"), session, 5.0)
    assert result.error is FailureClass.CONNECT
    assert result.message == "connection refused"
    assert result.status is None


async def test_http_dns(session: aiohttp.ClientSession) -> None:
    result = await run(target("http://nonexistent.invalid/"), session, 10.0)
    assert result.error is FailureClass.DNS
    assert result.message is not None and "nonexistent.invalid" in result.message


async def test_http_connect_timeout(session: aiohttp.ClientSession, full_backlog: int) -> None:
    started = time.perf_counter()
    result = await run(target(f"http://127.0.0.1:{full_backlog}/"), session, 0.3)
    assert result.error is FailureClass.TIMEOUT
    assert time.perf_counter() - started < 0.3 + SLACK


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("handler", "error"),
    [(_hang_up, FailureClass.CONNECT), (_garbage, FailureClass.STATUS)],
    ids=["server-hangs-up", "not-http"],
)
async def test_http_broken_server(
    session: aiohttp.ClientSession,
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    error: FailureClass,
) -> None:
    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        result = await run(target(f"http://127.0.0.1:{port}/"), session, 5.0)
    assert result.error is error
    assert result.message


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "not a url"], ids=["ftp", "garbage"])
async def test_http_never_raises(session: aiohttp.ClientSession, url: str) -> None:
    result = await run(target(url), session, 5.0)
    assert result.error is FailureClass.CONNECT
    assert result.message


async def test_http_cancel_propagates(server: TestServer, session: aiohttp.ClientSession) -> None:
    task = asyncio.create_task(CHECKS["http"](target(str(server.make_url("/hang"))), session, 10.0))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


NOT_AFTER = datetime(2031, 7, 4, 12, 34, 56, tzinfo=UTC)


def _server_ctx(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", "localhost", not_after=NOT_AFTER)


@pytest.fixture
async def tls_server(aiohttp_server: ServerFactory, leaf: trustme.LeafCert) -> TestServer:
    return await aiohttp_server(make_app(), ssl=_server_ctx(leaf))


def _not_after(leaf: trustme.LeafCert) -> datetime:
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).not_valid_after_utc


async def test_tls_untrusted_ca(tls_server: TestServer, session: aiohttp.ClientSession) -> None:
    assert tls_server.scheme == "https"
    result = await run(target(str(tls_server.make_url("/ok"))), session, 5.0)
    assert result.error is FailureClass.TLS
    assert result.message is not None
    assert result.message.startswith("certificate verify failed: ")
    assert "issuer" in result.message  # "unable to get local issuer certificate"


async def test_tls_self_signed(aiohttp_server: ServerFactory) -> None:
    # A leaf that is its own issuer; trusting some other CA does not help.
    ca = trustme.CA()
    srv = await aiohttp_server(make_app(), ssl=_server_ctx(_self_signed_leaf(ca)))
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=_trusting(trustme.CA()))
    ) as s:
        result = await run(target(str(srv.make_url("/ok"))), s, 5.0)
    assert result.error is FailureClass.TLS
    assert result.message == "certificate verify failed: self-signed certificate"


def _self_signed_leaf(ca: trustme.CA) -> trustme.LeafCert:
    # trustme's CA cert is self-signed; serve it (with its key) as the leaf.
    return trustme.LeafCert(
        private_key_pem=ca.private_key_pem.bytes(),
        server_cert_pem=ca.cert_pem.bytes(),
        chain_to_ca=[],
    )


async def test_tls_name_mismatch(aiohttp_server: ServerFactory, ca: trustme.CA) -> None:
    other = ca.issue_cert("vendor.example.test")
    srv = await aiohttp_server(make_app(), ssl=_server_ctx(other))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_trusting(ca))) as s:
        result = await run(target(str(srv.make_url("/ok"))), s, 5.0)
    assert result.error is FailureClass.TLS
    assert result.message is not None and "mismatch" in result.message


async def test_tls_to_plain_server(server: TestServer, session: aiohttp.ClientSession) -> None:
    result = await run(target(f"https://127.0.0.1:{server.port}/ok"), session, 5.0)
    assert result.error is FailureClass.TLS
    assert result.message is not None and result.message.startswith("TLS error: ")


TLS_OK_CASES = {
    # path, session kind: plain aiohttp.ClientSession or probes.http.new_session
    "plain-session-small-body": ("/ok", "plain"),
    "plain-session-large-body": ("/huge", "plain"),
    "plain-session-empty-body": ("/empty", "plain"),
    "probe-session-small-body": ("/ok", "probe"),
    "probe-session-connection-close": ("/close", "probe"),
    "probe-session-after-redirects": ("/redirect/2", "probe"),
}


@pytest.mark.parametrize(("path", "kind"), TLS_OK_CASES.values(), ids=TLS_OK_CASES.keys())
async def test_tls_trusted_records_cert_expiry(
    tls_server: TestServer, ca: trustme.CA, leaf: trustme.LeafCert, path: str, kind: str
) -> None:
    connector = aiohttp.TCPConnector(ssl=_trusting(ca))
    make = new_session if kind == "probe" else aiohttp.ClientSession
    async with make(connector=connector) as s:
        t = target(str(tls_server.make_url(path)), expect_status=(200, 204))
        for _ in range(2):  # a fresh connection, then a pooled one
            result = await run(t, s, 5.0)
            assert result.ok, result
            assert result.cert_expires_at is not None
            assert result.cert_expires_at.tzinfo is UTC
            assert abs(result.cert_expires_at - _not_after(leaf)) <= timedelta(seconds=1)
            assert abs(result.cert_expires_at - NOT_AFTER) <= timedelta(seconds=1)


async def test_probe_session_uses_probe_response(ca: trustme.CA) -> None:
    async with new_session(connector=aiohttp.TCPConnector(ssl=_trusting(ca))) as s:
        assert s._response_class is ProbeResponse


async def test_tls_unverified_session_has_no_expiry(tls_server: TestServer) -> None:
    # getpeercert() is empty when verification is off: no expiry, but still a result.
    async with new_session(connector=aiohttp.TCPConnector(ssl=False)) as s:
        result = await run(target(str(tls_server.make_url("/ok"))), s, 5.0)
    assert result.ok
    assert result.cert_expires_at is None


# ---------------------------------------------------------------- TCP


@pytest.fixture
async def tcp_port() -> AsyncIterator[int]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    srv = await asyncio.start_server(accept, "127.0.0.1", 0)
    async with srv:
        yield srv.sockets[0].getsockname()[1]


async def test_tcp_ok(tcp_port: int) -> None:
    result = await run(target(f"tcp://127.0.0.1:{tcp_port}", kind="tcp"), None, 5.0)
    assert result.ok
    assert result.status is None and result.cert_expires_at is None
    assert not result.degraded


async def test_tcp_degraded(tcp_port: int) -> None:
    t = target(f"tcp://127.0.0.1:{tcp_port}", kind="tcp", max_latency=0.0)
    result = await run(t, None, 5.0)
    assert result.ok and result.degraded


TCP_FAILURES = {
    "refused": ("tcp://127.0.0.1:{free}", FailureClass.CONNECT, "connection refused"),
    "dns": (
        "tcp://nonexistent.invalid:443",
        FailureClass.DNS,
        "cannot resolve nonexistent.invalid",
    ),
    "no-port": ("tcp://127.0.0.1", FailureClass.CONNECT, "expected tcp://host:port"),
    "wrong-scheme": ("http://127.0.0.1:80", FailureClass.CONNECT, "expected tcp://host:port"),
}


@pytest.mark.parametrize(
    ("url", "error", "message"), TCP_FAILURES.values(), ids=TCP_FAILURES.keys()
)
async def test_tcp_failures(url: str, error: FailureClass, message: str) -> None:
    result = await run(target(url.format(free=free_port()), kind="tcp"), None, 10.0)
    assert result.error is error
    assert result.message is not None and message in result.message


async def test_tcp_timeout(full_backlog: int) -> None:
    started = time.perf_counter()
    result = await run(target(f"tcp://127.0.0.1:{full_backlog}", kind="tcp"), None, 0.3)
    assert result.error is FailureClass.TIMEOUT
    assert result.message == "timed out after 0.3s"
    assert time.perf_counter() - started < 0.3 + SLACK


async def test_tcp_cancel_propagates(full_backlog: int) -> None:
    t = target(f"tcp://127.0.0.1:{full_backlog}", kind="tcp")
    task = asyncio.create_task(CHECKS["tcp"](t, None, 10.0))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# ---------------------------------------------------------------- the package surface


def test_checks_registry() -> None:
    assert set(CHECKS) == {"http", "tcp"}
    assert CHECKS["http"] is probes.http.check
    assert CHECKS["tcp"] is probes.tcp.check
    assert [c.value for c in FailureClass] == ["dns", "connect", "tls", "timeout", "status", "body"]


def test_value_objects_frozen() -> None:
    t = target("http://127.0.0.1/")
    assert (t.method, t.expect_status, t.max_redirects, t.body_contains) == ("GET", (200,), 5, None)
    with pytest.raises(AttributeError):
        t.url = "x"  # type: ignore[misc]
    r = ProbeResult("acme", "app", "chicago", datetime.now(UTC), True, 0.1)
    assert replace(r, ok=False).ok is False
    with pytest.raises(AttributeError):
        r.ok = False  # type: ignore[misc]
