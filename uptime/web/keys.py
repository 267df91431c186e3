"""What the app carries (aiohttp AppKeys), shared by the app factory and its handlers."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from uptime.config import Config
from uptime.probing.scheduler import Scheduler
from uptime.store.recorder import Recorder
from uptime.web.months import Months


@dataclass
class Probes:
    """The in-process agents of ``run``: one scheduler over the local regions' jobs."""

    scheduler: Scheduler
    regions: tuple[str, ...]


CONFIG = web.AppKey("config", Config)


RECORDER = web.AppKey("recorder", Recorder)


TOKENS = web.AppKey("tokens", dict)


PROBES = web.AppKey("probes", Probes)


MONTHS = web.AppKey("months", Months)


async def current_config(app: web.Application) -> Config:
    """The configuration with what the audit trail recorded (windows and exclusions added from
    the command line, by any process), read again when the trail has grown."""
    config, _ = await app[MONTHS].current()
    return config
