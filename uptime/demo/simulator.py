"""Simulated vendors: a local HTTP target whose every answer follows a script.

``answer(path, region, at)`` says what a request for ``path`` from ``region`` (its ``region``
query parameter, None without one) gets at ``at``: ``up`` is 200 ``ok``, ``down`` 503
``down``, ``slow`` 200 after ``slow`` seconds, and None a 404. The demo answers from its
:class:`uptime.demo.timeline.Timeline`; the fault-injection harness (:mod:`uptime.demo.faults`)
from a script of faults, with its answers as well (``error``, ``hang``, ``wrong_body``,
``redirect_loop``, ``refused``, ``dns``, ``tls_expired``, ``tls_wrong_host``).

A fault that is not an HTTP answer (a refused connection, a name that does not resolve, a TLS
certificate the client must reject) is a redirect to a place that really fails that way: a port
bound with nothing listening, a name under ``.invalid`` (RFC 6761: it never resolves), an HTTPS
site whose certificate has expired or names another host (:class:`Elsewhere`). The probe follows
it as it follows any redirect, so its real connector, resolver and TLS stack meet the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from aiohttp import web
from yarl import URL

from uptime.demo.timeline import Answer, Timeline
from uptime.probing.jobs import Job

#: How long a ``slow`` answer takes, in seconds.
SLOW = 1.5

#: What a ``hang`` answer waits before it answers, in seconds (past any probe's timeout).
HANG = 30.0

#: The body of an ``up`` answer (``wrong_body`` answers without it).
UP_BODY = "ok"
WRONG_BODY = "<h1>Sorry, we are down for maintenance</h1>"

Script = Callable[[str, str | None, datetime], str | None]


@dataclass(frozen=True)
class Elsewhere:
    """Where the faults that are not HTTP answers redirect to (see the module's docstring)."""

    refused: str
    dns: str
    tls_expired: str
    tls_wrong_host: str


class Simulator:
    """An HTTP target answering by ``answer`` (see the module's docstring); ``hits`` lists
    every request's path and time. Without ``elsewhere`` the redirecting faults are a 404."""

    def __init__(
        self,
        answer: Script,
        slow: float = SLOW,
        *,
        hang: float = HANG,
        elsewhere: Elsewhere | None = None,
    ) -> None:
        self.answer = answer
        self.slow = slow
        self.hang = hang
        self.elsewhere = elsewhere
        self.hits: list[tuple[str, float]] = []

    async def handle(self, request: web.Request) -> web.Response:
        now = time.time()
        self.hits.append((request.path, now))
        answer = self.answer(
            request.path, request.query.get("region"), datetime.fromtimestamp(now, UTC)
        )
        if answer == "down":
            return web.Response(status=503, text="down")
        if answer == "error":
            return web.Response(status=500, text="internal server error")
        if answer == "wrong_body":
            return web.Response(text=WRONG_BODY)
        if answer == "redirect_loop":
            raise web.HTTPFound(request.rel_url)
        if answer in ("slow", "hang"):
            await asyncio.sleep(self.slow if answer == "slow" else self.hang)
        elif answer in ("refused", "dns", "tls_expired", "tls_wrong_host") and self.elsewhere:
            raise web.HTTPFound(getattr(self.elsewhere, answer))
        elif answer != "up":
            return web.Response(status=404, text="no such endpoint")
        return web.Response(text=UP_BODY)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app


def endpoint_path(vendor: str, monitor: str) -> str:
    """The simulator's path of a vendor's monitor."""
    return f"/{vendor}/{monitor}"


def timeline_script(timeline: Timeline) -> Script:
    """Answers for ``/<vendor>/<monitor>?region=<region>`` from ``timeline`` (a request that
    names no region gets a 404: every answer is some region's)."""

    def answer(path: str, region: str | None, at: datetime) -> Answer | None:
        parts = path.strip("/").split("/")
        if region is None or len(parts) != 2:
            return None
        vendor, monitor = parts
        return timeline.answer((vendor, monitor, region), at)

    return answer


def regional_jobs(jobs: Sequence[Job]) -> list[Job]:
    """Each job asking for its monitor's URL with its own region in the query, so one simulator
    can answer each region differently (the real sites see the vendor over different paths)."""
    return [
        replace(j, target=replace(j.target, url=str(URL(j.target.url) % {"region": j.region})))
        for j in jobs
    ]


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket listening on a free port of ``host``: the simulator's address is known before
    the configuration that names it is written."""
    sock = socket.socket()
    sock.bind((host, 0))
    sock.listen()
    return sock


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, sock: socket.socket, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[None]:
    """Serve ``app`` on ``sock`` (over TLS with ``ssl_context``) for the duration of the block.

    A handler still waiting (a ``hang`` answer) is cancelled when its client goes away, and the
    block's end does not wait for it."""
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, handler_cancellation=True, shutdown_timeout=0
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        yield
    finally:
        await runner.cleanup()
