"""TCP probe: can we open a connection to tcp://host:port within the timeout?"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from time import perf_counter
from urllib.parse import urlsplit

import aiohttp

from probes.evidence import os_message, timed_out
from probes.result import FailureClass, ProbeResult, ProbeTarget, outcome


def parse(url: str) -> tuple[str, int]:
    """`tcp://host:port` → (host, port); ValueError when either is missing."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise ValueError(f"expected tcp://host:port, got {url!r}")
    return parts.hostname, parts.port


async def check(
    target: ProbeTarget,
    session: aiohttp.ClientSession | None,
    timeout: float,
    region: str = "",
) -> ProbeResult:
    """Connect, then close; never raises (except CancelledError), always within `timeout`.

    `session` is unused: it is here so every probe kind has the same signature.
    """
    at = datetime.now(UTC)
    started = perf_counter()
    latency = 0.0
    error: FailureClass | None = None
    message: str | None = None
    host = target.url
    try:
        host, port = parse(target.url)
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
        latency = perf_counter() - started
        writer.close()
        try:
            # Bounded too: a peer that never finishes the close must not hold the probe.
            async with asyncio.timeout(max(timeout - latency, 0.0)):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass  # we got in; how the peer takes our close is not the vendor's outage
    except TimeoutError:
        error, message = FailureClass.TIMEOUT, timed_out(timeout)
    except socket.gaierror as exc:
        error, message = FailureClass.DNS, f"cannot resolve {host}: {exc.strerror}"
    except OSError as exc:
        error, message = FailureClass.CONNECT, os_message(exc)
    except Exception as exc:  # a malformed URL, …
        error, message = FailureClass.CONNECT, f"{type(exc).__name__}: {exc}"
    if error is not None:
        latency = perf_counter() - started
    return outcome(target, region, at, latency, error, message)
