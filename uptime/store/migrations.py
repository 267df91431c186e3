"""The schema, as sqlite-utils migrations applied in order (only the writer applies them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    pass


migrations = Migrations("uptime-ledger")


@migrations()
def m001_outages(db: Database) -> None:
    db["outages"].create(
        {
            "vendor": str,
            "region": str,
            "start": str,
            "end": str,
            "note": str,
            "imported_at": str,
        },
        # The same (vendor, region, start, end) is the same outage: importing it twice is a no-op.
        pk=("vendor", "region", "start", "end"),
    )
    db["outages"].create_index(["start"])
    db["outages"].create_index(["end"])


@migrations()
def m002_probe_results(db: Database) -> None:
    db["results"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "at": str,
            "ok": int,
            "degraded": int,
            "latency": float,
            "status": int,
            "error": str,
            "message": str,
            "agent": str,
        }
    )
    db["results"].create_index(["at"])
    db["state_intervals"].create(
        {"vendor": str, "monitor": str, "region": str, "state": str, "start": str, "end": str},
        pk=("vendor", "monitor", "region", "start"),
    )
    db["state_intervals"].create_index(["start"])
    db["state_intervals"].create_index(["end"])
    db["open_states"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "state": str,
            "start": str,
            "last_seen": str,
            "stale_after_s": float,
        },
        pk=("vendor", "monitor", "region"),
    )
    db["agent_progress"].create({"agent": str, "last_seq": int}, pk="agent")
    db["hourly"].create(
        {
            "vendor": str,
            "monitor": str,
            "region": str,
            "hour": str,
            "probes": int,
            "failures": int,
            "degraded": int,
            "latency_sum": float,
            "latency_max": float,
        },
        pk=("vendor", "monitor", "region", "hour"),
    )


@migrations()
def m003_down_interval_index(db: Database) -> None:
    # Reports read only down and unknown intervals ending after the month starts: a partial
    # covering index answers that without touching the table.
    db.execute(
        "create index idx_state_intervals_not_up on state_intervals "
        "(\"end\", start, vendor, monitor, region, state) where state != 'up'"
    )


@migrations()
def m004_first_seen(db: Database) -> None:
    # When each (monitor, region) first reported: before that, and for a configured region
    # that never reported, nobody was looking from there.
    db["first_seen"].create(
        {"vendor": str, "monitor": str, "region": str, "at": str},
        pk=("vendor", "monitor", "region"),
    )
    db.execute(
        "insert into first_seen (vendor, monitor, region, at) "
        "select vendor, monitor, region, min(start) from ("
        "  select vendor, monitor, region, start from state_intervals"
        "  union all select vendor, monitor, region, start from open_states"
        ") group by vendor, monitor, region"
    )


@migrations()
def m005_certificate_expiry(db: Database) -> None:
    # The TLS certificate's notAfter as each HTTPS probe saw it: evidence, and a warning ahead.
    db["results"].add_column("cert_expires_at", str)
