"""The schema, as sqlite-utils migrations applied in order (only the writer applies them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from uptime.store.database import micros_as_text, text_as_micros
from uptime.store.rollups import bucket_of, format_buckets

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


@migrations()
def m006_evidence_and_compact_results(db: Database) -> None:
    # Raw results are split by how long they are kept (uptime.store.results): failures and
    # the like as evidence, every field kept; plain successes as compact rows. Hourly rollups
    # gain a latency histogram (uptime.store.rollups) and, like successes, name their
    # (vendor, monitor, region) by a small id. Every row already here is kept.
    db.execute(
        "create table series (id integer primary key, vendor text not null, "
        "monitor text not null, region text not null, unique (vendor, monitor, region))"
    )
    db.execute(
        "insert into series (vendor, monitor, region) "
        "select vendor, monitor, region from first_seen "
        "union select vendor, monitor, region from results "
        "union select vendor, monitor, region from hourly order by 1, 2, 3"
    )
    db.execute("create table agents (id integer primary key, name text not null unique)")
    db.execute(
        "insert into agents (name) "
        "select distinct agent from results where agent is not null order by 1"
    )
    _split_results(db)
    _hourly_with_histograms(db)
    db.execute("drop table results")
    db.execute(
        "create view results as "
        "select vendor, monitor, region, at, ok, degraded, latency, status, error, message, "
        "agent, cert_expires_at from evidence "
        "union all "
        "select s.vendor, s.monitor, s.region, "
        f"{micros_as_text('p.at_us')}, 1, 0, p.latency, p.status, null, null, a.name, "
        f"{micros_as_text('p.cert_expires_us')} "
        "from successes p join series s on s.id = p.series "
        "left join agents a on a.id = p.agent"
    )


def _split_results(db: Database) -> None:
    columns = (
        "vendor, monitor, region, at, ok, degraded, latency, status, error, message, agent, "
        "cert_expires_at"
    )
    db.execute(
        "create table evidence (vendor text, monitor text, region text, at text, ok integer, "
        "degraded integer, latency real, status integer, error text, message text, "
        "agent text, cert_expires_at text)"
    )
    db.execute("create index idx_evidence_at on evidence (at)")
    # A success that opened a state interval changed its region's state: evidence.
    evidence = (
        "(r.ok = 0 or r.degraded != 0 or r.error is not null or r.message is not null "
        "or exists (select 1 from state_intervals i where i.vendor = r.vendor "
        "and i.monitor = r.monitor and i.region = r.region and i.start = r.at) "
        "or exists (select 1 from open_states o where o.vendor = r.vendor "
        "and o.monitor = r.monitor and o.region = r.region and o.start = r.at))"
    )
    db.execute(
        f"insert into evidence ({columns}) select {columns} from results r "
        f"where {evidence} order by r.at"
    )
    db.execute(
        "create table successes (at_us integer not null, "
        "series integer not null references series (id), agent integer references agents (id), "
        "latency real not null, status integer, cert_expires_us integer, "
        "primary key (at_us, series)) without rowid"
    )
    db.execute(
        "insert or ignore into successes (at_us, series, agent, latency, status, "
        f"cert_expires_us) select {text_as_micros('r.at')}, s.id, a.id, r.latency, r.status, "
        f"{text_as_micros('r.cert_expires_at')} from results r "
        "join series s on (s.vendor, s.monitor, s.region) = (r.vendor, r.monitor, r.region) "
        f"left join agents a on a.name = r.agent where not {evidence} order by r.at"
    )


def _hourly_with_histograms(db: Database) -> None:
    db.execute("alter table hourly rename to hourly_before_histograms")
    db.execute(
        "create table hourly (series integer not null references series (id), "
        "hour text not null, probes integer not null, failures integer not null, "
        "degraded integer not null, latency_sum real not null, latency_max real not null, "
        "latency_buckets text, primary key (series, hour)) without rowid"
    )
    db.execute(
        "insert into hourly (series, hour, probes, failures, degraded, latency_sum, latency_max) "
        "select s.id, substr(h.hour, 1, 13) || ':00Z', h.probes, h.failures, h.degraded, "
        "h.latency_sum, h.latency_max from hourly_before_histograms h "
        "join series s on (s.vendor, s.monitor, s.region) = (h.vendor, h.monitor, h.region)"
    )
    db.execute("drop table hourly_before_histograms")
    # The raw results still here give the histogram of every hour they cover whole: an hour
    # whose oldest results were pruned already keeps its counts, sum and maximum only.
    rows = db.execute(
        "select substr(r.at, 1, 13) || ':00Z', s.id, r.latency from results r "
        "join series s on (s.vendor, s.monitor, s.region) = (r.vendor, r.monitor, r.region) "
        "order by r.at"
    )
    hour = ""
    counts: dict[int, dict[int, int]] = {}  # series → bucket → probes, in ``hour``
    for row_hour, series, latency in rows:
        if row_hour != hour:
            _set_histograms(db, hour, counts)
            hour, counts = row_hour, {}
        buckets = counts.setdefault(series, {})
        bucket = bucket_of(latency)
        buckets[bucket] = buckets.get(bucket, 0) + 1
    _set_histograms(db, hour, counts)


def _set_histograms(db: Database, hour: str, counts: dict[int, dict[int, int]]) -> None:
    """Give one hour's rollups the histogram of its raw results, where those results are all
    of the hour's probes."""
    db.conn.executemany(
        "update hourly set latency_buckets = ? where series = ? and hour = ? and probes = ?",
        [
            (format_buckets(buckets), series, hour, sum(buckets.values()))
            for series, buckets in counts.items()
        ],
    )


@migrations()
def m007_audit_trail(db: Database) -> None:
    # What finance records (exclusions, announced windows, closes and reopens, claim marks) is
    # kept as events of one hash-chained, append-only trail (uptime.store.audit); the closed
    # months' frozen reports beside it, named by their close event.
    db.execute(
        "create table audit_events (seq integer primary key, at text not null, "
        "by text not null, action text not null, vendor text, month text, "
        "detail text not null, prev_hash text not null, hash text not null)"
    )
    for verb in ("update", "delete"):
        db.execute(
            f"create trigger audit_events_no_{verb} before {verb} on audit_events "
            "begin select raise(abort, 'the audit trail is append-only'); end"
        )
    db.execute(
        "create table closed_reports (seq integer primary key, month text not null, "
        "sha256 text not null, report blob not null)"
    )


@migrations()
def m008_audit_trail_insert_guard(db: Database) -> None:
    # An event may only be added at the end of the chain: a later number that follows the
    # last hash (INSERT OR REPLACE of an existing number would otherwise delete the old row
    # without the delete trigger firing). Frozen reports, like events, are never changed.
    db.execute(
        "create trigger audit_events_append_only before insert on audit_events "
        "when new.seq <= coalesce((select max(seq) from audit_events), 0) "
        "or new.prev_hash is not coalesce("
        "(select hash from audit_events order by seq desc limit 1), '" + "0" * 64 + "') "
        "begin select raise(abort, 'the audit trail is append-only'); end"
    )
    for verb in ("update", "delete"):
        db.execute(
            f"create trigger closed_reports_no_{verb} before {verb} on closed_reports "
            "begin select raise(abort, 'frozen reports are never changed'); end"
        )
    db.execute(
        "create trigger closed_reports_once before insert on closed_reports "
        "when exists (select 1 from closed_reports where seq = new.seq) "
        "begin select raise(abort, 'frozen reports are never changed'); end"
    )
