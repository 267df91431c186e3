"""``uptime-ledger``: the command line. Each command only wires library calls."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from credits.availability import month_period
from credits.calendar import notice_is_sufficient
from credits.intervals import EARLIEST, LATEST, InstantError, Interval, parse_instant
from reports.claims_list import claims_table, list_claims
from reports.closing import (
    AuditBroken,
    check_closed_months,
    close_month,
    refuse_if_tampered,
    reopen_month,
)
from reports.maintenance import windows_table
from reports.packet import claim_packet
from reports.packet_render import render_html as render_packet_html
from reports.packet_render import render_text as render_packet_text
from reports.records import audit_lines, concerning, exclusions_table
from reports.runner import RENDERERS, ROWS, VENDORS_PER_WORKER, read_records_of, usable_cpus
from reports.runner import report as make_report
from uptime.config import Config, default_files, load_config, render_config
from uptime.errors import UptimeLedgerError, UsageError
from uptime.files import write_atomically
from uptime.probing.spool import DEFAULT_SPOOL_MAX, SPOOL_MAX_RANGE, parse_size, size_text
from uptime.sources.imported import read_outages_csv
from uptime.store.audit import events, verify
from uptime.store.database import DatabaseNotReady, open_read_only
from uptime.store.finance import (
    month_label,
    plain_text,
    read_records,
    record_claim_mark,
    record_exclusion,
    record_window,
    recorded_config,
    refuse_if_closed,
    undo_exclusion,
)
from uptime.store.storage import OutageRow, Storage, open_writable


def config_paths(vendors: str | None, maintenance: str | None) -> tuple[Path, Path]:
    """The two files to load. The embedded defaults let a fresh install run before the district
    writes its own files; they are used as a pair, only when neither file was given nor exists
    here, so a district's own vendors are never mixed with the seed vendors' windows."""
    local_vendors, local_windows = Path("vendors.yaml"), Path("maintenance_windows.yaml")
    if vendors is None and maintenance is None and not local_vendors.exists():
        return default_files()
    return Path(vendors or local_vendors), Path(maintenance or local_windows)


def _load(args: argparse.Namespace) -> Config:
    return load_config(*config_paths(args.vendors, args.maintenance))


# The years whose dates and months a command accepts (see credits.intervals.EARLIEST).
FIRST_YEAR, LAST_YEAR = EARLIEST.year, LATEST.year - 1


def _month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; expected YYYY-MM, e.g. 2025-02")
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range; expected a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12"
        )
    return year, int(match.group(2))


def _positive(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; expected 1 or more")
    return int(text)


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; expected YYYY-MM-DD, e.g. 2025-03-01"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range; expected a date from {FIRST_YEAR}-01-01 "
            f"to {LAST_YEAR}-12-31"
        )
    return day


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except InstantError as error:
        raise argparse.ArgumentTypeError(f"{text!r} {error}") from None


def _who(args: argparse.Namespace) -> str:
    """Who is recording: ``--by``, else the operating system's user."""
    if args.by:
        by = " ".join(plain_text(args.by, "--by").split())
        if not by or len(by) > 100:
            raise UsageError("--by must name who records this (1 to 100 characters)")
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def _closed_months_unchanged(config: Config, args: argparse.Namespace) -> None:
    check_closed_months(config, Path(args.db))


def _records_db(args: argparse.Namespace) -> Database:
    """The database finance's commands record into: it must exist (a mistyped ``--db`` must
    not start a new, empty ledger), and its audit trail must verify (nothing is added to a
    broken one)."""
    db_path = Path(args.db)
    if not db_path.exists():
        raise DatabaseNotReady(
            f"{db_path}: no such database; import outages (uptime-ledger import-outages) or "
            "run the monitor (uptime-ledger run) first",
            exit_code=2,
        )
    refuse_if_tampered(db_path)
    return open_writable(db_path)


def _with_records(config: Config, args: argparse.Namespace) -> Config:
    """``config`` with the windows and exclusions recorded from the command line, when the
    database has any (a database from before the audit trail has none)."""
    if not Path(args.db).exists():
        return config
    try:
        return recorded_config(config, read_records_of(Path(args.db)))
    except DatabaseNotReady:
        return config


def _say_how_far_the_month_is(
    config: Config, year: int, month: int, now: datetime, refuse_future: bool = False
) -> None:
    """A month no vendor has reached yet has nothing measured, and one still under way has its
    figures so far: say so on standard error (or refuse a month not begun)."""
    periods = [month_period(year, month, v.timezone) for v in config.vendors]
    label = month_label(year, month)
    if min(p.start for p in periods) > now:
        if refuse_future:
            raise UsageError(f"{label} has not begun yet; nothing was measured in it")
        print(
            f"uptime-ledger: {label} has not begun yet: nothing was measured in it (only "
            "imported history, if any, is counted)",
            file=sys.stderr,
        )
        return
    if max(p.end for p in periods) > now:
        print(
            f"uptime-ledger: {label} is not over yet: these are its figures so far "
            f"(month to date, as of {now:%Y-%m-%d %H:%M} UTC)",
            file=sys.stderr,
        )


def cmd_check_config(args: argparse.Namespace) -> int:
    from uptime.probing.jobs import slot_warnings
    from uptime.web.tokens import finance_tokens, region_tokens, token_warnings

    config = _load(args)
    # each token file (and token variable) there, readable and long enough (SetupError)
    finance_tokens(config, region_tokens(config))
    _closed_months_unchanged(config, args)
    print(render_config(config), end="")
    for line in [*token_warnings(config), *slot_warnings(config)]:
        print(f"uptime-ledger: warning: {line}", file=sys.stderr)
    print(f"OK: {config.vendors_path} and {config.maintenance_path} are valid.")
    return 0


def cmd_maintenance(args: argparse.Namespace) -> int:
    if args.maintenance_command == "add":
        return cmd_maintenance_add(args)
    missing = [
        flag
        for flag, value in (("--vendor", args.vendor), ("--from", args.from_), ("--to", args.to))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"maintenance needs {', '.join(missing)} (or: maintenance add ...); "
            "see uptime-ledger maintenance --help"
        )
    config = _with_records(_load(args), args)
    vendor = config.vendor(args.vendor)
    if args.to < args.from_:
        raise UsageError(f"--to {args.to} is before --from {args.from_}")
    zone = vendor.timezone
    period = Interval(
        datetime.combine(args.from_, time(), tzinfo=zone),
        datetime.combine(args.to + timedelta(days=1), time(), tzinfo=zone),
    )
    windows = vendor.windows(period)
    print(f"{vendor.name} ({vendor.id}), {args.from_} to {args.to} ({zone.key}):")
    print(windows_table(windows), end="")
    return 0


def cmd_maintenance_add(args: argparse.Namespace) -> int:
    config = _load(args)
    vendor = config.vendor(args.add_vendor)
    if args.end <= args.start:
        raise UsageError(
            f"--end {args.end.isoformat()} is not after --start {args.start.isoformat()}"
        )
    db = _records_db(args)
    try:
        window = record_window(
            db,
            vendor,
            Interval(args.start, args.end),
            args.announced_at,
            args.note,
            _who(args),
            datetime.now(UTC),
        )
    finally:
        db.close()
    sla = vendor.sla
    enough = notice_is_sufficient(
        window.announced_at, window.start, sla.emergency_notice, sla.business_calendar
    )
    what = "scheduled" if enough else "emergency"
    zone = vendor.timezone
    print(
        f"recorded maintenance window {window.id} for {vendor.id}: "
        f"{_span(window.start, window.end, zone)}, announced "
        f"{window.announced_at.astimezone(zone):%Y-%m-%d %H:%M}: {what} "
        f"(by the contract's notice rule, {vendor.sla.emergency_notice.text}); by {window.by}"
    )
    return 0


def _span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``2026-11-09 13:00 to 2026-11-09 14:00 America/Los_Angeles``."""
    when = "%Y-%m-%d %H:%M"
    return f"{start.astimezone(zone):{when}} to {end.astimezone(zone):{when}} {zone.key}"


def cmd_exclude(args: argparse.Namespace) -> int:
    config = _load(args)
    db = _records_db(args)
    try:
        if args.list:
            records = read_records(db)
            chosen = [e for e in records.exclusions if args.vendor in (None, e.vendor)]
            zones = {v.id: v.timezone for v in config.vendors}
            print(exclusions_table(chosen, zones), end="")
            return 0
        if args.undo is not None:
            if not args.reason:
                raise UsageError("exclude --undo ID needs --reason TEXT (why it is undone)")
            undone = undo_exclusion(
                db, config, args.undo, args.reason, _who(args), datetime.now(UTC)
            )
            print(f"undid exclusion {undone.id} of {undone.vendor} ({undone.reason}); history kept")
            return 0
        missing = [
            flag
            for flag, value in (
                ("--vendor", args.vendor),
                ("--from", args.from_),
                ("--to", args.to),
                ("--reason", args.reason),
            )
            if value is None
        ]
        if missing:
            raise UsageError(f"exclude needs {', '.join(missing)} (or --list, or --undo ID)")
        if args.to <= args.from_:
            raise UsageError(
                f"--to {args.to.isoformat()} is not after --from {args.from_.isoformat()}"
            )
        vendor = config.vendor(args.vendor)
        recorded = record_exclusion(
            db, vendor, Interval(args.from_, args.to), args.reason, _who(args), datetime.now(UTC)
        )
    finally:
        db.close()
    zone = vendor.timezone
    print(
        f"recorded exclusion {recorded.id} for {vendor.id}: "
        f"{_span(recorded.start, recorded.end, zone)} "
        f"({_span(recorded.start, recorded.end, ZoneInfo('UTC'))}), "
        f"reason: {recorded.reason}; by {recorded.by} (undo: uptime-ledger exclude --undo "
        f"{recorded.id} --reason TEXT)"
    )
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    year, month = args.month
    now = datetime.now(UTC)
    _records_db(args).close()  # there, and its trail intact
    if args.reopen:
        if not args.reason:
            raise UsageError("close --reopen needs --reason TEXT (why the month is reopened)")
        undone = reopen_month(Path(args.db), year, month, args.reason, _who(args), now)
        print(f"reopened {undone.month} (it was closed by {undone.by}, sha256 {undone.sha256})")
        return 0
    config = _load(args)
    _closed_months_unchanged(config, args)
    close = close_month(config, Path(args.db), year, month, _who(args), now, jobs=args.jobs)
    print(
        f"closed {close.month}: report frozen, sha256 {close.sha256}; its figures no longer "
        f"change (reopen: uptime-ledger close --month {close.month} --reopen --reason TEXT); "
        f"audit trail event {close.seq}, hash {close.event_hash} (keep it with the report)"
    )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    db = open_read_only(args.db)
    try:
        if args.verify:
            verdict = verify(db)
            if not verdict.intact:
                raise AuditBroken(f"the audit trail is broken: {verdict.problem}")
            print(
                f"the audit trail is intact: {verdict.events} events, every hash checked; "
                f"last hash {verdict.last}"
            )
            return 0
        trail = events(db)
    finally:
        db.close()
    if args.month:
        label = month_label(*args.month)
        config = _load(args)
        zones = {v.id: v.timezone for v in config.vendors}
        trail = concerning(trail, label, zones)
    print(audit_lines(trail), end="")
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    if args.claims_command == "mark":
        return cmd_claims_mark(args)
    if args.claims_command == "packet":
        return cmd_claims_packet(args)
    config = _load(args)
    _closed_months_unchanged(config, args)
    claims, months = list_claims(config, Path(args.db), datetime.now(UTC), args.month, args.jobs)
    if not claims:
        span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
        print(
            f"nothing to claim in {span}: no vendor-month has a credit or an open ticket deadline"
        )
        return 0
    print(claims_table(claims), end="")
    return 0


#: The largest amount a mark records: as for fees (uptime.config.fields.MOST_MONEY).
MOST_CREDITED = Decimal(10) ** 12


def _amount(text: str) -> Decimal:
    if not re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", text) or Decimal(text) > MOST_CREDITED:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an amount; expected at least 0 and at most {MOST_CREDITED:,} "
            "with at most 2 decimals, e.g. 36.00"
        )
    return Decimal(text).quantize(Decimal("0.01"))


def cmd_claims_mark(args: argparse.Namespace) -> int:
    config = _load(args)
    vendor = config.vendor(args.mark_vendor)
    label = month_label(*args.mark_month)
    db = _records_db(args)
    try:
        mark = record_claim_mark(
            db,
            vendor,
            label,
            args.status,
            _who(args),
            datetime.now(UTC),
            ticket=args.ticket,
            on=args.date,
            amount=args.amount,
            reason=args.reason,
        )
    finally:
        db.close()
    said = [f"ticket {mark.ticket}"] if mark.ticket else []
    if mark.on:
        said.append(f"on {mark.on}")
    if mark.amount is not None:
        said.append(f"amount {mark.amount}")
    if mark.reason:
        said.append(f"reason: {mark.reason}")
    details = f" ({', '.join(said)})" if said else ""
    print(
        f"recorded claim mark {mark.seq} for {vendor.id} {label}: {mark.status}{details}; "
        f"by {mark.by} (kept in the audit trail: uptime-ledger audit --month {label})"
    )
    return 0


def cmd_claims_packet(args: argparse.Namespace) -> int:
    config = _load(args)
    config.vendor(args.packet_vendor)  # UnknownVendorError naming the configured ones
    _closed_months_unchanged(config, args)
    year, month = args.packet_month
    _say_how_far_the_month_is(config, year, month, datetime.now(UTC), refuse_future=True)
    packet = claim_packet(config, Path(args.db), args.packet_vendor, year, month, datetime.now(UTC))
    out = Path(args.out)
    base = f"{packet.vendor}-{packet.month}-claim"
    written = []
    for suffix, render in ((".txt", render_packet_text), (".html", render_packet_html)):
        path = out / f"{base}{suffix}"
        write_atomically(path, render(packet))
        written.append(str(path))
    print(
        f"wrote {' and '.join(written)}: {packet.name} {packet.month}, credit {packet.amount}, "
        f"{len(packet.downtimes)} downtime(s), earliest ticket deadline "
        f"{packet.earliest_deadline or 'none'}"
    )
    return 0


def cmd_import_outages(args: argparse.Namespace) -> int:
    config = _load(args)
    rows = read_outages_csv(
        Path(args.file), config.probed_regions(), config.region_ids, now=datetime.now(UTC)
    )
    storage = Storage(args.db)
    vendors = {v.id: v for v in config.vendors}

    def not_in_a_closed_month(new: list[OutageRow]) -> None:
        records = read_records(storage.db)
        for row in new:
            refuse_if_closed(
                records,
                vendors[row.vendor],
                row.interval,
                f"{args.file}: the outage {row.vendor},{row.region},"
                f"{row.interval.start.isoformat()},{row.interval.end.isoformat()}",
            )

    try:
        added = storage.add_outages(rows, datetime.now(UTC), check_new=not_in_a_closed_month)
    finally:
        storage.close()
    print(f"{args.file}: {len(rows)} rows read, {added} new, {len(rows) - added} already imported")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    year, month = args.month
    if args.rows is not None and args.format != "csv":
        raise UsageError(f"--rows applies to --format csv only, not {args.format}")
    config = _load(args)
    if args.vendor:
        config.vendor(args.vendor)  # UnknownVendorError naming the configured ones
    _closed_months_unchanged(config, args)
    _say_how_far_the_month_is(config, year, month, datetime.now(UTC))
    document = make_report(
        config,
        Path(args.db),
        year,
        month,
        format=args.format,
        rows=args.rows or "vendors",
        jobs=args.jobs,
        vendors=[args.vendor] if args.vendor else None,
    )
    if args.out:
        write_atomically(Path(args.out), document)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
    close = read_records_of(Path(args.db)).closes.get(month_label(year, month))
    if close is not None:
        print(
            f"uptime-ledger: {close.month} is closed (by {close.by} on "
            f"{close.closed_at:%Y-%m-%d %H:%M} UTC, sha256 {close.sha256}): these are its frozen "
            "figures",
            file=sys.stderr,
        )
    return 0


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a collector URL; expected http(s)://host:port, "
            "e.g. https://uptime.district.example:8080"
        )
    return text


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; expected 0 to 65535")
    return int(text)


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here: the other commands do not need the event loop or the web stack.
    import asyncio

    from uptime.probing.jobs import config_jobs, slot_warning
    from uptime.probing.wire import RESULTS_PATH
    from uptime.web.app import local_regions, make_app
    from uptime.web.serve import event_loop_factory, serve

    config = _load(args)
    _closed_months_unchanged(config, args)
    _setup_logging()
    regions = local_regions(config)
    jobs = config_jobs(config, regions)
    app = make_app(config, args.db, probe_regions=regions, jobs=jobs, reports=True)
    remote = [r.id for r in config.regions if r.remote]
    monitors = {(j.target.vendor, j.target.monitor) for j in jobs}

    def say(line: str) -> None:
        print(f"uptime-ledger: {line}", file=sys.stderr)

    if regions:
        say(
            f"probing {len(monitors)} monitors of {len(config.vendors)} vendors from "
            f"{len(regions)} in-process region(s) ({', '.join(regions)}): {len(jobs)} probes "
            "per cycle, all from this machine's network"
        )
    if remote:
        say(f"waiting for remote agents of region(s) {', '.join(remote)}")
    if (warning := slot_warning(jobs, config.probing, "these probes")) is not None:
        say(f"warning: {warning}")
    say(f"database {args.db}; stop with Ctrl-C or SIGTERM (buffered results are stored)")
    say(
        f"last month's report goes to {config.reports.dir}/ on schedule "
        f"{config.reports.schedule!r} (each vendor's clock)"
    )

    def ready(address: str) -> None:
        say(f"collector listening on {address} (POST {RESULTS_PATH}, GET /api/v1/status)")
        say(f"status page {address}/, metrics {address}/metrics")

    loop_factory = event_loop_factory(not args.no_uvloop)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(app, args.host, args.port, ready=ready))
    say("stopped")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from uptime.demo.run import Started, describe, run_demo
    from uptime.web.serve import event_loop_factory

    _setup_logging()
    out = Path(args.out)

    def ready(started: Started) -> None:
        for name, document in started.reports.items():
            write_atomically(out / name, document)
        print("\n".join(describe(started, [out / name for name in started.reports])), flush=True)

    db = Path(args.demo_db) if args.demo_db else None
    with asyncio.Runner(loop_factory=event_loop_factory(not args.no_uvloop)) as runner:
        runner.run(run_demo(args.host, args.port, db, ready))
    print("uptime-ledger: demo stopped", file=sys.stderr)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    import asyncio

    from uptime.probing.agent import Agent, AgentOptions, AgentRefused
    from uptime.probing.jobs import slot_warning
    from uptime.probing.spool import default_spool
    from uptime.web.serve import event_loop_factory
    from uptime.web.tokens import SetupError, agent_token, readable_by_others

    config = _load(args)
    config.region(args.region)  # UsageError naming the configured regions
    try:
        token = agent_token(args.token_file and Path(args.token_file), os.environ)
    except SetupError as error:
        raise UsageError(str(error)) from None
    if args.token_file and readable_by_others(Path(args.token_file)):
        print(
            f"uptime-ledger: warning: --token-file {args.token_file} is readable by other "
            f"users; restrict it: chmod 600 {args.token_file}",
            file=sys.stderr,
        )
    _setup_logging()
    spool = Path(args.spool) if args.spool else default_spool(args.region)
    agent = Agent(
        config,
        args.region,
        args.collector,
        token,
        spool,
        options=AgentOptions(spool_max=args.spool_max),
    )
    if not agent.jobs:
        raise UsageError(f"no monitor is probed from region {args.region!r}; nothing to do")
    if (warning := slot_warning(agent.jobs, config.probing, "this agent")) is not None:
        print(f"uptime-ledger: warning: {warning}", file=sys.stderr)

    async def main() -> None:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await agent.run(stop)

    try:
        with asyncio.Runner(loop_factory=event_loop_factory(not args.no_uvloop)) as runner:
            runner.run(main())
    except AgentRefused as error:
        print(f"uptime-ledger: error: {error}; stopping (results stay in {spool})", file=sys.stderr)
        return 1
    print(f"uptime-ledger: agent {agent.agent_id} stopped", file=sys.stderr)
    return 0


EPILOG_GLOBAL = """\
examples:
  uptime-ledger check-config
  uptime-ledger --vendors district/vendors.yaml report --month 2025-02 --format json --out feb.json

Without --vendors/--maintenance, ./vendors.yaml and ./maintenance_windows.yaml are used when
present, else the defaults shipped with uptime-ledger (the five seed vendors)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uptime-ledger",
        description="Availability monitor and service-credit calculator for SaaS vendor contracts.",
        epilog=EPILOG_GLOBAL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vendors", metavar="PATH", help="vendors file (default ./vendors.yaml)")
    parser.add_argument(
        "--maintenance",
        metavar="PATH",
        help="maintenance windows file (default ./maintenance_windows.yaml)",
    )
    parser.add_argument(
        "--db", metavar="PATH", default="uptime.db", help="SQLite database (default ./uptime.db)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], summary: str, example: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    command(
        "check-config",
        cmd_check_config,
        "validate both YAML files and print what they resolve to",
        "uptime-ledger --vendors vendors.yaml --maintenance maintenance_windows.yaml check-config",
    )
    maintenance = command(
        "maintenance",
        cmd_maintenance,
        "list a vendor's expanded maintenance calendar, in the window's zone and in UTC; "
        "`maintenance add` records an announced window",
        "uptime-ledger maintenance --vendor classcollaborate --from 2025-03-01 --to 2025-03-31",
    )
    maintenance.add_argument("--vendor", help="vendor id from vendors.yaml")
    maintenance.add_argument(
        "--from",
        dest="from_",
        type=_date,
        metavar="DATE",
        help="first day (YYYY-MM-DD, vendor's zone)",
    )
    maintenance.add_argument(
        "--to", type=_date, metavar="DATE", help="last day, included (YYYY-MM-DD)"
    )
    maintenance_commands = maintenance.add_subparsers(
        dest="maintenance_command", metavar="add", required=False
    )
    add = maintenance_commands.add_parser(
        "add",
        help="record an announced maintenance window (counts exactly as one in "
        "maintenance_windows.yaml; scheduled or emergency by the contract's notice rule)",
        description="record an announced maintenance window (counts exactly as one in "
        "maintenance_windows.yaml; scheduled or emergency by the contract's notice rule); "
        "refused when it touches a closed month",
        epilog="example:\n  uptime-ledger maintenance add --vendor classswift "
        "--start 2026-12-05T22:00:00-08:00 --end 2026-12-06T01:00:00-08:00 "
        "--announced-at 2026-11-20T09:00:00-08:00 --note 'Database upgrade'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("--vendor", dest="add_vendor", required=True, help="vendor id")
    add.add_argument(
        "--start", required=True, type=_instant, metavar="T", help="ISO 8601 with offset"
    )
    add.add_argument(
        "--end", required=True, type=_instant, metavar="T", help="ISO 8601 with offset"
    )
    add.add_argument(
        "--announced-at",
        required=True,
        type=_instant,
        metavar="T",
        help="when the vendor announced it (ISO 8601 with offset): decides scheduled or emergency",
    )
    add.add_argument("--note", default="", help="what the vendor said it is for")
    add.add_argument("--by", help="who records it (default: your user name)")
    exclude = command(
        "exclude",
        cmd_exclude,
        "remove an interval from a vendor's downtime for a stated reason (recorded with who "
        "and when in the audit trail); --list shows them, --undo ID undoes one",
        "uptime-ledger exclude --vendor classswift --from 2026-11-09T13:00:00-08:00 "
        "--to 2026-11-09T14:00:00-08:00 --reason 'district network outage'",
    )
    exclude.add_argument("--vendor", help="vendor id from vendors.yaml")
    exclude.add_argument(
        "--from", dest="from_", type=_instant, metavar="T", help="start, ISO 8601 with offset"
    )
    exclude.add_argument("--to", type=_instant, metavar="T", help="end (not included), ISO 8601")
    exclude.add_argument("--reason", help="why this time is not the vendor's downtime")
    exclude.add_argument("--by", help="who records it (default: your user name)")
    exclude.add_argument("--list", action="store_true", help="list recorded exclusions")
    exclude.add_argument(
        "--undo", type=_positive, metavar="ID", help="undo exclusion ID (needs --reason)"
    )
    close = command(
        "close",
        cmd_close,
        "freeze a month: store its report with its SHA-256; afterwards changes that would "
        "alter it are refused (--reopen --reason TEXT reopens it)",
        "uptime-ledger close --month 2026-11",
    )
    close.add_argument("--month", required=True, type=_month, metavar="YYYY-MM", help="the month")
    close.add_argument("--reopen", action="store_true", help="reopen a closed month")
    close.add_argument("--reason", help="why it is reopened (with --reopen)")
    close.add_argument("--by", help="who closes or reopens it (default: your user name)")
    close.add_argument(
        "--jobs", type=_positive, default=usable_cpus(), metavar="N", help=argparse.SUPPRESS
    )
    audit = command(
        "audit",
        cmd_audit,
        "the audit trail: closes, reopens, exclusions, maintenance added, claim marks (who, "
        "when, why); --verify checks its hash chain",
        "uptime-ledger audit --month 2026-11",
    )
    audit.add_argument(
        "--month", type=_month, metavar="YYYY-MM", help="only what concerns this month"
    )
    audit.add_argument(
        "--verify", action="store_true", help="check that no event was changed, removed or inserted"
    )
    claims = command(
        "claims",
        cmd_claims,
        "vendor-months with a credit or an open ticket deadline: amount, earliest deadline, "
        "status (due, overdue, submitted, accepted, rejected), nearest deadline first; "
        "`claims mark` records what became of one, `claims packet` writes one",
        "uptime-ledger claims --month 2026-11",
    )
    claims.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="only this month (default: each vendor's current month and the two before it, "
        "and every month with a claim mark)",
    )
    claims.add_argument(
        "--jobs", type=_positive, default=usable_cpus(), metavar="N", help=argparse.SUPPRESS
    )
    claims_commands = claims.add_subparsers(
        dest="claims_command", metavar="mark|packet", required=False
    )
    mark = claims_commands.add_parser(
        "mark",
        help="record what became of a claim: submitted (--ticket, --date), accepted "
        "(--amount credited) or rejected (--reason); kept in the audit trail",
        description="record what became of a claim: submitted (--ticket, --date), accepted "
        "(--amount credited) or rejected (--reason); kept in the audit trail",
        epilog="example:\n  uptime-ledger claims mark --vendor classswift --month 2026-11 "
        "--status submitted --ticket CS-48213 --date 2026-12-03",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mark.add_argument("--vendor", dest="mark_vendor", required=True, metavar="V", help="vendor id")
    mark.add_argument("--month", dest="mark_month", required=True, type=_month, metavar="YYYY-MM")
    mark.add_argument(
        "--status", required=True, metavar="STATUS", help="submitted, accepted or rejected"
    )
    mark.add_argument("--ticket", metavar="ID", help="the vendor's ticket id (with submitted)")
    mark.add_argument("--date", type=_date, metavar="D", help="when (YYYY-MM-DD)")
    mark.add_argument(
        "--amount", type=_amount, metavar="X", help="amount credited (with accepted), e.g. 36.00"
    )
    mark.add_argument("--reason", help="the vendor's reason (with rejected)")
    mark.add_argument("--by", help="who records it (default: your user name)")
    packet = claims_commands.add_parser(
        "packet",
        help="write a vendor-month's claim as a plain-text e-mail body and a printable HTML "
        "page, with the evidence appendix",
        description="write a vendor-month's claim as a plain-text e-mail body "
        "(<vendor>-<month>-claim.txt) and a printable HTML page (<vendor>-<month>-claim.html) "
        "with what its contract asks for and the evidence appendix; none for a month without a "
        "credit the account may claim",
        epilog="example:\n  uptime-ledger claims packet --vendor classswift --month 2026-11 "
        "--out claims/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    packet.add_argument(
        "--vendor", dest="packet_vendor", required=True, metavar="V", help="vendor id"
    )
    packet.add_argument(
        "--month", dest="packet_month", required=True, type=_month, metavar="YYYY-MM"
    )
    packet.add_argument(
        "--out", default=".", metavar="DIR", help="folder to write into (default: here)"
    )
    imports = command(
        "import-outages",
        cmd_import_outages,
        "import outage history (CSV: vendor,region,start,end[,note]; ISO 8601 with offsets); "
        "all rows or none",
        "uptime-ledger import-outages outages.csv",
    )
    imports.add_argument("file", metavar="FILE.csv")
    report = command(
        "report",
        cmd_report,
        "the monthly availability, credit and claims report",
        "uptime-ledger report --month 2025-02 --format json --out reports/2025-02.json",
    )
    report.add_argument(
        "--month",
        required=True,
        type=_month,
        metavar="YYYY-MM",
        help="calendar month, in each vendor's zone",
    )
    report.add_argument(
        "--format",
        default="json",
        choices=list(RENDERERS),
        help="output format (default json; pdf needs the pdf extra and Debian's chromium)",
    )
    report.add_argument(
        "--rows",
        choices=list(ROWS),
        help="with --format csv: one row per vendor-month (default) or per interruption",
    )
    report.add_argument("--vendor", help="only this vendor (id from vendors.yaml)")
    report.add_argument("--out", metavar="PATH", help="write here instead of standard output")
    cpus = usable_cpus()
    report.add_argument(
        "--jobs",
        type=_positive,
        default=cpus,
        metavar="N",
        help="processes computing vendors in parallel (default: this machine's CPUs, "
        f"{cpus}; one per {VENDORS_PER_WORKER} vendors at most)",
    )
    run = command(
        "run",
        cmd_run,
        "probe every in-process region and run the collector (status API, remote agents' "
        "results) until SIGINT/SIGTERM",
        "uptime-ledger --vendors vendors.yaml --db uptime.db run --host 0.0.0.0 --port 8080",
    )
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument(
        "--port", type=_port, default=8080, metavar="P", help="port to listen on (default 8080)"
    )
    run.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    demo = command(
        "demo",
        cmd_demo,
        "simulated local vendors with 90 days of scripted history, probed live and served "
        "(status page, /metrics, API) with last month's report, until SIGINT/SIGTERM",
        "uptime-ledger demo --port 8080 --db demo.db --out demo-reports",
    )
    demo.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    demo.add_argument(
        "--port", type=_port, default=8080, metavar="P", help="port to listen on (default 8080)"
    )
    demo.add_argument(
        "--db",
        dest="demo_db",
        metavar="PATH",
        help="keep the demo's database here (a later start continues it); default: a "
        "temporary file removed on exit (the global --db is not used)",
    )
    demo.add_argument(
        "--out",
        default="demo-reports",
        metavar="DIR",
        help="folder for last month's report (default ./demo-reports)",
    )
    demo.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    agent = command(
        "agent",
        cmd_agent,
        "a remote probe site: probe one region's monitors and send the results to the "
        "collector, spooling them while it is unreachable",
        "uptime-ledger --vendors vendors.yaml agent --region atlanta "
        "--collector https://uptime.district.example:8080 --token-file /etc/uptime/atlanta.token",
    )
    agent.add_argument("--region", required=True, help="region id from vendors.yaml")
    agent.add_argument(
        "--collector", required=True, type=_url, metavar="URL", help="the collector's base URL"
    )
    agent.add_argument(
        "--token-file",
        metavar="F",
        help="file holding the region's bearer token (the collector's regions.<id>.token_file "
        "or token_env); without it, the environment variable UPTIME_LEDGER_AGENT_TOKEN",
    )
    agent.add_argument(
        "--spool",
        metavar="PATH",
        help="SQLite file for unsent results and the agent id "
        "(default ./uptime-agent-<region>.spool.db)",
    )
    agent.add_argument(
        "--spool-max",
        type=_size,
        default=DEFAULT_SPOOL_MAX,
        metavar="SIZE",
        help="most data the spool holds while the collector is unreachable, e.g. "
        f"{size_text(DEFAULT_SPOOL_MAX)} (the default), 2GB, 800MiB; from "
        f"{size_text(SPOOL_MAX_RANGE[0])} to {size_text(SPOOL_MAX_RANGE[1])}; once full, new "
        "results are not spooled (the oldest are kept)",
    )
    agent.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UptimeLedgerError as error:
        for line in error.lines():
            print(f"uptime-ledger: error: {line}", file=sys.stderr)
        if error.outcome:
            print(f"uptime-ledger: {error.outcome}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, and none from the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
