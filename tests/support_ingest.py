"""Shared by the ingest tests (tests/test_collector.py, tests/test_access.py): a collector
without probing of its own on a config of tests/support_probing, and batches to post to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from support_probing import TOKENS, write_config

from uptime.config import Config
from uptime.web.app import make_app

RESULTS = "/api/v1/results"


def batch(first_seq: int, results: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    """A batch of chicago's agent ``chicago-abc``, with ``changes`` to its fields."""
    return {
        "agent": "chicago-abc",
        "region": "chicago",
        "first_seq": first_seq,
        "results": results,
        **changes,
    }


def bearer(region: str = "chicago") -> dict[str, str]:
    """The ``Authorization`` header of ``region``'s token."""
    return {"Authorization": f"Bearer {TOKENS[region]}"}


# Fixtures under other names than their functions', so that a test module imports them (noqa:
# F401) without its tests' parameters shadowing the import.


@pytest.fixture(name="config")
def config_fixture(tmp_path: Path) -> Config:
    return write_config(tmp_path, "http://127.0.0.1:9/")


@pytest.fixture(name="client")
async def client_fixture(
    aiohttp_client: Callable[..., Awaitable[TestClient]], config: Config, tmp_path: Path
) -> AsyncIterator[TestClient]:
    app = make_app(config, tmp_path / "uptime.db", probe_regions=(), tokens=TOKENS)
    yield await aiohttp_client(app)
