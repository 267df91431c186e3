"""Probe kinds, one module each, all behind `check(target, session, timeout, region="")`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from probes import http, tcp
from probes.result import FailureClass, ProbeResult, ProbeTarget

CHECKS: dict[str, Callable[..., Awaitable[ProbeResult]]] = {
    "http": http.check,
    "tcp": tcp.check,
}

__all__ = ["CHECKS", "FailureClass", "ProbeResult", "ProbeTarget"]
