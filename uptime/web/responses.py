"""JSON error answers: every 4xx and 5xx carries ``{"error": message}``."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from uptime.store.finance import FrozenReportDamaged

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Bad input to the API: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer bad input (:class:`ApiError`) as a JSON error; under
    ``/api/`` also aiohttp's own errors (no such route, method not allowed) and, as a last
    resort, a bug: logged with its traceback, answered as a JSON 500 that shows none of it."""
    try:
        return await handler(request)
    except ApiError as error:
        return json_error(error.status, error.message, **error.headers)
    except FrozenReportDamaged as error:
        # Someone edited the database under the server: no figures rather than wrong ones.
        log.error("%s %s: %s", request.method, request.path, error)
        if request.path.startswith("/api/"):
            return json_error(503, str(error))
        return web.Response(status=503, text=f"{error}\n", content_type="text/plain")
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        headers = {k: v for k, v in error.headers.items() if k.lower() == "allow"}
        return json_error(error.status, error.reason, **headers)
    except Exception:
        if not request.path.startswith("/api/"):
            raise
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal error; the server's log has the details")
