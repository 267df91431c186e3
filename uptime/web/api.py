"""The read-only JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from uptime.web.keys import PROBES, RECORDER


async def get_status(request: web.Request) -> web.Response:
    """Current state of every (vendor, monitor, region)."""
    now = datetime.now(UTC)
    states = await request.app[RECORDER].states(now)
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
