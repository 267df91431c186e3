"""The OpenAPI document: valid OpenAPI 3.1, naming every /api/v1 route the app serves, and
true of the running server: schemathesis, run against it over a seeded database, finds no 5xx
and no answer that breaks the document, on every operation."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate
from support_api import READERS, TOKENS, Served, fetch, serve, write_config

from uptime.web.app import make_app
from uptime.web.openapi import openapi_document

ServerFactory = Callable[..., Awaitable[TestServer]]

#: Test cases per operation and phase: enough to reach every response, quick on a shared machine.
EXAMPLES = 25


def answered(har: Path) -> dict[tuple[str, str], set[int | str]]:
    """(method, route) → the statuses schemathesis got, and ``credit`` for a vendor-month
    answered with its finance figures."""
    found: dict[tuple[str, str], set[int | str]] = {}
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        path = entry["request"]["url"].split("://", 1)[1].split("/", 1)[1].split("?")[0]
        parts = ["", *path.split("/")]
        route = "/".join(parts)
        if route.startswith("/api/v1/vendors/") and "/months/" in route:
            route = "/api/v1/vendors/{vendor}/months/{month}"
        status = entry["response"]["status"]
        seen = found.setdefault((entry["request"]["method"], route), set())
        seen.add(status)
        text = entry["response"]["content"].get("text") or ""
        if status == 200 and route.endswith("{month}") and '"credit"' in text:
            seen.add("credit")
    return found


def test_the_document_is_valid_openapi_3_1(tmp_path: Path) -> None:
    document = openapi_document(write_config(tmp_path, datetime.now(UTC)))
    validate(document)  # raises on an invalid document
    assert document["openapi"] == "3.1.0"


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    config = write_config(tmp_path, datetime.now(UTC))
    app = make_app(config, tmp_path / "uptime.db", probe_regions=())
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
    }
    documented = {
        (method, path)
        for path, operations in openapi_document(config)["paths"].items()
        for method in operations
    }
    assert served == documented


async def test_schemathesis_finds_nothing_wrong(
    aiohttp_server: ServerFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served: Served = await serve(aiohttp_server, tmp_path)
    status, _, body = await fetch(served.url("/api/v1/openapi.json"))
    assert status == 200
    document = json.loads(body)
    # From a file, so that schemathesis also tests the route serving the document (it leaves
    # out the URL it loaded the document from).
    (tmp_path / "openapi.json").write_bytes(body)
    junit = tmp_path / "schemathesis.xml"
    # The reader's token everywhere, so that vendor-months are checked with their finance
    # figures; the region's token on the ingest route, so that batches get past authentication
    # and their bodies are checked (ignored_auth still sends requests without a token and
    # expects the documented answer).
    (tmp_path / "schemathesis.toml").write_text(
        f"""\
headers = {{ Authorization = "Bearer {READERS["reader"]}" }}

[[operations]]
include-name = "POST /api/v1/results"
headers = {{ Authorization = "Bearer {TOKENS["chicago"]}" }}
""",
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR, logger="uptime.web.responses"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(tmp_path / "openapi.json"),
            "--url",
            served.url("/"),
            "--checks",
            "all",
            # A schema-valid request may still be refused: a month after the current one, a
            # "to" before "from", a batch whose agent id is not its region's. JSON Schema cannot
            # say these, and the document says they are 422.
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "8",
            "--workers",
            "1",
            "--report",
            "junit,har",
            "--report-junit-path",
            str(junit),
            "--report-har-path",
            str(tmp_path / "schemathesis.har"),
            # The HAR shows which token each request carried.
            "--output-sanitize",
            "false",
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    operations = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
    }
    assert operations <= set(cases), text
    for name in operations:
        assert not list(cases[name]), f"{name}: {ET.tostring(cases[name], encoding='unicode')}"
    assert f"Tested: {len(operations)}" in text
    # Each route was reached with its token: batches got past authentication (and the rate
    # limit), vendor-months were answered with their finance figures.
    answers = answered(tmp_path / "schemathesis.har")
    assert {401, 422} <= answers["POST", "/api/v1/results"], answers
    assert 429 not in answers["POST", "/api/v1/results"], answers
    month = "/api/v1/vendors/{vendor}/months/{month}"
    assert {200, "credit", 401} <= answers["GET", month], answers
    # (aiohttp itself logs the requests it refuses before any handler: schemathesis probes
    # whether a NUL byte in a header gets through.)
    failed = [r for r in caplog.records if r.name.startswith("uptime")]
    assert not failed, "a request failed inside the server: " + caplog.text
