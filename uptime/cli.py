"""``uptime-ledger``: the command line. Each command only wires library calls."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from credits.calendar import vendor_windows
from credits.intervals import Interval
from reports.json_report import dumps, report_json
from reports.maintenance import windows_table
from uptime.config import Config, ConfigError, load_config, render_config
from uptime.imports import ImportRejected, read_outages_csv
from uptime.ledger import compute_month
from uptime.storage import Storage

DEFAULTS_DIR = Path(__file__).parent / "defaults"


class UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


def _config_path(given: str | None, name: str) -> Path:
    # The embedded defaults let a fresh install run before the district writes its own files.
    if given is not None:
        return Path(given)
    local = Path(name)
    return local if local.exists() else DEFAULTS_DIR / name


def _load(args: argparse.Namespace) -> Config:
    return load_config(
        _config_path(args.vendors, "vendors.yaml"),
        _config_path(args.maintenance, "maintenance_windows.yaml"),
    )


def _write_atomically(path: Path, text: str) -> None:
    # Write beside the target and rename, so a failure never leaves half a report behind.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; expected YYYY-MM, e.g. 2025-02")
    return int(match.group(1)), int(match.group(2))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; expected YYYY-MM-DD, e.g. 2025-03-01"
        ) from None


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
    sla = vendor.sla
    windows = vendor_windows(
        vendor.calendar, vendor.hosting, sla.emergency_notice, sla.business_calendar, period
    )
    print(f"{vendor.name} ({vendor.id}), {args.from_} to {args.to} ({zone.key}):")
    print(windows_table(windows), end="")
    return 0


def cmd_import_outages(args: argparse.Namespace) -> int:
    config = _load(args)
    rows = read_outages_csv(Path(args.file), [v.id for v in config.vendors], list(config.regions))
    storage = Storage(args.db)
    try:
        added = storage.add_outages(rows, imported_at=datetime.now(UTC))
    finally:
        storage.close()
    print(f"{args.file}: {len(rows)} rows read, {added} new, {len(rows) - added} already imported")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    config = _load(args)
    year, month = args.month
    if not Path(args.db).exists():
        raise UsageError(
            f"--db {args.db}: no such database; import outages or run the monitor first"
        )
    storage = Storage(args.db)
    try:
        now = datetime.now(UTC)
        months = compute_month(config, storage, year, month, now)
    finally:
        storage.close()
    text = dumps(report_json(months, f"{year:04d}-{month:02d}", now))
    if args.out:
        _write_atomically(Path(args.out), text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
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
    report.add_argument("--format", default="json", choices=["json"], help="output format (json)")
    report.add_argument("--out", metavar="PATH", help="write here instead of standard output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, UsageError) as error:
        print(f"uptime-ledger: error: {error}", file=sys.stderr)
        return 2
    except ImportRejected as error:
        for problem in error.problems:
            print(f"uptime-ledger: error: {problem}", file=sys.stderr)
        print("uptime-ledger: nothing was imported", file=sys.stderr)
        return 1
    except KeyError as error:
        print(f"uptime-ledger: error: {error.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
