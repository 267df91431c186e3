"""JSON error answers: every 4xx and 5xx carries ``{"error": message}``."""

from __future__ import annotations

from aiohttp import web


def json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)
