"""`POST /api/v1/results`: remote agents' batches, authenticated by their region's bearer token.

What a request goes through, cheapest first, so that nothing an unauthenticated or oversized
request sends is read: the token (401, before the body is read), the announced length (413,
before it is read; a chunked body is cut at :data:`uptime.probing.wire.MAX_BODY`), the region's
rate limit (429 with ``Retry-After``), then the body: JSON (400; nesting too deep is a 400 too),
the fields (422, naming the field; numbers out of range included), the region (422 unknown, 403
another region's token), the clock (422 when a result is stamped further ahead than
``probing.max_clock_skew``). Results for vendors or monitors the collector does not probe from
the region are answered as ``ignored`` (and logged), never stored; a replayed or older batch
stores nothing twice and is answered 200 all the same.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import HttpVersion11, web

from uptime.config.durations import format_duration
from uptime.probing.wire import MAX_BODY, Batch, WireError, decode_batch, parse_int
from uptime.store.database import StorageError, StorageUnwritable
from uptime.store.writer import WriterClosed
from uptime.web.access import CHALLENGE, bearer_token
from uptime.web.keys import CONFIG, RECORDER, TOKENS
from uptime.web.responses import json_error
from uptime.web.tokens import matching

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """How many POSTs a region's agents may make: ``burst`` at once, then ``per_second``.

    An agent posts about once per ``probing.flush_every`` (1 s) while the collector keeps up,
    and back to back while it replays its spool after an outage, each POST up to 5,000 results
    that take the collector longer to store than a tenth of a second: so a normal agent never
    reaches 10 a second, or 100 at once."""

    per_second: float = 10.0
    burst: int = 100


@dataclass
class Buckets:
    """A token bucket per key (a region): :meth:`take` says how long to wait, if at all."""

    limit: RateLimit
    clock: Callable[[], float] = time.monotonic
    _level: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> float | None:
        """None when ``key`` may go now (one token is taken), else seconds until it may."""
        now = self.clock()
        tokens, since = self._level.get(key, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - since) * self.limit.per_second)
        if tokens >= 1:
            self._level[key] = (tokens - 1, now)
            return None
        self._level[key] = (tokens, now)
        return (1 - tokens) / self.limit.per_second


INGEST_BUCKETS = web.AppKey("ingest_buckets", Buckets)


def _authenticated_region(request: web.Request) -> str | None:
    token = bearer_token(request)
    return None if token is None else matching(token, request.app[TOKENS])


def _stamped_ahead(batch: Batch, now: datetime, skew: timedelta) -> str | None:
    """Why the batch is refused, if a result is stamped further past ``now`` than a probe site's
    clock may be: stored, it would hold its region's state until then (docs/timing.md). Results
    stamped in the past are fine, however old (a spool replayed after an outage)."""
    ahead, index = max(((r.at - now, i) for i, r in enumerate(batch.results)), default=(None, 0))
    if ahead is None or ahead <= skew:
        return None
    off = _clock_text(math.ceil(ahead.total_seconds()))
    return (
        f"body.results[{index}].at: {batch.results[index].at.isoformat()} is {off} past the "
        f"collector's clock ({now.isoformat(timespec='seconds')}): the agent's clock is off by "
        f"at least {off}; results may be stamped at most {format_duration(skew)} ahead "
        "(probing.max_clock_skew): is the agent's clock synchronised (NTP)?"
    )


def _clock_text(seconds: int) -> str:
    """``7m 12s``, ``3h 0m 5s``, ``40s``: how far off a clock is, to the second."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {seconds}s"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _refused_unread(request: web.Request) -> tuple[str, None] | tuple[None, web.Response]:
    """The token's region, or the answer to give before reading the body: 401 without a
    region's token, 413 for a body announced longer than ``MAX_BODY``."""
    region = _authenticated_region(request)
    if region is None:
        return None, json_error(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the "
            "token of the agent's region (regions.<region>.token_file on the collector)",
            **CHALLENGE,
        )
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None, json_error(413, TOO_LARGE)
    return region, None


TOO_LARGE = f"body too large; send at most {MAX_BODY} bytes per batch"


async def expect_results(request: web.Request) -> web.Response | None:
    """``Expect: 100-continue`` (curl sends it for a large body): the 401 or 413 is the answer,
    so the client never sends the body; otherwise the client is told to go on."""
    _, refused = _refused_unread(request)
    if refused is not None:
        return refused
    if request.version != HttpVersion11:
        return None
    if request.headers.get("Expect", "").lower() != "100-continue":
        raise web.HTTPExpectationFailed(text="unknown Expect; only 100-continue is understood")
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # as aiohttp's own handler: the answer has not begun
    return None


async def post_results(request: web.Request) -> web.Response:
    """Ingest one batch from a remote agent."""
    region, refused = _refused_unread(request)
    if refused is not None:
        return refused
    assert region is not None
    wait = request.app[INGEST_BUCKETS].take(region)
    if wait is not None:
        return json_error(
            429,
            f"too many requests from region {region}'s agents; retry after the Retry-After seconds",
            **{"Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, TOO_LARGE)
    try:
        payload = json.loads(raw, parse_int=parse_int)
    except WireError as exc:
        return json_error(422, str(exc))
    except RecursionError:
        return json_error(400, "body is not JSON we read: nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        return json_error(400, f"body is not JSON: {exc}")
    try:
        batch = decode_batch(payload)
    except WireError as exc:
        return json_error(422, str(exc))
    config = request.app[CONFIG]
    if batch.region not in config.region_ids:
        return json_error(422, f"body.region: unknown region {batch.region[:100]!r}")
    if batch.region != region:
        return json_error(
            403, f"the token is for region {region!r}, the batch says {batch.region!r}"
        )
    if not batch.agent.startswith(f"{region}-"):
        return json_error(422, f"body.agent: expected an id starting with '{region}-'")
    skew = config.probing.max_clock_skew
    if (ahead := _stamped_ahead(batch, datetime.now(UTC), skew)) is not None:
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
