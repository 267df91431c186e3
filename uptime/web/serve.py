"""Serving an app until SIGINT or SIGTERM, and the choice of event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from uptime.errors import UptimeLedgerError

log = logging.getLogger(__name__)


class ListenError(UptimeLedgerError):
    """The app cannot listen where it was told to."""


class QuietBadRequests(logging.Filter):
    """aiohttp logs every request it cannot parse (a header longer than it reads, a bad
    request line) at ERROR with its traceback: any client could fill the log, and it is no
    fault of ours. Such a record becomes one line at DEBUG (as aiohttp logs a bad method)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = f"{record.getMessage()}: {error.message}", ()
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info = record.exc_text = None
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_QUIET = QuietBadRequests()


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
    logging.getLogger("aiohttp.server").addFilter(_QUIET)  # added once however often served
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:  # the port is taken, the address is not this machine's...
            raise ListenError(
                f"cannot listen on {host}:{port}: {error.strerror or error}"
            ) from None
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
