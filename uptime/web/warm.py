"""Warming the months when the app starts: the status page's and ``/metrics``' months of
every vendor are computed on the months' thread in the background (a large district's take
seconds), so the first visitor does not wait for them all. ``/healthz`` and ingest do not
wait for it; a page or a scrape arriving meanwhile waits its turn on the months' thread and
finds what was computed already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from uptime.web.keys import CONFIG, MONTHS
from uptime.web.metrics import METRICS, metrics_month
from uptime.web.pages import status_months

log = logging.getLogger(__name__)

#: Vendors warmed at a time: between two batches a request's own turn comes, and stopping the
#: app waits for one batch at most.
BATCH = 50


async def warm(app: web.Application) -> None:
    """Compute the months the status page and ``/metrics`` show, ``BATCH`` vendors at a time."""
    config, months = app[CONFIG], app[MONTHS]
    if len(config.vendors) <= BATCH:
        # A few vendors' months take a first request milliseconds; computing them at start
        # would only compete with the probes' first rounds (first-use imports and tables).
        return
    for at in range(0, len(config.vendors), BATCH):
        now = datetime.now(UTC)
        some = config.vendors[at : at + BATCH]
        await months.run(status_months, config, some, months, now)
        # What a scrape with the reader's token shows.
        wanted = app[METRICS].wanted(some, now)
        await months.get("metrics", metrics_month, wanted, now)


async def warm_ctx(app: web.Application) -> AsyncIterator[None]:
    """Warm in the background while the app runs (after storage opened: list it after)."""

    async def warm_logged() -> None:
        try:
            await warm(app)
        except Exception:
            log.exception("warming the months failed (pages compute them when asked)")

    task = asyncio.create_task(warm_logged(), name="uptime-warm")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
