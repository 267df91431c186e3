"""The app factory: one aiohttp app that stores what every agent saw, and probes the local regions.

* ``POST /api/v1/results`` — a remote agent's batch (see ``uptime.probing.wire``), with
  ``Authorization: Bearer <token>`` of its region. Ingest is idempotent by (agent, sequence):
  a replayed batch stores nothing twice. Bad input gets a 4xx with a JSON ``error``, never a 500;
  a storage failure gets a 503 so the agent keeps the batch and tries again.
* ``GET /api/v1/...`` — the read-only JSON API (``uptime.web.api``, docs/api.md) and its
  OpenAPI document; ``/maintenance.ics``, ``/maintenance/{id}.ics``, ``/feed.atom`` — the feeds
  (``uptime.web.feeds``).
* ``GET /healthz`` — liveness.

In-process agents (``uptime-ledger run``) hand their results to the same ingest path directly.
The database has one writer: every storage call runs in one worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from probes import CHECKS
from uptime.config import Config, Probing
from uptime.probing.jobs import Job, config_jobs
from uptime.probing.scheduler import Check, Scheduler
from uptime.probing.wire import MAX_BODY, RESULTS_PATH
from uptime.sources import database_sources
from uptime.store.database import StorageUnwritable
from uptime.store.recorder import Recorder
from uptime.web import pages
from uptime.web.access import FINANCE_TOKENS
from uptime.web.api import (
    get_openapi,
    get_status,
    get_vendor_maintenance,
    get_vendor_month,
    get_vendors,
    healthz,
)
from uptime.web.feeds import get_atom, get_calendar, get_vendor_calendar
from uptime.web.ingest import INGEST_BUCKETS, Buckets, RateLimit, expect_results, post_results
from uptime.web.keys import CONFIG, MONTHS, PROBES, RECORDER, TOKENS, Probes
from uptime.web.metrics import add_metrics
from uptime.web.months import Months, keep_pulse
from uptime.web.responses import json_errors
from uptime.web.scheduled import add_report_schedule
from uptime.web.tokens import finance_tokens, region_tokens
from uptime.web.warm import warm_ctx

log = logging.getLogger(__name__)


#: How often the collector prunes raw results past ``probing.retention`` (plain successes)
#: and ``probing.evidence_retention`` (evidence).
PRUNE_EVERY = 3600.0


def local_regions(config: Config) -> tuple[str, ...]:
    """Regions ``run`` probes itself: those without a token (``token_file``, ``token_env``)."""
    return tuple(r.id for r in config.regions if not r.remote)


def make_app(
    config: Config,
    db: str | Path,
    *,
    probe_regions: Iterable[str] | None = None,
    jobs: Sequence[Job] | None = None,
    tokens: Mapping[str, str] | None = None,
    readers: Mapping[str, str] | None = None,
    ingest_limit: RateLimit | None = None,
    ingest_clock: Callable[[], float] = time.monotonic,
    probing: Probing | None = None,
    checks: Mapping[str, Check] = CHECKS,
    prune_every: float = PRUNE_EVERY,
    reports: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> web.Application:
    """The collector app.

    ``probe_regions`` are probed in-process (default: regions without a token; pass
    ``()`` for a collector only); ``jobs`` replaces the jobs the config gives them (tests,
    benchmark, or a caller that built them already). ``tokens`` replaces the tokens read from
    the regions' token files, ``readers`` the reader's and admin's tokens (by role) read from
    ``web:`` or the environment (``uptime.web.tokens.finance_tokens``); ``ingest_limit`` the
    default rate limit of each region's POSTs, ``ingest_clock`` the clock (in seconds) its
    buckets refill by. With ``reports`` the app writes last month's
    report on ``reports.schedule`` (``uptime.web.scheduled``), by ``clock`` (default: the
    system's).
    """
    if probing is not None:  # the collector's staleness limits follow the probing it runs
        config = replace(config, probing=probing)
    probing = config.probing
    regions = tuple(local_regions(config) if probe_regions is None else probe_regions)
    # Every other route is a GET: no request needs a body longer than a batch's.
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app[CONFIG] = config
    app[TOKENS] = dict(region_tokens(config) if tokens is None else tokens)
    app[FINANCE_TOKENS] = dict(finance_tokens(config, app[TOKENS]) if readers is None else readers)
    app[INGEST_BUCKETS] = Buckets(ingest_limit or RateLimit(), ingest_clock)
    collector = Recorder.for_config(config, db)
    app[RECORDER] = collector
    months = Months(config, functools.partial(database_sources, db, collector.news), db=db)
    app[MONTHS] = months
    app.router.add_post(RESULTS_PATH, post_results, expect_handler=expect_results)
    app.router.add_get("/api/v1/status", get_status)
    app.router.add_get("/api/v1/openapi.json", get_openapi)
    app.router.add_get("/api/v1/vendors", get_vendors)
    app.router.add_get("/api/v1/vendors/{vendor}/months/{month}", get_vendor_month)
    app.router.add_get("/api/v1/vendors/{vendor}/maintenance", get_vendor_maintenance)
    app.router.add_get("/maintenance.ics", get_calendar)
    app.router.add_get("/maintenance/{vendor}.ics", get_vendor_calendar)
    app.router.add_get("/feed.atom", get_atom)
    app.router.add_get("/healthz", healthz)
    add_metrics(app)
    pages.add_routes(app)

    async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
        await collector.open()  # creates and migrates the database the months read
        try:
            yield
        finally:
            await months.close()
            await collector.close()

    async def probes_ctx(app: web.Application) -> AsyncIterator[None]:
        chosen = list(config_jobs(config, regions) if jobs is None else jobs)
        if not chosen:
            yield
            return
        canaries = {r.id: r.canary for r in config.regions if r.id in regions}
        scheduler = Scheduler.from_probing(
            chosen, collector.ingest, probing, checks=checks, canaries=canaries
        )
        app[PROBES] = Probes(scheduler, regions)
        await scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await scheduler.session.close()

    async def pulse_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(keep_pulse(), name="uptime-pulse")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def prune_ctx(app: web.Application) -> AsyncIterator[None]:
        async def prune_forever() -> None:
            while True:
                try:
                    pruned = await collector.prune(
                        datetime.now(UTC), probing.retention, probing.evidence_retention
                    )
                    if pruned:
                        log.info("pruned %d raw results past their retention", pruned)
                except StorageUnwritable:
                    pass  # the recorder said so, once
                except Exception:
                    log.exception("pruning raw results failed")
                await asyncio.sleep(prune_every)

        task = asyncio.create_task(prune_forever(), name="uptime-prune")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # Cleanup runs in reverse: probes stop and flush before storage closes.
    app.cleanup_ctx.extend([storage_ctx, pulse_ctx, warm_ctx, prune_ctx, probes_ctx])
    if reports:
        add_report_schedule(app, Path(db), clock)
    return app
