"""Simulated vendors: a local HTTP target whose every answer follows a script.

``answer(path, region, at)`` says what a request for ``path`` from ``region`` (its ``region``
query parameter, None without one) gets at ``at``: ``up`` is 200 ``ok``, ``down`` 503
``down``, ``slow`` 200 after ``slow`` seconds, and None a 404. The demo answers from its
:class:`uptime.demo.timeline.Timeline`; the fault-injection tests from their own small scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web
from yarl import URL

from uptime.demo.timeline import Answer, Timeline
from uptime.probing.jobs import Job

#: How long a ``slow`` answer takes, in seconds.
SLOW = 1.5

Script = Callable[[str, str | None, datetime], Answer | None]


class Simulator:
    """An HTTP target answering by ``answer`` (see the module's docstring); ``hits`` lists
    every request's path and time."""

    def __init__(self, answer: Script, slow: float = SLOW) -> None:
        self.answer = answer
        self.slow = slow
        self.hits: list[tuple[str, float]] = []

    async def handle(self, request: web.Request) -> web.Response:
        now = time.time()
        self.hits.append((request.path, now))
        answer = self.answer(
            request.path, request.query.get("region"), datetime.fromtimestamp(now, UTC)
        )
        if answer is None:
            return web.Response(status=404, text="no such endpoint")
        if answer == "down":
            return web.Response(status=503, text="down")
        if answer == "slow":
            await asyncio.sleep(self.slow)
        return web.Response(text="ok")

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
async def serving(app: web.Application, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``app`` on ``sock`` for the duration of the block."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield
    finally:
        await runner.cleanup()
