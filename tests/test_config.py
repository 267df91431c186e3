"""uptime/config/: the shipped files load, bad input is refused with file, line and field."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from credits.model import Span, VendorCalendar
from uptime.config import (
    Config,
    ConfigError,
    Expect,
    Probing,
    UnknownVendorError,
    Vendor,
    default_files,
    format_duration,
    load_config,
    parse_duration,
    render_config,
)
from uptime.errors import UptimeLedgerError

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ROOT / "vendors.yaml"
MAINTENANCE = ROOT / "maintenance_windows.yaml"
SEED_VENDORS = ("classswift", "classcollaborate", "schoolstatus", "itopia", "clevr")

# A small valid pair of files; each bad case below changes one spot of it.
BASE_VENDORS = """\
regions:
  chicago: {name: "Chicago, IL"}
  atlanta: {name: "Atlanta, GA"}
vendors:
  acme:
    name: Acme
    timezone: America/Chicago
    quorum: all
    hosting: us
    monitors:
      - id: app
        functional_area: Login
        url: https://acme.example.invalid/
        interval: 60s
        timeout: 10s
        expect: {status: [200], body_contains: null}
        critical: true
      - id: db
        functional_area: Database
        url: tcp://db.acme.example.invalid:5432
        interval: 5m
        timeout: 5s
        critical: false
        regions: [chicago]
    sla:
      target_pct: 99.9
      maintenance: counts
      emergency_notice: 5 business days
      business_calendar: {holidays: US, timezone: America/Chicago}
      credit:
        kind: tiers
        tiers: [{below_pct: 99, credit_pct: 25}, {below_pct: 99.9, credit_pct: 10}]
      fee: {amount: "100.00", per: year, currency: USD}
      claim_within: 30d
"""

BASE_MAINTENANCE = """\
acme:
  recurring:
    - {name: Weekly, cron: "0 2 * * thu", duration: 4h, timezone: America/New_York, hosting: us}
  announced:
    - start: "2026-12-03T22:00:00-05:00"
      end: "2026-12-04T01:00:00-05:00"
      announced_at: "2026-12-01T10:00:00-05:00"
      note: Upgrade
  exclusions:
    - {start: 2026-11-02T08:00:00-05:00, end: 2026-11-02T09:00:00-05:00, reason: District network}
"""


def write_pair(tmp_path: Path, vendors: str, maintenance: str) -> tuple[Path, Path]:
    vendors_path = tmp_path / "vendors.yaml"
    maintenance_path = tmp_path / "maintenance_windows.yaml"
    vendors_path.write_text(vendors, encoding="utf-8")
    maintenance_path.write_text(maintenance, encoding="utf-8")
    return vendors_path, maintenance_path


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} found on lines {lines}"
    return lines[0]


@pytest.fixture
def base(tmp_path: Path) -> Config:
    return load_config(*write_pair(tmp_path, BASE_VENDORS, BASE_MAINTENANCE))


# --------------------------------------------------------------------------------------------
# Shipped files


def test_shipped_files_load_with_the_seed_vendors() -> None:
    config = load_config(VENDORS, MAINTENANCE)
    assert config.vendor_ids == SEED_VENDORS
    assert config.region_ids == ("chicago", "california", "atlanta")
    for vendor in config.vendors:
        assert vendor.quorum == "all"
        assert any(m.critical for m in vendor.monitors)
        for monitor in vendor.monitors:
            assert ".example.invalid" in monitor.url
            assert monitor.regions == config.region_ids


def test_shipped_classswift_follows_its_sla() -> None:
    swift = load_config(VENDORS, MAINTENANCE).vendor("classswift")
    sla = swift.sla
    assert swift.timezone == ZoneInfo("America/Los_Angeles")
    assert {m.functional_area for m in swift.monitors} >= {"Classroom app", "ClassSwift Hub"}
    assert sla.target_pct == Decimal(95)
    assert sla.maintenance == "counts"
    assert sla.emergency_notice == Span("5 business days", business_days=5)
    assert sla.claim_within == Span("5 business days", business_days=5)
    assert (sla.credit.kind, sla.credit.rounding, sla.credit.scope) == (
        "full_hours",
        "month",
        "all",
    )
    assert sla.credit.percent_per_hour == Decimal(100)
    assert sla.fee is not None
    assert (sla.fee.amount, sla.fee.per, sla.fee.currency) == (Decimal("672.00"), "month", "USD")
    assert sla.eligible and not sla.invoices_in_default
    assert sla.business_calendar.holidays == "US"


def test_shipped_classcollaborate_windows_match_the_guide() -> None:
    collab = load_config(VENDORS, MAINTENANCE).vendor("classcollaborate")
    assert collab.sla.maintenance == "excluded"
    assert collab.sla.credit.kind == "none"
    assert collab.sla.emergency_notice == Span("2 business days", business_days=2)
    assert collab.hosting == "us"
    windows = {w.name: w for w in collab.calendar.recurring}
    assert {n: (w.cron, w.duration, w.timezone.key, w.hosting) for n, w in windows.items()} == {
        "US and Canada": ("0 2 * * thu", timedelta(hours=4), "America/New_York", "us"),
        "Europe": ("0 0 * * thu", timedelta(hours=4), "Etc/GMT", "eu"),
        "Asia Pacific": ("0 1 * * thu", timedelta(hours=4), "Australia/Sydney", "apac"),
    }
    (announced,) = collab.calendar.announced
    assert announced.start == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    assert announced.end == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    assert announced.announced_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert announced.note == "Database upgrade"


@pytest.mark.parametrize("vendor_id", ["schoolstatus", "itopia", "clevr"])
def test_shipped_vendors_without_sla_have_no_credit(vendor_id: str) -> None:
    vendor = load_config(VENDORS, MAINTENANCE).vendor(vendor_id)
    assert vendor.sla.credit.kind == "none"
    assert vendor.calendar == VendorCalendar()


@pytest.mark.parametrize(
    ("top_level", "shipped"),
    [(VENDORS, default_files()[0]), (MAINTENANCE, default_files()[1])],
    ids=["vendors.yaml", "maintenance_windows.yaml"],
)
def test_packaged_defaults_are_identical_to_top_level_files(top_level: Path, shipped: Path) -> None:
    assert shipped.read_bytes() == top_level.read_bytes()


# --------------------------------------------------------------------------------------------
# What a valid file resolves to


def test_base_files_resolve_with_defaults(base: Config) -> None:
    acme = base.vendor("acme")
    app, db = acme.monitors
    assert app.expect == Expect(status=(200,), body_contains=None)
    assert (app.kind, app.method, app.max_redirects, app.max_latency) == ("http", "GET", 5, None)
    assert app.regions == ("chicago", "atlanta")
    assert (db.kind, db.critical, db.regions) == ("tcp", False, ("chicago",))
    sla = acme.sla
    assert sla.target_pct == Decimal("99.9")  # from the YAML float, kept exact
    assert [(t.below_pct, t.credit_pct) for t in sla.credit.tiers] == [
        (Decimal("99.9"), Decimal(10)),
        (Decimal(99), Decimal(25)),
    ]
    assert sla.claim_within == Span("30d", delta=timedelta(days=30))
    assert (sla.unmonitored, sla.announced_windows) == ("as_up", "observed")
    assert sla.business_calendar.timezone == ZoneInfo("America/Chicago")
    (exclusion,) = acme.calendar.exclusions
    assert exclusion.start == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    assert exclusion.reason == "District network"


def test_values_are_frozen(base: Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.vendor("acme").name = "Other"  # type: ignore[misc]


def test_unknown_vendor_lookup_lists_known_ids(base: Config) -> None:
    with pytest.raises(UnknownVendorError, match=r"unknown vendor 'nope'.*acme") as info:
        base.vendor("nope")
    # A user's mistake, not a KeyError: the CLI shows it as bad input (exit 2) and an internal
    # KeyError stays a bug with a traceback.
    assert not isinstance(info.value, KeyError)
    assert isinstance(info.value, UptimeLedgerError) and info.value.exit_code == 2


def test_vendor_missing_from_maintenance_file_has_empty_calendar(tmp_path: Path) -> None:
    config = load_config(*write_pair(tmp_path, BASE_VENDORS.replace("hosting: us", ""), ""))
    assert config.vendor("acme").calendar == VendorCalendar()


# --------------------------------------------------------------------------------------------
# Bad input: (file changed, old text, new text, text on the line the error names, field, message)

V, M = "vendors.yaml", "maintenance_windows.yaml"


def bad(
    case_id: str, file: str, old: str, new: str, line_text: str, field: str, message: str
) -> object:
    """One bad-input case: replace ``old`` by ``new`` in ``file``; the error must name the line
    holding ``line_text``, the dotted ``field`` and contain ``message``."""
    return pytest.param(file, old, new, line_text, field, message, id=case_id)


# fmt: off
BAD_CASES = [
    # vendors.yaml
    bad("unknown-vendor-key", V, "    quorum: all\n", "    quorum: all\n    colour: blue\n",
        "colour: blue", "vendors.acme.colour", "unknown key 'colour'"),
    bad("unknown-monitor-key", V,
        "        critical: true\n",
        "        critical: true\n        retries: 3\n",
        "retries: 3", "vendors.acme.monitors[0].retries", "expected one of: id, functional_area"),
    bad("bad-timezone", V, "timezone: America/Chicago\n", "timezone: America/Chicgo\n",
        "America/Chicgo", "vendors.acme.timezone", "did you mean 'America/Chicago'"),
    bad("database-file-not-a-zone", V, "timezone: America/Chicago\n", "timezone: localtime\n",
        "localtime", "vendors.acme.timezone", "IANA time zone name"),
    bad("path-not-a-zone", V, "timezone: America/Chicago\n", "timezone: ../zone.tab\n",
        "../zone.tab", "vendors.acme.timezone", "IANA time zone name"),
    bad("fractional-duration", V, "interval: 60s", "interval: 1.5m",
        "interval: 1.5m", "vendors.acme.monitors[0].interval",
        "got '1.5m'; expected a positive integer with a unit"),
    bad("interval-beyond-10-years", V, "interval: 60s", "interval: 3661d",
        "interval: 3661d", "vendors.acme.monitors[0].interval", "(at most 10 years)"),
    bad("claim-beyond-10-years", V, "claim_within: 30d", "claim_within: 99999999999 business days",
        "claim_within: 9999", "vendors.acme.sla.claim_within", "(at most 10 years)"),
    bad("business-days-as-interval", V, "interval: 60s", "interval: 2 business days",
        "interval: 2 business", "vendors.acme.monitors[0].interval",
        "business days do not apply here"),
    bad("duration-without-unit", V, "interval: 60s", "interval: 60",
        "interval: 60", "vendors.acme.monitors[0].interval", "got 60; expected"),
    bad("timeout-over-interval", V, "timeout: 10s", "timeout: 2m",
        "timeout: 2m", "vendors.acme.monitors[0].timeout", "longer than the interval"),
    bad("quorum-over-regions", V, "quorum: all", "quorum: 2",
        "quorum: 2", "vendors.acme.quorum", "monitor 'db' is probed from only 1 region"),
    bad("bad-quorum-word", V, "quorum: all", "quorum: most",
        "quorum: most", "vendors.acme.quorum", "expected all, majority, or a whole number"),
    bad("missing-vendor-name", V, "    name: Acme\n", "",
        "  acme:", "vendors.acme.name", "required key is missing"),
    bad("missing-target", V, "      target_pct: 99.9\n", "",
        "    sla:", "vendors.acme.sla.target_pct", "required key is missing"),
    bad("target-not-a-number", V, "target_pct: 99.9", "target_pct: abc",
        "target_pct: abc", "vendors.acme.sla.target_pct",
        "got 'abc'; expected a number above 0 and at most 100"),
    bad("target-over-100", V, "target_pct: 99.9", "target_pct: 100.5",
        "target_pct: 100.5", "vendors.acme.sla.target_pct", "at most 100"),
    bad("target-with-too-many-decimals", V, "target_pct: 99.9", "target_pct: '1e-9999999'",
        "1e-9999999", "vendors.acme.sla.target_pct",
        "got '1e-9999999'; expected a number above 0 and at most 100, with at most 6 decimals"),
    bad("percent-per-hour-huge", V, "        kind: tiers\n",
        "        kind: tiers\n        percent_per_hour: '1e70'\n",
        "1e70", "vendors.acme.sla.credit.percent_per_hour",
        "got '1e70'; expected a number above 0 and at most 10000, with at most 6 decimals"),
    bad("percent-per-hour-zero", V, "        kind: tiers\n",
        "        kind: tiers\n        percent_per_hour: 0\n",
        "percent_per_hour: 0", "vendors.acme.sla.credit.percent_per_hour", "above 0"),
    bad("credit-pct-tiny", V, "credit_pct: 25}", "credit_pct: 0.0000001}",
        "0.0000001", "vendors.acme.sla.credit.tiers[0].credit_pct", "at most 6 decimals"),
    bad("money-huge", V, 'amount: "100.00"', 'amount: "1000000000000.01"',
        "1000000000000.01", "vendors.acme.sla.fee.amount", "at most 1,000,000,000,000"),
    bad("money-1e70", V, 'amount: "100.00"', 'amount: "1e70"',
        "1e70", "vendors.acme.sla.fee.amount", "at most 1,000,000,000,000"),
    bad("money-exponent", V, 'amount: "100.00"', 'amount: "1e9"',
        "1e9", "vendors.acme.sla.fee.amount", "with at most 2 decimals, as a string"),
    bad("money-three-decimals", V, 'amount: "100.00"', 'amount: "12.345"',
        "12.345", "vendors.acme.sla.fee.amount", "at most 2 decimals"),
    bad("money-not-ascii-digits", V, 'amount: "100.00"', 'amount: "١٢"',
        "amount:", "vendors.acme.sla.fee.amount", "at most 2 decimals"),
    bad("tcp-port-zero", V, "url: tcp://db.acme.example.invalid:5432",
        "url: tcp://db.acme.example.invalid:0", "tcp://db.acme.example.invalid:0",
        "vendors.acme.monitors[1].url", "a port from 1 to 65535"),
    bad("http-port-zero", V, "url: https://acme.example.invalid/",
        "url: https://acme.example.invalid:0/", "https://acme.example.invalid:0/",
        "vendors.acme.monitors[0].url", "a port from 1 to 65535"),
    bad("money-negative", V, 'amount: "100.00"', "amount: -5",
        "amount: -5", "vendors.acme.sla.fee.amount", "at least 0"),
    bad("currency-lowercase", V, "currency: USD", "currency: usd",
        "currency: usd", "vendors.acme.sla.fee.currency", "3-letter ISO 4217"),
    bad("credit-without-fee", V, "      fee: {amount", "      #fee: {amount",
        "    sla:", "vendors.acme.sla.fee", "credit kind tiers needs the fee"),
    bad("tier-above-target", V, "{below_pct: 99.9, credit_pct: 10}",
        "{below_pct: 99.95, credit_pct: 10}", "99.95", "vendors.acme.sla.credit.tiers[1].below_pct",
        "below_pct 99.95 is above target_pct 99.9; expected every band at or below target_pct"),
    bad("tiers-missing", V, "        tiers: [", "        #tiers: [",
        "      credit:", "vendors.acme.sla.credit.tiers",
        "required key is missing (kind is tiers)"),
    bad("bad-announced-windows", V, "    sla:\n", "    sla:\n      announced_windows: full\n",
        "announced_windows: full", "vendors.acme.sla.announced_windows",
        "expected one of: observed, declared"),
    bad("bad-maintenance-choice", V, "maintenance: counts", "maintenance: included",
        "maintenance: included", "vendors.acme.sla.maintenance", "one of: counts, excluded"),
    bad("bad-business-days", V, "emergency_notice: 5 business days", "emergency_notice: five days",
        "five days", "vendors.acme.sla.emergency_notice", "N business days"),
    bad("unknown-holiday-country", V, "{holidays: US,", "{holidays: XX,",
        "holidays: XX", "vendors.acme.sla.business_calendar.holidays",
        "country code of the holidays package"),
    bad("bad-url-scheme", V, "url: https://acme", "url: ftp://acme",
        "ftp://", "vendors.acme.monitors[0].url", "http://, https:// or tcp://host:port"),
    bad("bad-status-code", V, "status: [200]", "status: [200, 700]",
        "status: [200, 700]", "vendors.acme.monitors[0].expect.status[1]", "from 100 to 599"),
    bad("unknown-monitor-region", V, "regions: [chicago]", "regions: [chicago, boston]",
        "[chicago, boston]", "vendors.acme.monitors[1].regions[1]",
        "configured regions: chicago, atlanta"),
    bad("duplicate-monitor-id", V, "      - id: db", "      - id: app  # again",
        "# again", "vendors.acme.monitors[1].id", "monitor id 'app' is used twice"),
    bad("no-critical-monitor", V, "critical: true", "critical: false",
        "    monitors:", "vendors.acme.monitors", "at least one monitor with critical: true"),
    bad("yes-is-not-a-boolean", V, "critical: true", "critical: yes",
        "critical: yes", "vendors.acme.monitors[0].critical", "true or false"),
    bad("duplicate-key", V, "    quorum: all\n", "    quorum: all\n    quorum: majority\n",
        "quorum: majority", "vendors.acme.quorum",
        "duplicate key 'quorum' (first given on line 8)"),
    bad("hosting-matches-no-window", V, "    hosting: us", "    hosting: eu",
        "hosting: eu", "vendors.acme.hosting", "hostings of its maintenance windows: us"),
    bad("hosting-missing-for-split-windows", V, "    hosting: us\n", "",
        "  acme:", "vendors.acme.hosting", "its recurring windows in"),
    bad("tcp-monitor-with-expect", V,
        "        critical: false\n",
        "        critical: false\n        expect: {status: [204]}\n",
        "[204]", "vendors.acme.monitors[1].expect", "expect does not apply to a tcp monitor"),
    bad("unknown-subdivision", V, "{holidays: US,", "{holidays: US, subdivision: ZZ,",
        "subdivision: ZZ", "vendors.acme.sla.business_calendar.subdivision",
        "expected a subdivision of US: AK, AL"),
    bad("latency-over-timeout", V, "timeout: 10s", "timeout: 10s\n        max_latency: 20s",
        "max_latency: 20s", "vendors.acme.monitors[0].max_latency", "longer than the timeout 10s"),
    bad("vendors-yaml-syntax", V, "    quorum: all", "    quorum: all: x",
        "quorum: all: x", "", "YAML syntax error: mapping values are not allowed"),
    # maintenance_windows.yaml
    bad("maintenance-unknown-vendor", M, "network}\n", "network}\nzeta:\n  announced: []\n",
        "zeta:", "zeta", "unknown vendor 'zeta', not in"),
    bad("naive-datetime-string", M,
        'start: "2026-12-03T22:00:00-05:00"',
        'start: "2026-12-03T22:00:00"',
        '22:00:00"', "acme.announced[0].start", "'2026-12-03T22:00:00' needs a UTC offset"),
    bad("naive-datetime-yaml-timestamp", M,
        "{start: 2026-11-02T08:00:00-05:00",
        "{start: 2026-11-02T08:00:00",
        "{start: 2026-11", "acme.exclusions[0].start", "2026-11-02T08:00:00 needs a UTC offset"),
    bad("date-without-time", M,
        'announced_at: "2026-12-01T10:00:00-05:00"',
        "announced_at: 2026-12-01",
        "announced_at", "acme.announced[0].announced_at",
        "got 2026-12-01; expected an ISO 8601 date and time"),
    bad("end-before-start", M,
        'end: "2026-12-04T01:00:00-05:00"',
        'end: "2026-12-03T21:00:00-05:00"',
        "T21:", "acme.announced[0].end", "is not after start"),
    bad("window-beyond-9899", M,
        'end: "2026-12-04T01:00:00-05:00"',
        'end: "9999-12-31T23:00:00-05:00"',
        "9999-12-31", "acme.announced[0].end",
        "expected a time from 1970-01-01 to 9899-12-31 UTC"),
    bad("missing-announced-at", M, '      announced_at: "2026-12-01T10:00:00-05:00"\n', "",
        "    - start:", "acme.announced[0].announced_at", "required key is missing"),
    bad("bad-cron-hour", M, 'cron: "0 2 * * thu"', 'cron: "0 25 * * thu"',
        "0 25 * * thu", "acme.recurring[0].cron", "5-field cron expression"),
    bad("cron-with-seconds", M, 'cron: "0 2 * * thu"', 'cron: "0 0 2 * * thu"',
        "0 0 2 * * thu", "acme.recurring[0].cron", "5-field cron expression"),
    bad("business-days-as-window-duration", M, "duration: 4h", "duration: 1 business day",
        "1 business day", "acme.recurring[0].duration", "business days do not apply here"),
    bad("bad-window-timezone", M, "timezone: America/New_York", "timezone: EST5EDT6",
        "EST5EDT6", "acme.recurring[0].timezone", "IANA time zone name"),
    bad("unknown-window-key", M, "duration: 4h,", "durations: 4h,",
        "durations: 4h", "acme.recurring[0].durations", "unknown key 'durations'"),
    bad("empty-exclusion-reason", M, "reason: District network", "reason: ''",
        "reason: ''", "acme.exclusions[0].reason", "non-empty text"),
    bad("maintenance-yaml-syntax", M, "  recurring:\n", "  recurring:\n\t- {}\n",
        "\t", "", "YAML syntax error: found character"),
]
# fmt: on


@pytest.mark.parametrize(("file", "old", "new", "line_text", "field", "message"), BAD_CASES)
def test_bad_input_names_file_line_and_field(
    tmp_path: Path,
    file: str,
    old: str,
    new: str,
    line_text: str,
    field: str,
    message: str,
) -> None:
    texts = {V: BASE_VENDORS, M: BASE_MAINTENANCE}
    assert texts[file].count(old) == 1, old
    texts[file] = texts[file].replace(old, new)
    vendors_path, maintenance_path = write_pair(tmp_path, texts[V], texts[M])
    with pytest.raises(ConfigError) as info:
        load_config(vendors_path, maintenance_path)
    error = info.value
    text = str(error)
    line = line_of(texts[file], line_text)
    path = vendors_path if file == V else maintenance_path
    assert (error.file, error.line, error.path) == (str(path), line, field), text
    prefix = f"{path}:{line}: {field}: " if field else f"{path}:{line}: "
    assert text.startswith(prefix), text
    assert message in text
    assert "; expected " in text
    assert "\n" not in text


ACCEPTED = [
    pytest.param(
        'amount: "100.00"',
        "amount: 672.1",
        lambda v: v.sla.fee.amount == Decimal("672.10"),
        id="money-yaml-float",
    ),
    pytest.param(
        'amount: "100.00"', "amount: 12", lambda v: str(v.sla.fee.amount) == "12.00", id="money-int"
    ),
    pytest.param(
        "status: [200]",
        "status: 204",
        lambda v: v.monitors[0].expect.status == (204,),
        id="single-status-code",
    ),
    pytest.param(
        "{holidays: US,",
        "{holidays: NO,",
        lambda v: v.sla.business_calendar.holidays == "NO",
        id="norway-is-not-false",
    ),
    pytest.param(
        "{holidays: US,",
        "{holidays: null,",
        lambda v: v.sla.business_calendar.holidays is None,
        id="no-holidays",
    ),
    pytest.param(
        "quorum: all", "quorum: majority", lambda v: v.quorum == "majority", id="quorum-majority"
    ),
    pytest.param("quorum: all", "quorum: 1", lambda v: v.quorum == 1, id="quorum-number"),
    pytest.param(
        "    sla:\n",
        "    sla:\n      unmonitored: exclude\n",
        lambda v: v.sla.unmonitored == "exclude",
        id="unmonitored-exclude",
    ),
    pytest.param(
        "    sla:\n",
        "    sla:\n      announced_windows: declared\n",
        lambda v: v.sla.announced_windows == "declared",
        id="announced-windows-declared",
    ),
    pytest.param(
        "body_contains: null",
        "body_contains: Welcome",
        lambda v: v.monitors[0].expect.body_contains == "Welcome",
        id="body-contains",
    ),
]


@pytest.mark.parametrize(("old", "new", "check"), ACCEPTED)
def test_accepted_variants(
    tmp_path: Path, old: str, new: str, check: Callable[[Vendor], object]
) -> None:
    assert BASE_VENDORS.count(old) == 1, old
    config = load_config(*write_pair(tmp_path, BASE_VENDORS.replace(old, new), BASE_MAINTENANCE))
    assert check(config.vendor("acme"))


def test_missing_maintenance_file_is_named(tmp_path: Path) -> None:
    vendors_path, _ = write_pair(tmp_path, BASE_VENDORS, BASE_MAINTENANCE)
    missing = tmp_path / "nowhere" / "maintenance_windows.yaml"
    with pytest.raises(ConfigError, match=r"nowhere/maintenance_windows\.yaml: file not found"):
        load_config(vendors_path, missing)


def test_missing_vendors_file_is_named(tmp_path: Path) -> None:
    _, maintenance_path = write_pair(tmp_path, BASE_VENDORS, BASE_MAINTENANCE)
    with pytest.raises(ConfigError, match=r"absent\.yaml: file not found"):
        load_config(tmp_path / "absent.yaml", maintenance_path)


@pytest.mark.parametrize(
    ("vendors", "message"),
    [
        ("", "vendors.yaml:1: got nothing (null); expected a mapping with keys regions, vendors"),
        ("- a\n- b\n", "vendors.yaml:1: got a list; expected a mapping with keys regions, vendors"),
        ("regions: {}\nvendors: {}\n", "vendors.yaml:1: regions: got a mapping; expected at least"),
    ],
    ids=["empty-file", "list-at-top", "no-regions"],
)
def test_bad_top_level(tmp_path: Path, vendors: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(*write_pair(tmp_path, vendors, ""))
    assert str(info.value).removeprefix(f"{tmp_path}/").startswith(message)


# --------------------------------------------------------------------------------------------
# Durations

GOOD_DURATIONS = [
    ("90s", Span("90s", delta=timedelta(seconds=90))),
    ("5m", Span("5m", delta=timedelta(minutes=5))),
    ("4h", Span("4h", delta=timedelta(hours=4))),
    ("2d", Span("2d", delta=timedelta(days=2))),
    ("1w", Span("1w", delta=timedelta(weeks=1))),
    ("0s", Span("0s", delta=timedelta(0))),
    (" 4h ", Span("4h", delta=timedelta(hours=4))),
    ("5 business days", Span("5 business days", business_days=5)),
    ("1 business day", Span("1 business day", business_days=1)),
    ("2 Business Days", Span("2 Business Days", business_days=2)),
]


@pytest.mark.parametrize(("text", "span"), GOOD_DURATIONS, ids=[t for t, _ in GOOD_DURATIONS])
def test_parse_duration_accepts(text: str, span: Span) -> None:
    assert parse_duration(text) == span


BAD_DURATIONS = ["", "5", "1.5h", "-5m", "5 minutes", "4h30m", "5 business", "five days", "5H"]


@pytest.mark.parametrize("text", [*BAD_DURATIONS, 5, None], ids=[*BAD_DURATIONS, "int", "none"])
def test_parse_duration_refuses_with_the_accepted_forms(text: object) -> None:
    with pytest.raises(ValueError, match=r"expected .*90s, 5m, 4h, 2d, 1w, or N business days"):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=4), "4h"),
        (timedelta(days=2), "2d"),
        (timedelta(weeks=1), "1w"),
    ],
    ids=["seconds", "minutes", "hours", "days", "weeks"],
)
def test_format_duration_round_trips(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
    assert parse_duration(text).delta == delta


# --------------------------------------------------------------------------------------------
# render_config


def test_render_shipped_config_mentions_every_vendor_and_its_rules() -> None:
    config = load_config(VENDORS, MAINTENANCE)
    text = render_config(config)
    for vendor in config.vendors:
        assert f"Vendor {vendor.id}: {vendor.name}" in text
        assert vendor.timezone.key in text
        for monitor in vendor.monitors:
            assert monitor.url in text and monitor.functional_area in text
    for expected in [
        "chicago: Chicago, IL",
        "target: 95% per calendar month",
        "target: 99.5% per calendar month",
        "maintenance: counts",
        "maintenance: excluded",
        "less than 5 business days",
        "less than 2 business days",
        "full_hours: 100% of the hourly fee per full hour, rounding month, scope all, no cap",
        "fee: 672.00 USD per month",
        "claim within: 5 business days",
        "announced windows: observed (only the down time seen inside an announced window",
        "US and Canada: cron '0 2 * * thu' in America/New_York, 4h, hosting us",
        "Europe: cron '0 0 * * thu' in Etc/GMT, 4h, hosting eu (not this vendor's hosting)",
        "2026-12-03T22:00:00-05:00 to 2026-12-04T01:00:00-05:00 Database upgrade",
        "(announced_at 2026-12-01T10:00:00-05:00)",
        "minus CA-ON public holidays",
        "not critical",
    ]:
        assert expected in text, expected


def test_render_base_config_shows_yearly_fee_tiers_and_exclusions(base: Config) -> None:
    text = render_config(base)
    for expected in [
        "fee: 100.00 USD per year (8.33 USD per month)",
        "tiers of the monthly fee: below 99.9% to 10%, below 99% to 25%",
        "db [Database] tcp://db.acme.example.invalid:5432",
        "not critical (shown, never counted); regions chicago\n",
        "2026-11-02T08:00:00-05:00 to 2026-11-02T09:00:00-05:00 District network",
        "claim within: 30d",
    ]:
        assert expected in text, expected


# --------------------------------------------------------------------------------------------
# Probing settings, region canaries and agent tokens (all optional)

PROBING = """\
probing:
  retries: 3
  retry_within: 10s
  concurrency: 50
  retention: 90d
  evidence_retention: 2000d
  batch: 100
  flush_every: 2s
  reuse_connections: true
"""

# fmt: off
PROBING_BAD_CASES = [
    bad("probing-unknown-key", V, "vendors:\n", "probing: {retry: 2}\nvendors:\n",
        "retry: 2", "probing.retry", "unknown key 'retry' (did you mean 'retries'?)"),
    bad("probing-retries-too-many", V, "vendors:\n", "probing: {retries: 11}\nvendors:\n",
        "retries: 11", "probing.retries", "a whole number from 0 to 10"),
    bad("probing-concurrency-zero", V, "vendors:\n", "probing:\n  concurrency: 0\nvendors:\n",
        "concurrency: 0", "probing.concurrency", "a whole number from 1 to 100000"),
    bad("probing-retry-within-unitless", V, "vendors:\n",
        "probing:\n  retry_within: 5\nvendors:\n",
        "retry_within: 5", "probing.retry_within", "a positive integer with a unit"),
    bad("probing-reuse-not-boolean", V, "vendors:\n",
        "probing:\n  reuse_connections: maybe\nvendors:\n",
        "maybe", "probing.reuse_connections", "true or false"),
    bad("probing-not-a-mapping", V, "vendors:\n", "probing: fast\nvendors:\n",
        "probing: fast", "probing", "a mapping with keys retries, retry_within"),
    bad("probing-retention-too-short", V, "vendors:\n", "probing: {retention: 30m}\nvendors:\n",
        "retention: 30m", "probing.retention", "got '30m'; expected a duration of at least 1h"),
    bad("probing-evidence-retention-too-long", V, "vendors:\n",
        "probing:\n  evidence_retention: 5000d\nvendors:\n",
        "evidence_retention: 5000d", "probing.evidence_retention", "(at most 10 years)"),
    bad("probing-evidence-shorter-than-raw", V, "vendors:\n",
        "probing:\n  retention: 30d\n  evidence_retention: 8d\nvendors:\n",
        "evidence_retention: 8d", "probing.evidence_retention",
        "evidence_retention 8d is shorter than retention 30d"),
    bad("probing-raw-longer-than-default-evidence", V, "vendors:\n",
        "probing:\n  retention: 500d\nvendors:\n",
        "retention: 500d", "probing.retention",
        "evidence_retention 400d is shorter than retention 500d"),
    bad("canary-bad-url", V, 'atlanta: {name: "Atlanta, GA"}',
        'atlanta: {name: "Atlanta, GA", canary: "canary.example"}',
        "canary.example", "regions.atlanta.canary", "http://, https:// or tcp://host:port"),
    bad("token-file-empty", V, 'atlanta: {name: "Atlanta, GA"}',
        'atlanta: {name: "Atlanta, GA", token_file: ""}',
        "token_file", "regions.atlanta.token_file", "a file path"),
    bad("two-regions-one-token-file", V,
        'chicago: {name: "Chicago, IL"}\n  atlanta: {name: "Atlanta, GA"}',
        'chicago: {name: "Chicago, IL", token_file: agents.token}\n'
        '  atlanta: {name: "Atlanta, GA", token_file: ./agents.token}',
        "./agents.token", "regions.atlanta.token_file",
        "is already region chicago's token file"),
    bad("region-unknown-key", V, 'atlanta: {name: "Atlanta, GA"}',
        'atlanta: {name: "Atlanta, GA", token: abc}',
        "token: abc", "regions.atlanta.token",
        "unknown key 'token' (did you mean 'token_env'?)"),
]
# fmt: on


@pytest.mark.parametrize(("file", "old", "new", "line_text", "field", "message"), PROBING_BAD_CASES)
def test_bad_probing_and_region_settings_name_file_line_and_field(
    tmp_path: Path, file: str, old: str, new: str, line_text: str, field: str, message: str
) -> None:
    test_bad_input_names_file_line_and_field(tmp_path, file, old, new, line_text, field, message)


def test_probing_and_region_defaults_keep_existing_files_valid(base: Config) -> None:
    assert base.probing == Probing()
    assert base.probing.retries == 2
    assert base.probing.retry_within == timedelta(seconds=5)
    assert (base.probing.concurrency, base.probing.batch) == (200, 500)
    assert base.probing.retention == timedelta(hours=48)
    assert base.probing.evidence_retention == timedelta(days=400)
    assert base.probing.flush_every == timedelta(seconds=1)
    assert base.probing.reuse_connections is False
    assert all(r.canary is None and r.token_file is None for r in base.regions)
    shipped = load_config(VENDORS, MAINTENANCE)
    assert shipped.probing == Probing()
    assert all(r.canary is None and r.token_file is None for r in shipped.regions)


def test_probing_section_and_region_options_are_read(tmp_path: Path) -> None:
    vendors = (
        BASE_VENDORS.replace(
            'chicago: {name: "Chicago, IL"}',
            'chicago: {name: "Chicago, IL", canary: "https://canary.example.invalid/"}',
        )
        .replace(
            'atlanta: {name: "Atlanta, GA"}',
            'atlanta: {name: "Atlanta, GA", canary: "tcp://10.0.0.1:53", '
            "token_file: secrets/atlanta.token}",
        )
        .replace("vendors:\n", PROBING + "vendors:\n")
    )
    config = load_config(*write_pair(tmp_path, vendors, BASE_MAINTENANCE))
    chicago, atlanta = config.regions
    assert chicago.canary == "https://canary.example.invalid/"
    assert chicago.token_file is None
    assert atlanta.canary == "tcp://10.0.0.1:53"
    # Relative to the directory of vendors.yaml, not the working directory.
    assert atlanta.token_file == tmp_path / "secrets" / "atlanta.token"
    p = config.probing
    assert (p.retries, p.concurrency, p.batch, p.reuse_connections) == (3, 50, 100, True)
    assert (p.retry_within, p.retention, p.evidence_retention, p.flush_every) == (
        timedelta(seconds=10),
        timedelta(days=90),
        timedelta(days=2000),
        timedelta(seconds=2),
    )
    text = render_config(config)
    assert "canary: https://canary.example.invalid/" in text
    assert f"agent: remote, token in {tmp_path / 'secrets' / 'atlanta.token'}" in text
    assert "failures confirmed by 3 retries within 10s" in text
