"""``uptime-ledger``: the command line. Each command only wires library calls."""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from credits.intervals import EARLIEST, LATEST, Interval
from reports.maintenance import windows_table
from reports.runner import RENDERERS, ROWS, VENDORS_PER_WORKER, usable_cpus
from reports.runner import report as make_report
from uptime.config import Config, default_files, load_config, render_config
from uptime.errors import FileAccessError, UptimeLedgerError, UsageError
from uptime.sources.imported import read_outages_csv
from uptime.store.storage import Storage


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


def _write_atomically(path: Path, data: bytes) -> None:
    # Write beside the target and rename, so a failure never leaves half a report behind. Not
    # mkstemp: its file is owner-only, and the report would keep that mode; created 0o666 here,
    # the report gets the mode the umask gives any file the user writes.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise FileAccessError(path, error) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise FileAccessError(path, error) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args)
    print(render_config(config), end="")
    print(f"OK: {config.vendors_path} and {config.maintenance_path} are valid.")
    return 0


def cmd_maintenance(args: argparse.Namespace) -> int:
    config = _load(args)
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


def cmd_import_outages(args: argparse.Namespace) -> int:
    config = _load(args)
    rows = read_outages_csv(Path(args.file), config.vendor_ids, config.region_ids)
    storage = Storage(args.db)
    try:
        added = storage.add_outages(rows, imported_at=datetime.now(UTC))
    finally:
        storage.close()
    print(f"{args.file}: {len(rows)} rows read, {added} new, {len(rows) - added} already imported")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    year, month = args.month
    if args.rows is not None and args.format != "csv":
        raise UsageError(f"--rows applies to --format csv only, not {args.format}")
    document = make_report(
        lambda: _load(args),
        Path(args.db),
        year,
        month,
        format=args.format,
        rows=args.rows or "vendors",
        jobs=args.jobs,
    )
    if args.out:
        _write_atomically(Path(args.out), document)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
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


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; expected 0 to 65535")
    return int(text)


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here: the other commands do not need the event loop or the web stack.
    import asyncio

    from uptime.probing.jobs import config_jobs
    from uptime.probing.wire import RESULTS_PATH
    from uptime.web.app import local_regions, make_app
    from uptime.web.serve import event_loop_factory, serve

    config = _load(args)
    _setup_logging()
    regions = local_regions(config)
    jobs = config_jobs(config, regions)
    app = make_app(config, args.db, probe_regions=regions, jobs=jobs)
    remote = [r.id for r in config.regions if r.token_file is not None]
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
    say(f"database {args.db}; stop with Ctrl-C or SIGTERM (buffered results are stored)")

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
            _write_atomically(out / name, document)
        print("\n".join(describe(started, [out / name for name in started.reports])), flush=True)

    db = Path(args.demo_db) if args.demo_db else None
    with asyncio.Runner(loop_factory=event_loop_factory(not args.no_uvloop)) as runner:
        runner.run(run_demo(args.host, args.port, db, ready))
    print("uptime-ledger: demo stopped", file=sys.stderr)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    import asyncio

    from uptime.probing.agent import Agent, AgentRefused
    from uptime.probing.spool import default_spool
    from uptime.web.serve import event_loop_factory
    from uptime.web.tokens import SetupError, read_token

    config = _load(args)
    config.region(args.region)  # UsageError naming the configured regions
    try:
        token = read_token(Path(args.token_file))
    except SetupError as error:
        raise UsageError(f"--token-file {error}") from None
    _setup_logging()
    spool = Path(args.spool) if args.spool else default_spool(args.region)
    agent = Agent(config, args.region, args.collector, token, spool)
    if not agent.jobs:
        raise UsageError(f"no monitor is probed from region {args.region!r}; nothing to do")

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
        "list a vendor's expanded maintenance calendar, in the window's zone and in UTC",
        "uptime-ledger maintenance --vendor classcollaborate --from 2025-03-01 --to 2025-03-31",
    )
    maintenance.add_argument("--vendor", required=True, help="vendor id from vendors.yaml")
    maintenance.add_argument(
        "--from",
        dest="from_",
        required=True,
        type=_date,
        metavar="DATE",
        help="first day (YYYY-MM-DD, vendor's zone)",
    )
    maintenance.add_argument(
        "--to", required=True, type=_date, metavar="DATE", help="last day, included (YYYY-MM-DD)"
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
        required=True,
        metavar="F",
        help="file holding the region's bearer token (the collector's regions.<id>.token_file)",
    )
    agent.add_argument(
        "--spool",
        metavar="PATH",
        help="SQLite file for unsent results and the agent id "
        "(default ./uptime-agent-<region>.spool.db)",
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


if __name__ == "__main__":
    sys.exit(main())
