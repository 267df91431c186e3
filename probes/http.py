"""HTTP(S) probe: status, body text, latency, redirects, TLS and its certificate's expiry."""

from __future__ import annotations

import asyncio
import ssl
import weakref
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import aiohttp
from aiohttp.http_exceptions import LineTooLong

from probes.evidence import os_message, timed_out
from probes.result import FailureClass, ProbeResult, ProbeTarget, outcome

#: A body is read only for ``expect.body_contains``, and then at most this much of it: a target
#: sending an endless (or huge) body costs one bounded read, never memory or the whole timeout.
BODY_CAP = 1024 * 1024
#: How a failure's evidence names the cap.
BODY_CAP_TEXT = f"{BODY_CAP / 2**20:g} MiB"


class ProbeResponse(aiohttp.ClientResponse):
    """A response that keeps its connection's TLS object.

    aiohttp hands the connection back to the pool (setting `resp.connection` to None) as soon
    as the whole body has arrived, which for a small body is before `request()` even returns
    (aiohttp issues #2205, #2816). `start()` is the one moment the connection is known to be
    attached, so grab the `ssl_object` there.
    """

    ssl_object: ssl.SSLObject | None = None

    async def start(self, connection: Any) -> ProbeResponse:
        transport = connection.transport
        if transport is not None:
            self.ssl_object = transport.get_extra_info("ssl_object")
        await super().start(connection)
        return self


def new_session(**kwargs: Any) -> aiohttp.ClientSession:
    """The ClientSession to probe with: records certificate expiry for every HTTPS response."""
    return aiohttp.ClientSession(response_class=ProbeResponse, **kwargs)


async def check(
    target: ProbeTarget,
    session: aiohttp.ClientSession,
    timeout: float,
    region: str = "",
) -> ProbeResult:
    """Probe `target` once; never raises (except CancelledError), always within `timeout`."""
    at = datetime.now(UTC)
    started = perf_counter()
    status: int | None = None
    cert_expires_at: datetime | None = None
    error: FailureClass | None = None
    message: str | None = None
    deadline = asyncio.timeout(timeout)
    try:
        async with (
            deadline,
            session.request(
                target.method,
                target.url,
                allow_redirects=target.max_redirects > 0,
                # aiohttp gives up *on* its max_redirects-th redirect; ours is how many to follow.
                max_redirects=target.max_redirects + 1,
                raise_for_status=False,
            ) as resp,
        ):
            status = resp.status
            cert_expires_at = _cert_expiry(resp)
            if status not in target.expect_status:
                error, message = FailureClass.STATUS, f"HTTP {status}"
            elif target.body_contains and not (
                found := await _body_has(resp.content, target.body_contains.encode())
            ):
                capped = f" in its first {BODY_CAP_TEXT}" if found is None else ""
                error, message = FailureClass.BODY, f"body lacks {target.body_contains!r}{capped}"
            # Without body_contains the body is never read: leaving the block releases it.
    except TimeoutError as exc:
        # Ours, or one of the session's own ClientTimeout limits if that is tighter.
        error = FailureClass.TIMEOUT
        message = timed_out(timeout) if deadline.expired() else f"timed out: {exc!r}"
    except aiohttp.TooManyRedirects as exc:
        status = exc.history[-1].status if exc.history else None
        error, message = FailureClass.STATUS, f"too many redirects (>{target.max_redirects})"
    except aiohttp.ClientConnectorDNSError as exc:
        error, message = FailureClass.DNS, f"cannot resolve {exc.host}: {exc.os_error.strerror}"
    except aiohttp.ClientConnectorCertificateError as exc:
        error, message = FailureClass.TLS, _cert_message(exc.certificate_error)
    except aiohttp.ClientSSLError as exc:
        error, message = FailureClass.TLS, f"TLS error: {exc.os_error.strerror or exc.os_error}"
    except aiohttp.ClientConnectorError as exc:
        error, message = FailureClass.CONNECT, os_message(exc.os_error)
    except aiohttp.ClientResponseError as exc:  # e.g. a malformed status line
        error, message = FailureClass.STATUS, f"bad response: {_bad_response(exc)}"
    except Exception as exc:  # server disconnected, payload error, bad URL, …
        error, message = FailureClass.CONNECT, f"{type(exc).__name__}: {exc}"
    if error is not None and error is not FailureClass.TIMEOUT and deadline.expired():
        # aiohttp may turn the deadline's cancellation into its own error on the way out.
        error, message = FailureClass.TIMEOUT, timed_out(timeout)
    latency = perf_counter() - started
    return outcome(
        target,
        region,
        at,
        latency,
        error,
        message,
        status=status,
        cert_expires_at=cert_expires_at,
    )


async def _body_has(content: aiohttp.StreamReader, needle: bytes) -> bool | None:
    """Stream at most BODY_CAP bytes looking for `needle`, even across chunk boundaries: True if
    found, False if the body ended without it, None if BODY_CAP bytes came without it."""
    keep = len(needle) - 1
    tail = b""
    remaining = BODY_CAP
    while remaining > 0:
        chunk = await content.read(remaining)
        if not chunk:
            return False
        remaining -= len(chunk)
        window = tail + chunk if tail else chunk
        if needle in window:
            return True
        tail = window[-keep:] if keep else b""
    return None


def _bad_response(exc: aiohttp.ClientResponseError) -> str:
    """What was wrong with an unparsable response, without echoing the bytes that broke it."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, LineTooLong):
            limit = cause.args[1] if len(cause.args) > 1 else "the limit"
            return f"a status or header line over {limit} bytes"
        cause = cause.__cause__
    return exc.message


# A connection's certificate does not change, so parse it once per TLS connection.
_expiry_cache: weakref.WeakKeyDictionary[ssl.SSLObject, datetime | None] = (
    weakref.WeakKeyDictionary()
)


def _cert_expiry(resp: aiohttp.ClientResponse) -> datetime | None:
    if resp.url.scheme != "https":
        return None
    ssl_object = getattr(resp, "ssl_object", None)  # set by ProbeResponse
    if ssl_object is None:
        # Any other session: public `connection` while the body is still streaming, else the
        # protocol aiohttp keeps (private; None once a `Connection: close` reply was read).
        conn = resp.connection
        protocol = conn.protocol if conn is not None else getattr(resp, "_protocol", None)
        transport = getattr(protocol, "transport", None)
        if transport is None:
            return None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
    try:
        return _expiry_cache[ssl_object]
    except KeyError:
        pass
    expires: datetime | None = None
    try:
        cert = ssl_object.getpeercert()  # {} when the context does not verify
        not_after = cert.get("notAfter") if cert else None
        if isinstance(not_after, str):
            expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    except (ValueError, OverflowError, OSError):
        pass  # an unreadable date is no reason to fail a probe that got its answer
    _expiry_cache[ssl_object] = expires
    return expires


def _cert_message(err: Exception) -> str:
    verify = getattr(err, "verify_message", None)
    if verify:
        return f"certificate verify failed: {verify}"
    return f"certificate error: {err}"
