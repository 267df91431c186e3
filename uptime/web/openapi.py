"""The OpenAPI 3.1 document of every ``/api/v1`` route (``GET /api/v1/openapi.json``).

Written by hand, as the contract clients read: each response's JSON Schema names every field,
its type, its enum or format, and allows no other field, so the schemathesis run of the tests
fails when a handler and this document disagree. Only the ids are taken from the configuration
(the vendor path parameter and the batch's region are enums of the configured ones).
"""

from __future__ import annotations

from typing import Any

from probes.result import FailureClass
from uptime.config import Config
from uptime.probing.wire import MAX_BODY, MAX_RESULTS, MAX_SEQ

Schema = dict[str, Any]


def _object(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A closed object whose properties are all required but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


STRING: Schema = {"type": "string"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
DATE: Schema = {"type": "string", "format": "date"}
MINUTES: Schema = {"type": "number", "minimum": 0, "description": "minutes, to 2 decimals"}
PERCENT: Schema = {"type": "number", "minimum": 0, "maximum": 100}
REGION_STATE: Schema = {"type": "string", "enum": ["up", "down", "unknown"]}
VENDOR_STATE: Schema = {"type": "string", "enum": ["up", "down", "maintenance", "unknown"]}


def _schemas(config: Config) -> dict[str, Schema]:
    window = _object(
        {
            "name": STRING,
            "kind": {"type": "string", "enum": ["scheduled", "emergency"]},
            "source": {"type": "string", "enum": ["recurring", "announced"]},
            "timezone": {**STRING, "description": "the window's own IANA zone"},
            "start": {**DATE_TIME, "description": "on the window zone's wall clock"},
            "end": DATE_TIME,
            "start_utc": DATE_TIME,
            "end_utc": DATE_TIME,
            "minutes": MINUTES,
            "announced_at": _nullable(DATE_TIME),
        }
    )
    monitor_config = _object(
        {
            "id": STRING,
            "functional_area": STRING,
            "kind": {"type": "string", "enum": ["http", "tcp"]},
            "critical": {"type": "boolean"},
            "interval_s": {"type": "number", "exclusiveMinimum": 0},
            "regions": _array(STRING),
        }
    )
    vendor_config = _object(
        {
            "id": STRING,
            "name": STRING,
            "timezone": STRING,
            "quorum": {
                "oneOf": [
                    {"type": "string", "enum": ["all", "majority"]},
                    {"type": "integer", "minimum": 1},
                ]
            },
            "hosting": _nullable(STRING),
            "target_pct": PERCENT,
            "maintenance": {"type": "string", "enum": ["counts", "excluded"]},
            "monitors": _array(monitor_config),
        }
    )
    region_now = _object(
        {
            "region": STRING,
            "state": REGION_STATE,
            "since": _nullable(DATE_TIME),
            "last_seen": _nullable(DATE_TIME),
        }
    )
    monitor_now = _object(
        {
            "id": STRING,
            "functional_area": STRING,
            "critical": {"type": "boolean"},
            "state": REGION_STATE,
            "regions": _array(region_now),
        }
    )
    vendor_now = _object(
        {
            "id": STRING,
            "name": STRING,
            "state": VENDOR_STATE,
            "monitors": _array(monitor_now),
            "maintenance": _object(
                {
                    "active": _array(_ref("Window")),
                    "upcoming": _array(_ref("Window")),
                    "next_start": _nullable(DATE_TIME),
                }
            ),
        }
    )
    region_state = _object(
        {
            "vendor": STRING,
            "monitor": STRING,
            "region": STRING,
            "state": REGION_STATE,
            "since": DATE_TIME,
            "last_seen": DATE_TIME,
        }
    )
    probing = _object(
        {
            "regions": _array(STRING),
            "jobs": {"type": "integer", "minimum": 0},
            "canaries": {"type": "object"},
            "stats": {"type": "object"},
        }
    )
    interruption = _object(
        {
            "start": DATE_TIME,
            "end": DATE_TIME,
            "minutes": MINUTES,
            "scheduled": MINUTES,
            "emergency": MINUTES,
            "downtime": MINUTES,
            "areas": _array(STRING),
            "regions": _array(STRING),
            "claim_deadline": DATE,
            "unmonitored": MINUTES,
        }
    )
    decimal = {"type": "string", "pattern": r"^[0-9]+\.[0-9]+$", "description": "a decimal"}
    exclusion = _object(
        {
            "start": DATE_TIME,
            "end": DATE_TIME,
            "reason": STRING,
            "minutes": MINUTES,
            "id": _nullable({"type": "integer", "minimum": 1}),
            "by": _nullable(STRING),
        }
    )
    vendor_month = _object(
        {
            "vendor": STRING,
            "name": STRING,
            "timezone": STRING,
            "period": _object({"start": DATE_TIME, "end": DATE_TIME}),
            "minutes": _object(
                {
                    "total": {"type": "integer", "minimum": 0},
                    "scheduled": MINUTES,
                    "downtime": MINUTES,
                    "emergency": MINUTES,
                    "excluded": MINUTES,
                    "unmonitored": MINUTES,
                }
            ),
            "maintenance": {"type": "string", "enum": ["counts", "excluded"]},
            "availability_pct": PERCENT,
            "target_pct": PERCENT,
            "met": {"type": "boolean"},
            "credit": _object(
                {
                    "eligible": {"type": "boolean"},
                    "reason": _nullable(STRING),
                    "hours": _nullable({"type": "integer", "minimum": 0}),
                    "amount": {
                        "type": "string",
                        "pattern": r"^[0-9]+\.[0-9]{2}$",
                        "description": "a decimal amount of money, never a float",
                    },
                    "currency": _nullable(STRING),
                    "kind": {"type": "string", "enum": ["none", "full_hours", "tiers"]},
                    "percent_per_hour": _nullable({"type": "number", "minimum": 0}),
                    "rounding": _nullable({"type": "string", "enum": ["month", "incident"]}),
                    "scope": _nullable({"type": "string", "enum": ["all", "excess"]}),
                    "monthly_fee": _nullable(decimal),
                    "hourly_fee": _nullable(decimal),
                    "band": _nullable(
                        _object({"below_pct": PERCENT, "credit_pct": {"type": "number"}})
                    ),
                    "cap": _nullable(decimal),
                    "capped": {"type": "boolean"},
                }
            ),
            "interruptions": _array(interruption),
            "unmonitored_policy": {"type": "string", "enum": ["as_up", "as_down", "exclude"]},
            "exclusions": _array(exclusion),
            "windows": _array(
                _object(
                    {
                        "start": DATE_TIME,
                        "end": DATE_TIME,
                        "kind": {"type": "string", "enum": ["scheduled", "emergency"]},
                        "name": STRING,
                        "announced_at": _nullable(DATE_TIME),
                    }
                )
            ),
            "closed": _nullable(
                _object(
                    {
                        "closed_at": DATE_TIME,
                        "by": STRING,
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "live_figures_differ": {"type": "boolean"},
                    }
                )
            ),
        }
    )
    result = _object(
        {
            "vendor": STRING,
            "monitor": STRING,
            "at": DATE_TIME,
            "ok": {"type": "boolean"},
            "latency": {"type": "number", "minimum": 0, "description": "seconds"},
            "status": _nullable({"type": "integer", "minimum": 100, "maximum": 599}),
            "error": _nullable({"type": "string", "enum": [f.value for f in FailureClass]}),
            "message": _nullable(STRING),
            "degraded": {"type": "boolean"},
            "cert_expires_at": _nullable(DATE_TIME),
        },
        optional=("status", "error", "message", "degraded", "cert_expires_at"),
    )
    # The agent's own encoder writes no other field; a newer agent's extra ones are ignored.
    result["additionalProperties"] = True
    return {
        "Error": _object({"error": STRING}),
        "Window": window,
        "Vendors": _object(
            {
                "regions": _array(_object({"id": STRING, "name": STRING})),
                "vendors": _array(vendor_config),
            }
        ),
        "Status": _object(
            {
                "now": DATE_TIME,
                "states": _array(region_state),
                "vendors": _array(vendor_now),
                "probing": probing,
            },
            optional=("probing",),
        ),
        "VendorMonth": vendor_month,
        "Maintenance": _object(
            {
                "vendor": STRING,
                "timezone": STRING,
                "from": DATE,
                "to": DATE,
                "windows": _array(_ref("Window")),
            }
        ),
        "Batch": {
            **_object(
                {
                    "agent": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                        "description": "the agent's id, starting with its region and '-'",
                    },
                    "region": {"type": "string", "enum": list(config.region_ids)},
                    "first_seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
                    "results": {**_array(_ref("Result")), "maxItems": MAX_RESULTS},
                    "spool_dropped": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_SEQ,
                        "description": "results the agent could not spool (its spool was "
                        "full), since the spool was made; 0 when absent",
                    },
                },
                optional=("spool_dropped",),
            ),
            "additionalProperties": True,
        },
        "Result": result,
        "Ingested": _object(
            {
                "new": {"type": "integer", "minimum": 0},
                "ignored": {"type": "integer", "minimum": 0},
                "last_seq": {"type": "integer", "minimum": 0},
                "received": {"type": "integer", "minimum": 0},
            }
        ),
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


def _get(
    summary: str,
    ok: Schema,
    *,
    parameters: list[Schema] | None = None,
    errors: dict[str, str] | None = None,
    finance: bool = False,
) -> Schema:
    """A GET; a ``finance`` one only with the reader's or the admin's token (401 without)."""
    responses = {"200": ok}
    responses["400"] = _error("a query parameter the route does not take, or one given twice")
    for status, description in (errors or {}).items():
        responses[status] = _error(description)
    operation = {"summary": summary, "parameters": parameters or [], "responses": responses}
    if finance:
        responses["401"] = _challenge(
            "no Authorization header, or one that is not the reader's or the admin's token"
        )
        operation["security"] = [{"readerToken": []}]
    return {"get": operation}


def _challenge(description: str) -> Schema:
    return {**_error(description), "headers": {"WWW-Authenticate": {"schema": STRING}}}


def openapi_document(config: Config) -> Schema:
    """The OpenAPI 3.1 document of the API as served with ``config``."""
    vendor_id = {
        "name": "vendor",
        "in": "path",
        "required": True,
        "description": "a vendor id of vendors.yaml",
        "schema": {"type": "string", "enum": list(config.vendor_ids)},
    }
    unknown_vendor = {"404": "no vendor has this id"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "uptime-ledger API",
            "version": "1",
            "description": (
                "Read-only JSON of the configured vendors, their state now, each vendor-month's "
                "report entry (with the reader's or the admin's token only) and maintenance "
                "calendar; and the ingest route of remote probe agents. No route writes "
                'finance data. Every error answer is {"error": message}. See docs/api.md.'
            ),
        },
        "paths": {
            "/api/v1/openapi.json": _get(
                "This document",
                {
                    "description": "the OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            ),
            "/api/v1/vendors": _get(
                "The configured regions and vendors (monitors, quorum, target, maintenance "
                "policy; never a monitor's URL)",
                _json(_ref("Vendors"), "regions and vendors in file order"),
            ),
            "/api/v1/status": _get(
                "The state now of every vendor (by its quorum), monitor and region, and the "
                "maintenance open now and starting within 14 days",
                _json(_ref("Status"), "the state now"),
            ),
            "/api/v1/vendors/{vendor}/months/{month}": _get(
                "One vendor's entry of the month's report JSON (month to date for the "
                "current month; a closed month's frozen figures, with `closed` saying when, "
                "by whom, its SHA-256 and whether the live figures now differ); only with the "
                "reader's or the admin's token",
                _json(_ref("VendorMonth"), "the vendor's month, as the report renders it"),
                parameters=[
                    vendor_id,
                    {
                        "name": "month",
                        "in": "path",
                        "required": True,
                        "description": "YYYY-MM, from 2000-01 to the vendor's current month",
                        "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"},
                        "example": "2025-02",
                    },
                ],
                errors={
                    **unknown_vendor,
                    "422": "not a month YYYY-MM, or before 2000-01 or after the current month",
                },
                finance=True,
            ),
            "/api/v1/vendors/{vendor}/maintenance": _get(
                "One vendor's maintenance windows overlapping the days from..to (both "
                "included, on the vendor's wall clock), each in its own zone and in UTC",
                _json(_ref("Maintenance"), "the expanded windows, in order of start"),
                parameters=[
                    vendor_id,
                    {
                        "name": "from",
                        "in": "query",
                        "description": "first day, YYYY-MM-DD (default: today)",
                        "schema": DATE,
                        "example": "2025-03-01",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "description": "last day, YYYY-MM-DD (default: 13 days after from); "
                        "at most 400 days from..to",
                        "schema": DATE,
                        "example": "2025-03-31",
                    },
                ],
                errors={
                    **unknown_vendor,
                    "422": "a day that is not YYYY-MM-DD or outside 2000..2199, to before "
                    "from, or more than 400 days",
                },
            ),
            "/api/v1/results": {
                "post": {
                    "summary": "A remote agent's batch of probe results (idempotent by agent "
                    "and sequence number)",
                    "security": [{"regionToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Batch")}},
                    },
                    "responses": {
                        "200": _json(_ref("Ingested"), "stored (a replayed batch stores none)"),
                        "400": _error("the body is not JSON"),
                        "401": _challenge(
                            "no bearer token, or not one of a region's (answered before the "
                            "body is read)"
                        ),
                        "403": _error("the token is another region's than the batch's"),
                        "413": _error(
                            f"the body is longer than {MAX_BODY} bytes (answered before it is "
                            "read when Content-Length says so)"
                        ),
                        "429": {
                            **_error(
                                "the region's agents sent more than the rate limit allows; "
                                "retry after Retry-After seconds"
                            ),
                            "headers": {
                                "Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}
                            },
                        },
                        "422": _error("a field is missing or wrong (the message names it)"),
                        "503": _error("storage unavailable: keep the batch and retry"),
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(config),
            "securitySchemes": {
                "regionToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token of the agent's region (regions.<id>.token_file)",
                },
                "readerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the reader's or the admin's token (web.reader_token_file, "
                    "web.admin_token_file or UPTIME_LEDGER_READER_TOKEN / "
                    "UPTIME_LEDGER_ADMIN_TOKEN): vendor-months and the finance metrics",
                },
            },
        },
    }
