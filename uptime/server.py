"""The collector: one aiohttp app that stores what every agent saw, and probes the local regions.

* ``POST /api/v1/results`` — a remote agent's batch (see ``uptime.wire``), with
  ``Authorization: Bearer <token>`` of its region. Ingest is idempotent by (agent, sequence):
  a replayed batch stores nothing twice. Bad input gets a 4xx with a JSON ``error``, never a 500;
  a storage failure gets a 503 so the agent keeps the batch and tries again.
* ``GET /api/v1/status`` — every (vendor, monitor, region)'s current state (up/down/unknown).
* ``GET /healthz`` — liveness.

In-process agents (``uptime-ledger run``) hand their results to the same ingest path directly.
The database has one writer: every storage call runs in one worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from probes import CHECKS
from probes.result import ProbeResult
from uptime.config import Config, Probing
from uptime.scheduler import Check, Job, Scheduler, config_jobs, stale_limits
from uptime.storage import Storage
from uptime.wire import MAX_RESULTS, RESULTS_PATH, Batch, WireError, decode_batch
from uptime.worker import Worker

log = logging.getLogger(__name__)

#: Shortest agent token the collector accepts (a guessable token is no token).
MIN_TOKEN_LENGTH = 16
#: How often the collector prunes raw results older than ``probing.retention``.
PRUNE_EVERY = 3600.0
#: Label stored with results of in-process agents.
LOCAL_AGENT = "local"


class SetupError(Exception):
    """The collector cannot start (a token file is missing...); one line for the operator."""


def read_token(path: Path) -> str:
    """A bearer token from a file: its text without surrounding whitespace."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SetupError(f"{path}: cannot read the token file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SetupError(f"{path}: the token file is not UTF-8 text") from None
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise SetupError(
            f"{path}: expected one token of at least {MIN_TOKEN_LENGTH} characters without "
            "spaces (e.g. from `openssl rand -hex 32`)"
        )
    return token


def region_tokens(config: Config) -> dict[str, str]:
    """The bearer token of every region that has a ``token_file`` (remote agents)."""
    tokens = {}
    for region in config.regions:
        if region.token_file is not None:
            try:
                tokens[region.id] = read_token(region.token_file)
            except SetupError as exc:
                raise SetupError(
                    f"{config.vendors_path}: regions.{region.id}.token_file: {exc}"
                ) from None
    return tokens


def local_regions(config: Config) -> tuple[str, ...]:
    """Regions ``run`` probes itself: those without a ``token_file`` (no remote agent)."""
    return tuple(r.id for r in config.regions if r.token_file is None)


class Collector:
    """Storage behind one writer thread, plus what ingest checks results against."""

    def __init__(
        self,
        db: str | Path | Callable[[], Storage],
        stale_after: Mapping[tuple[str, str], timedelta],
        region_monitors: Mapping[str, set[tuple[str, str]]],
    ) -> None:
        self._open = db if callable(db) else (lambda: Storage(db))
        self.stale_after = dict(stale_after)
        self.region_monitors = {k: set(v) for k, v in region_monitors.items()}
        self._worker: Worker[Storage] = Worker("uptime-writer")
        self.ingested = 0

    @classmethod
    def for_config(cls, config: Config, db: str | Path | Callable[[], Storage]) -> Collector:
        monitors: dict[str, set[tuple[str, str]]] = {r: set() for r in config.region_ids}
        for vendor in config.vendors:
            for monitor in vendor.monitors:
                for region in monitor.regions:
                    monitors[region].add((vendor.id, monitor.id))
        return cls(db, stale_limits(config), monitors)

    async def open(self) -> None:
        await self._worker.open(self._open)

    async def close(self) -> None:
        await self._worker.close(Storage.close)

    async def ingest(
        self,
        results: Sequence[ProbeResult],
        agent: str | None = LOCAL_AGENT,
        first_seq: int | None = None,
    ) -> int:
        """Store a batch in one transaction; returns how many results were new."""
        new = await self._worker.call(
            Storage.record_results, results, self.stale_after, agent, first_seq
        )
        self.ingested += new
        return new

    async def ingest_batch(self, batch: Batch) -> tuple[int, int, int]:
        """Store a remote agent's batch; returns (new, ignored, the agent's last sequence)."""
        known = self.region_monitors.get(batch.region, set())
        new, ignored, last = await self._worker.call(_ingest_known, batch, known, self.stale_after)
        self.ingested += new
        return new, ignored, last

    async def states(self, now: datetime) -> list[dict[str, object]]:
        return await self._worker.call(Storage.current_states, now)

    async def prune(self, older_than: datetime) -> int:
        return await self._worker.call(Storage.prune_results, older_than)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(storage, *args)`` in the writer thread (reads for tests and reports)."""
        return await self._worker.call(fn, *args)


def _ingest_known(
    storage: Storage,
    batch: Batch,
    known: set[tuple[str, str]],
    stale_after: Mapping[tuple[str, str], timedelta],
) -> tuple[int, int, int]:
    """Runs in the writer thread, so reading the agent's progress and writing are one step.

    Results for monitors the collector does not probe from that region are dropped. Storage
    numbers a batch by position, so the kept results are handed over with the sequence numbers
    that end where the batch ends: the agent's progress still moves to the batch's last one.
    """
    last = storage.last_seq(batch.agent)
    fresh = batch.results[max(0, last - batch.first_seq + 1) :]
    keep = [r for r in fresh if (r.vendor, r.monitor) in known]
    end = batch.first_seq + len(batch.results) - 1
    if not keep:
        return 0, len(fresh), last
    new = storage.record_results(keep, stale_after, batch.agent, end - len(keep) + 1)
    return new, len(fresh) - len(keep), end  # record_results moved the agent's progress there


@dataclass
class Probes:
    """The in-process agents of ``run``: one scheduler over the local regions' jobs."""

    scheduler: Scheduler
    regions: tuple[str, ...]


CONFIG = web.AppKey("config", Config)
COLLECTOR = web.AppKey("collector", Collector)
TOKENS = web.AppKey("tokens", dict)
PROBES = web.AppKey("probes", Probes)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _authenticated_region(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode()
    found = None
    # Compare with every region's token, in constant time each, whatever matches first.
    for region, expected in request.app[TOKENS].items():
        if hmac.compare_digest(given, expected.encode()):
            found = region
    return found


async def post_results(request: web.Request) -> web.Response:
    """Ingest one batch from a remote agent."""
    region = _authenticated_region(request)
    if region is None:
        return _error(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the "
            "token of the agent's region (regions.<region>.token_file on the collector)",
            **{"WWW-Authenticate": 'Bearer realm="uptime-ledger"'},
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body too large; send at most {MAX_RESULTS} results per batch")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not JSON: {exc}")
    try:
        batch = decode_batch(payload)
    except WireError as exc:
        return _error(422, str(exc))
    config = request.app[CONFIG]
    if batch.region not in config.region_ids:
        return _error(422, f"body.region: unknown region {batch.region!r}")
    if batch.region != region:
        return _error(403, f"the token is for region {region!r}, the batch says {batch.region!r}")
    if not batch.agent.startswith(f"{region}-"):
        return _error(422, f"body.agent: expected an id starting with '{region}-'")
    collector = request.app[COLLECTOR]
    try:
        new, ignored, last = await collector.ingest_batch(batch)
    except Exception:
        log.exception("storing a batch from agent %s failed", batch.agent)
        return _error(503, "storage unavailable; keep the batch and retry")
    if ignored:
        log.warning(
            "agent %s sent %d results for monitors not probed from %s; ignored (is its "
            "vendors.yaml the collector's?)",
            batch.agent,
            ignored,
            region,
        )
    return web.json_response(
        {"new": new, "ignored": ignored, "last_seq": last, "received": len(batch.results)}
    )


async def get_status(request: web.Request) -> web.Response:
    """Current state of every (vendor, monitor, region)."""
    now = datetime.now(UTC)
    states = await request.app[COLLECTOR].states(now)
    body: dict[str, Any] = {
        "now": now.isoformat(),
        "states": [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in s.items()}
            for s in states
        ],
    }
    probes = request.app.get(PROBES)
    if probes is not None:
        body["probing"] = {
            "regions": list(probes.regions),
            "jobs": len(probes.scheduler.jobs),
            "canaries": probes.scheduler.canary_states(),
            "stats": probes.scheduler.stats.as_dict(),
        }
    return web.json_response(body)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(
    config: Config,
    db: str | Path | Callable[[], Storage],
    *,
    probe_regions: Iterable[str] | None = None,
    jobs: Sequence[Job] | None = None,
    tokens: Mapping[str, str] | None = None,
    probing: Probing | None = None,
    checks: Mapping[str, Check] = CHECKS,
    prune_every: float = PRUNE_EVERY,
) -> web.Application:
    """The collector app.

    ``probe_regions`` are probed in-process (default: regions without a ``token_file``; pass
    ``()`` for a collector only); ``jobs`` replaces the jobs the config gives them (tests,
    benchmark, or a caller that built them already). ``tokens`` replaces the tokens read from
    the regions' token files.
    """
    probing = probing or config.probing
    regions = tuple(local_regions(config) if probe_regions is None else probe_regions)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[CONFIG] = config
    app[TOKENS] = dict(region_tokens(config) if tokens is None else tokens)
    collector = Collector.for_config(config, db)
    app[COLLECTOR] = collector
    app.router.add_post(RESULTS_PATH, post_results)
    app.router.add_get("/api/v1/status", get_status)
    app.router.add_get("/healthz", healthz)

    async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
        await collector.open()
        try:
            yield
        finally:
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

    async def prune_ctx(app: web.Application) -> AsyncIterator[None]:
        async def prune_forever() -> None:
            while True:
                try:
                    pruned = await collector.prune(datetime.now(UTC) - probing.retention)
                    if pruned:
                        log.info("pruned %d raw results older than the retention", pruned)
                except Exception:
                    log.exception("pruning raw results failed")
                await asyncio.sleep(prune_every)

        task = asyncio.create_task(prune_forever(), name="uptime-prune")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # Cleanup runs in reverse: probes stop and flush before storage closes.
    app.cleanup_ctx.extend([storage_ctx, prune_ctx, probes_ctx])
    return app


def event_loop_factory(use_uvloop: bool = True) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed and wanted, else asyncio's default."""
    if not use_uvloop:
        return None
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (or ``stop``), then shut down cleanly: probes stop,
    buffered results are stored, the database is closed."""
    import signal

    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        if ready is not None:
            ready(site.name)
        started = time.monotonic()
        await stop.wait()
        log.info("stopping after %.0f s", time.monotonic() - started)
    finally:
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
