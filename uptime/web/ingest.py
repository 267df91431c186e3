"""`POST /api/v1/results`: remote agents batches, authenticated by their regions bearer token."""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from aiohttp import web

from uptime.config.durations import format_duration
from uptime.probing.wire import MAX_RESULTS, Batch, WireError, decode_batch
from uptime.store.database import StorageError, StorageUnwritable
from uptime.store.states import MAX_CLOCK_SKEW
from uptime.store.writer import WriterClosed
from uptime.web.keys import CONFIG, RECORDER, TOKENS
from uptime.web.responses import json_error

log = logging.getLogger(__name__)


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


def _stamped_ahead(batch: Batch, now: datetime) -> str | None:
    """Why the batch is refused, if a result is stamped further past ``now`` than a probe site's
    clock may be: stored, it would hold its region's state until then (docs/timing.md)."""
    for index, result in enumerate(batch.results):
        ahead = result.at - now
        if ahead > MAX_CLOCK_SKEW:
            return (
                f"body.results[{index}].at: {result.at.isoformat()} is "
                f"{format_duration(timedelta(seconds=int(ahead.total_seconds())))} past the "
                f"collector's clock ({now.isoformat(timespec='seconds')}); results may be "
                f"stamped at most {format_duration(MAX_CLOCK_SKEW)} ahead: is the agent's clock "
                "synchronised (NTP)?"
            )
    return None


async def post_results(request: web.Request) -> web.Response:
    """Ingest one batch from a remote agent."""
    region = _authenticated_region(request)
    if region is None:
        return json_error(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the "
            "token of the agent's region (regions.<region>.token_file on the collector)",
            **{"WWW-Authenticate": 'Bearer realm="uptime-ledger"'},
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, f"body too large; send at most {MAX_RESULTS} results per batch")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return json_error(400, f"body is not JSON: {exc}")
    try:
        batch = decode_batch(payload)
    except WireError as exc:
        return json_error(422, str(exc))
    config = request.app[CONFIG]
    if batch.region not in config.region_ids:
        return json_error(422, f"body.region: unknown region {batch.region!r}")
    if batch.region != region:
        return json_error(
            403, f"the token is for region {region!r}, the batch says {batch.region!r}"
        )
    if not batch.agent.startswith(f"{region}-"):
        return json_error(422, f"body.agent: expected an id starting with '{region}-'")
    if (ahead := _stamped_ahead(batch, datetime.now(UTC))) is not None:
        return json_error(422, ahead)
    collector = request.app[RECORDER]
    try:
        new, ignored, last = await collector.ingest_batch(batch)
    except StorageUnwritable as exc:
        # Disk full, read-only...: the recorder logged it once, in one line.
        return json_error(503, f"storage unavailable ({exc.reason}); keep the batch and retry")
    except (sqlite3.Error, OSError, StorageError, WriterClosed):
        # The database cannot take it now (locked, disk full, read-only, shutting down): the
        # agent keeps the batch. Anything else is a bug and is not dressed up as a retry.
        log.exception("storing a batch from agent %s failed", batch.agent)
        return json_error(503, "storage unavailable; keep the batch and retry")
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
