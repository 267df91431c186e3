"""The report's formats (JSON, CSV, HTML, PDF) of one month carry the engine's figures, over a
table of scenarios: a ClassSwift month below target with a credit, a met month with an
exclusion, a tiers vendor whose credit is capped, maintenance excluded, a DST month and a leap
February. The PDF is printed by the real Chromium and read back with poppler's pdftotext; its
pages are saved as images (tests/artifacts/report-formats/) for A4 and Letter."""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import pytest
from support_cli import uptime_ledger
from support_reports import NOW, write_ledger

from credits.month import VendorMonth
from reports import csv_report, html_report, pdf_report
from reports.context import Closed, MonthContext, percent
from reports.runner import Month, report, report_in_formats
from reports.words import figure, money
from uptime.config import Config
from uptime.sources import database_sources

ROOT = Path(__file__).resolve().parents[1]
#: (month, format, **renderer options) → the report's bytes, made once each.
Documents = Callable[..., bytes]
#: month → its context as the renderers get it.
ContextOf = Callable[[str], MonthContext]
ARTIFACTS = ROOT / "tests" / "artifacts" / "report-formats"


@dataclass(frozen=True)
class Scenario:
    month: str
    vendor: str
    availability_pct: float  #: worked by hand in support_reports.OUTAGES
    credit: str
    currency: str | None
    met: bool
    total_min: int
    interruptions: int


SCENARIOS = {
    # 240 scheduled + 60 emergency + 1,900 other of 40,320: 36 full hours × $1.00.
    "classswift-below-target": Scenario(
        "2025-02", "classswift", 94.543651, "36.00", "USD", False, 40320, 4
    ),
    # 150 min down, 60 of them excluded (district firewall): 90 / 40,320.
    "met-with-exclusion": Scenario(
        "2025-02", "schoolstatus", 99.776786, "0.00", "USD", True, 40320, 2
    ),
    # 420 / 40,320 down: below 99 %, 25 % of £1,000 = £250, capped at 20 % = £200.
    "tiers-capped": Scenario("2025-02", "tiered", 98.958333, "200.00", "GBP", False, 40320, 1),
    # 180 of 240 min inside Thursday's window are M, left out: 60 / 40,320.
    "maintenance-excluded": Scenario(
        "2025-02", "classcollaborate", 99.85119, "0.00", None, True, 40320, 1
    ),
    # 10 min 20 s across the spring-forward night, a 31-day month of 44,640 minutes.
    "dst-march": Scenario("2025-03", "classswift", 99.976852, "0.00", "USD", True, 44640, 1),
    # 3 h on 29 February 2024: 180 / 41,760.
    "leap-february": Scenario("2024-02", "classswift", 99.568966, "0.00", "USD", True, 41760, 1),
}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    directory = tmp_path_factory.mktemp("formats")
    return directory, write_ledger(directory)


@pytest.fixture(scope="module")
def documents(ledger: tuple[Path, Config]) -> Documents:
    """(month, format) → the report, made once per month and format."""
    directory, config = ledger
    made = {}

    def make(month: str, format: str, **options: str) -> bytes:
        key = (month, format + "".join(f",{k}={v}" for k, v in options.items()))
        if key not in made:
            year, number = (int(part) for part in month.split("-"))
            db = directory / "uptime.db"
            made[key] = report(config, db, year, number, format=format, now=NOW, **options)
        return made[key]

    return make


def engine(ledger: tuple[Path, Config], scenario: Scenario) -> VendorMonth:
    directory, config = ledger
    year, number = (int(part) for part in scenario.month.split("-"))
    vendor = next(v for v in config.vendors if v.id == scenario.vendor)
    month = Month(config, year, number, NOW)
    sources = database_sources(directory / "uptime.db")
    try:
        return next(month.vendor_months(sources, [vendor]))
    finally:
        for source in sources:
            source.close()


def json_entry(documents: Documents, scenario: Scenario) -> dict:
    document = json.loads(documents(scenario.month, "json"))
    return next(v for v in document["vendors"] if v["vendor"] == scenario.vendor)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.skip += tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("style", "title")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(data: bytes) -> str:
    """The page's words with whitespace collapsed, as a reader sees them."""
    parser = _Text()
    parser.feed(data.decode())
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def vendor_section(data: bytes, vendor: str) -> bytes:
    """One vendor's ``<section>`` of the HTML page."""
    match = re.search(rb'<section class="vendor" id="vendor-%s">.*?</section>' % vendor.encode(),
                      data, re.DOTALL)  # fmt: skip
    assert match, f"no section for {vendor}"
    return match.group(0)


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_json_carries_the_engines_figures(
    ledger: tuple[Path, Config], documents: Documents, scenario: Scenario
) -> None:
    computed, entry = engine(ledger, scenario), json_entry(documents, scenario)
    a = computed.availability
    assert entry["availability_pct"] == percent(a.availability_pct) == scenario.availability_pct
    assert entry["credit"]["amount"] == str(computed.credit.amount) == scenario.credit
    assert entry["credit"]["currency"] == scenario.currency
    assert entry["met"] is a.met is scenario.met
    assert entry["minutes"]["total"] == scenario.total_min
    assert len(entry["interruptions"]) == len(a.parts) == scenario.interruptions


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_csv_rows_carry_the_json_figures(documents: Documents, scenario: Scenario) -> None:
    entry = json_entry(documents, scenario)
    rows = csv_rows(documents(scenario.month, "csv"))
    (row,) = [r for r in rows if r["vendor"] == scenario.vendor]
    assert list(rows[0]) == list(csv_report.VENDOR_COLUMNS)
    for key, value in entry["minutes"].items():
        assert row[f"{key}_min"] == json.dumps(value)
    assert row["availability_pct"] == json.dumps(entry["availability_pct"])
    assert row["target_pct"] == json.dumps(entry["target_pct"])
    assert row["met"] == json.dumps(entry["met"])
    assert row["credit_amount"] == entry["credit"]["amount"]  # plain decimal text: "36.00"
    assert row["currency"] == (entry["credit"]["currency"] or "")
    assert row["credit_hours"] == ("" if entry["credit"]["hours"] is None else
                                   str(entry["credit"]["hours"]))  # fmt: skip
    assert row["period_start"] == entry["period"]["start"]  # ISO 8601 with the offset
    deadlines = [i["claim_deadline"] for i in entry["interruptions"]]
    assert row["earliest_claim_deadline"] == min(deadlines, default="")
    assert (row["closed"], row["sha256"]) == ("false", "")

    parts = csv_rows(documents(scenario.month, "csv", rows="interruptions"))
    mine = [p for p in parts if p["vendor"] == scenario.vendor]
    assert list(parts[0]) == list(csv_report.INTERRUPTION_COLUMNS)
    assert len(mine) == len(entry["interruptions"])
    for part, interruption in zip(mine, entry["interruptions"], strict=True):
        assert (part["start"], part["end"]) == (interruption["start"], interruption["end"])
        assert part["start_utc"].endswith("+00:00")
        assert part["minutes"] == json.dumps(interruption["minutes"])
        for kind in ("scheduled", "emergency", "downtime", "unmonitored"):
            assert part[f"{kind}_min"] == json.dumps(interruption[kind])
        assert part["areas"] == "; ".join(interruption["areas"])
        assert part["regions"] == "; ".join(interruption["regions"])
        assert part["claim_deadline"] == interruption["claim_deadline"]


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_html_carries_the_json_figures(documents: Documents, scenario: Scenario) -> None:
    entry = json_entry(documents, scenario)
    page = documents(scenario.month, "html")
    text = html_text(page)
    section = html_text(vendor_section(page, scenario.vendor))
    pct = html_report.pct(entry["availability_pct"])
    amount = money(Decimal(entry["credit"]["amount"]), entry["credit"]["currency"])
    # The summary row: vendor, availability, target, met, credit.
    met = "yes" if entry["met"] else "NO"
    row = f"{pct} {html_report.pct(entry['target_pct'])} {met} {amount}"
    assert row in text
    # The section: every bucket, the formula's result, the credit.
    m = entry["minutes"]
    for value in m.values():
        assert figure(value) in section
    assert f"= {pct}" in section
    assert f"Credit: {amount}" in section
    assert section.count("to ") >= len(entry["interruptions"])
    for interruption in entry["interruptions"]:
        assert figure(interruption["minutes"]) in section
    assert "not closed" in text


def test_html_formula_leaves_m_out_when_maintenance_is_excluded(documents: Documents) -> None:
    page = documents("2025-02", "html")
    collaborate = html_text(vendor_section(page, "classcollaborate"))
    assert "A = (T − D − E) / T × 100 % = (40,320 − 60 − 0) / 40,320 × 100 %" in collaborate
    assert "the 180 min down inside scheduled windows (M) are reported, not subtracted" in (
        collaborate
    )
    swift = html_text(vendor_section(page, "classswift"))
    assert "= (40,320 − 240 − 1,900 − 60) / 40,320 × 100 % = 94.543651 %" in swift
    assert "Credit: 36 h × $1.00 × 100 % = $36.00." in swift


def test_html_shows_local_and_utc_times_and_the_deadline_overdue_in_words(
    documents: Documents,
) -> None:
    swift = html_text(vendor_section(documents("2025-02", "html"), "classswift"))
    # 2025-02-10 10:00–12:30 UTC = 2:00–4:30am PST; deadline Tue 18 Feb, 43 days before 2 Apr.
    assert "Mon 10 Feb 2025, 2:00am to 4:30am PST" in swift
    assert "Mon 10 Feb 2025, 10:00am to 12:30pm UTC" in swift
    assert "Tue 18 Feb 2025 OVERDUE: passed 43 days ago" in swift
    # Across the spring-forward night: both abbreviations, seconds kept.
    march = html_text(vendor_section(documents("2025-03", "html"), "classswift"))
    assert "Sun 9 Mar 2025, 1:59:40am PST to 3:10am PDT" in march
    # A met month has nothing overdue, however late it is printed.
    met = html_text(vendor_section(documents("2025-02", "html"), "schoolstatus"))
    assert "OVERDUE" not in met and "passed; no credit due" in met


def test_html_lists_exclusions_with_reasons_windows_and_a_labelled_timeline(
    documents: Documents,
) -> None:
    page = documents("2025-02", "html")
    status = vendor_section(page, "schoolstatus")
    text = html_text(status)
    assert "+district firewall outage (ticket 4711)" in text
    assert "Tue 11 Feb 2025, 9:00am to 10:00am EST" in text
    swift = vendor_section(page, "classswift")
    assert "Scheduled upgrade" in html_text(swift) and "Emergency patch" in html_text(swift)
    svg = re.search(rb"<svg.*?</svg>", swift, re.DOTALL).group(0)  # type: ignore[union-attr]
    assert b'role="img"' in svg and b"4 interruptions, 2 maintenance windows" in svg
    for lane in (b"Windows", b"Interruptions", b"Exclusions"):
        assert b">" + lane + b"</text>" in svg  # words, not colour alone
    assert svg.count(b"<title>#") == 4
    assert b"<title>excluded (+district firewall" in vendor_section(page, "schoolstatus")


def test_text_is_escaped_in_html_and_guarded_in_csv(documents: Documents) -> None:
    page = documents("2025-02", "html")
    assert b"=Tiered &amp; Co &lt;Cloud&gt;" in page and b"<Cloud>" not in page
    (row,) = [r for r in csv_rows(documents("2025-02", "csv")) if r["vendor"] == "tiered"]
    assert row["name"] == "'=Tiered & Co <Cloud>"
    assert row["credit_amount"] == "200.00" and row["credit_capped"] == "true"


HOSTILE = """<script>alert("x")</script> & 'co'"""
HOSTILE_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39;"


def test_vendor_name_areas_regions_and_reasons_are_escaped_in_html(context_of: ContextOf) -> None:
    month = context_of("2025-02")
    vendors = list(month.vendors)
    n = next(k for k, v in enumerate(vendors) if v.vendor == "schoolstatus")
    status = vendors[n]
    assert status.interruptions and status.exclusions
    vendors[n] = status._replace(
        name=HOSTILE,
        interruptions=tuple(
            i._replace(areas=(HOSTILE, "Sign-in & SSO"), regions=(HOSTILE,))
            for i in status.interruptions
        ),
        exclusions=tuple(e._replace(reason=HOSTILE, by=HOSTILE) for e in status.exclusions),
    )
    page = html_report.render(dataclasses.replace(month, vendors=tuple(vendors))).decode()
    assert "<script>" not in page and "</script>" not in page
    section = vendor_section(page.encode(), "schoolstatus").decode()
    assert f"<h2>{HOSTILE_ESCAPED} " in section  # the name
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", section)
    assert len(rows) == len(status.interruptions)
    for row in rows:  # areas, then regions
        assert f"<td>{HOSTILE_ESCAPED}, Sign-in &amp; SSO</td><td>{HOSTILE_ESCAPED}</td>" in row
    reason = f'<td data-label="Reason">{HOSTILE_ESCAPED}</td>'
    assert section.count(reason) == len(status.exclusions)
    assert f"<title>excluded ({HOSTILE_ESCAPED})" in section  # the timeline's words
    assert f'<a href="#vendor-schoolstatus">{HOSTILE_ESCAPED}</a>' in page  # the summary


def test_rows_written_in_python_escape_as_the_template_does() -> None:
    for text in (HOSTILE, "plain", "", "&amp; already", "\"'<>&"):
        assert html_report.escape(text) == str(markupsafe.escape(text))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tlead", "'\tlead"),
        ("ClassSwift", "ClassSwift"),
        ("", ""),
        (None, ""),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "plain", "empty", "null"],
)
def test_formula_guard(value: str | None, cell: str) -> None:
    assert csv_report.text(value) == cell


def test_csv_numbers_are_plain_decimals_never_guarded(documents: Documents) -> None:
    numeric = [c for c in csv_report.VENDOR_COLUMNS if c.endswith(("_min", "_pct", "_fee"))]
    numeric += ["credit_amount", "credit_cap", "credit_hours"]
    for row in csv_rows(documents("2025-02", "csv")):
        for column in numeric:
            if row[column]:
                assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", row[column]), (column, row[column])


# --- PDF -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def context_of(ledger: tuple[Path, Config]) -> ContextOf:
    """The month's context as the renderers get it, from its JSON report."""
    from reports import json_report

    directory, config = ledger

    @functools.cache
    def make(month: str) -> MonthContext:
        year, number = (int(part) for part in month.split("-"))
        data = report(config, directory / "uptime.db", year, number, now=NOW)
        return json_report.parse(data)

    return make


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def pdf_pages(pdf: Path) -> tuple[int, str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))  # type: ignore[union-attr]
    size = re.search(r"^Page size:\s+(.*)$", info.stdout, re.M).group(1)  # type: ignore[union-attr]
    return pages, size


@pytest.mark.parametrize(
    ("month", "paper", "points"),
    [
        ("2025-02", "letter", "(letter)"),
        ("2025-02", "a4", "(A4)"),
        ("2025-03", "letter", "(letter)"),
        ("2024-02", "a4", "(A4)"),
    ],
    ids=["feb-letter", "feb-a4", "dst-march-letter", "leap-february-a4"],
)
def test_pdf_text_has_every_vendors_availability_and_credit(
    context_of: ContextOf,
    month: str,
    paper: html_report.Paper,
    points: str,
    tmp_path: Path,
) -> None:
    context = context_of(month)
    pdf = tmp_path / f"report-{month}-{paper}.pdf"
    pdf.write_bytes(pdf_report.render(context, paper))
    pages, size = pdf_pages(pdf)
    assert size.endswith(points)  # pdfinfo names the paper it matches
    # The summary, then each vendor from a new page.
    assert pages >= 1 + len(context.vendors)
    text = pdf_text(pdf)
    for vendor in context.vendors:
        pct = html_report.pct(vendor.availability_pct)
        amount = money(vendor.credit.amount, vendor.credit.currency)
        assert re.search(rf"{re.escape(vendor.name)}\s+{re.escape(pct)}", text), vendor.name
        assert f"Credit: {amount}" in text, vendor.name
        assert text.count(pct) >= 2  # in the summary and in the vendor's formula
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True)
    images = sorted(ARTIFACTS.glob(f"{pdf.stem}-*.png"))
    assert len(images) == pages
    print(f"page images: {prefix}-*.png")


def test_pdf_leaves_no_chromium_profile_behind(
    context_of: ContextOf,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert pdf_report.render(context_of("2025-02")).startswith(b"%PDF-")
    assert list(tmp_path.iterdir()) == []


def test_pdf_without_chromium_names_the_debian_package(
    context_of: ContextOf,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf_report, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pdf_report.PdfUnavailable, match=r"Debian package chromium"):
        pdf_report.render(context_of("2025-02"))


def test_pdf_without_playwright_names_the_extra(tmp_path: Path) -> None:
    # A Python where playwright cannot be imported (as without the pdf extra).
    code = (
        "import sys; sys.modules['playwright'] = None\n"
        "from reports.pdf_report import print_pdf, PdfUnavailable\n"
        "try:\n    print_pdf(b'<p>x</p>')\n"
        "except PdfUnavailable as error:\n    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.stdout.strip() == (
        "--format pdf needs the pdf extra: pip install 'uptime-ledger[pdf]'"
    )


# --- through the command line ------------------------------------------------------------------


def test_cli_writes_csv_html_and_pdf(
    ledger: tuple[Path, Config], documents: Documents, tmp_path: Path
) -> None:
    directory, _ = ledger
    for format, rows in (("csv", "vendors"), ("csv", "interruptions"), ("html", None)):
        out = tmp_path / f"feb-{format}-{rows}"
        args = ["report", "--month", "2025-02", "--format", format, "--out", out]
        args += ["--rows", rows] if rows else []
        done = uptime_ledger(*args, cwd=directory)
        assert done.returncode == 0, done.stderr
        if format == "csv":
            mine = csv_rows(out.read_bytes())
            expected = csv_rows(documents("2025-02", "csv", rows=rows))
            drop = {"generated_at"}
            assert [{k: v for k, v in r.items() if k not in drop} for r in mine] == [
                {k: v for k, v in r.items() if k not in drop} for r in expected
            ]
        else:
            assert "94.543651 %" in html_text(out.read_bytes())
    out = tmp_path / "feb.pdf"
    done = uptime_ledger("report", "--month", "2025-02", "--format", "pdf", "--out", out,
                         cwd=directory)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "94.543651 %" in pdf_text(out)


def test_cli_rows_only_with_csv(ledger: tuple[Path, Config], tmp_path: Path) -> None:
    directory, _ = ledger
    out = tmp_path / "x.json"
    done = uptime_ledger("report", "--month", "2025-02", "--format", "json", "--rows",
                         "interruptions", "--out", out, cwd=directory)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "uptime-ledger: error: --rows applies to --format csv only, not json"
    ]
    assert not out.exists()


def test_a_closed_month_says_so_with_its_sha256_and_changes_since(context_of: ContextOf) -> None:
    closed = dataclasses.replace(
        context_of("2025-02"),
        closed=Closed(datetime(2025, 3, 3, 17, tzinfo=UTC), "finance", "ab" * 32),
        changes_since_close=("classswift: a late result from atlanta on Tue 25 Feb 2025",),
    )
    text = html_text(html_report.render(closed))
    assert "2025-02 was closed on Mon 3 Mar 2025, 5:00pm UTC by finance" in text
    assert f"SHA-256 of the frozen JSON report: {'ab' * 32}" in text
    assert "Changes since the close" in text and "a late result from atlanta" in text
    (row, *_) = csv_rows(csv_report.render(closed))
    assert (row["closed"], row["closed_at"], row["sha256"]) == (
        "true",
        "2025-03-03T17:00:00+00:00",
        "ab" * 32,
    )
    assert "not closed" in html_text(html_report.render(context_of("2025-02")))


@pytest.mark.parametrize("jobs", [1, 2], ids=["one-process", "side-by-side"])
def test_formats_made_together_are_each_the_report_of_that_format(
    ledger: tuple[Path, Config], documents: Documents, jobs: int
) -> None:
    # What `run` writes for last month: one computation, the formats rendered side by side.
    directory, config = ledger
    together = report_in_formats(
        config, directory / "uptime.db", 2025, 2, ["json", "csv", "html"], jobs=jobs, now=NOW
    )
    assert together == {f: documents("2025-02", f) for f in ("json", "csv", "html")}


def test_the_summary_deadline_is_the_claims_one() -> None:
    # November 2026 with two interruptions: the first's ticket deadline has passed, the
    # second's is open. `uptime-ledger claims` lists the open one as due; so does the summary
    # (the interruptions table flags the passed one on its own row).
    from zoneinfo import ZoneInfo

    from reports.claims import claim_of
    from reports.context import CreditContext, InterruptionContext, Minutes, VendorContext

    zone = ZoneInfo("America/Los_Angeles")

    def down(day: int, deadline: date) -> InterruptionContext:
        start = datetime(2026, 11, day, 9, tzinfo=zone)
        return InterruptionContext(
            start, start.replace(hour=12), 180.0, 0.0, 0.0, 180.0, 0.0, ("App",), ("atlanta",),
            deadline,
        )  # fmt: skip

    vendor = VendorContext(
        "acme", "Acme", zone.key, datetime(2026, 11, 1, tzinfo=zone),
        datetime(2026, 12, 1, tzinfo=zone), Minutes(43200, 0.0, 2400.0, 0.0, 0.0, 0.0),
        "counts", 94.444444, 95.0, False,
        CreditContext(True, None, 40, Decimal("40.00"), "USD", kind="full_hours"),
        (down(3, date(2026, 11, 10)), down(24, date(2026, 12, 2))),
    )  # fmt: skip
    as_of = datetime(2026, 12, 1, 20, tzinfo=UTC)
    claim = claim_of(vendor, "2026-11", None, as_of.astimezone(zone).date())
    assert claim is not None and (claim.status, claim.deadline) == ("due", date(2026, 12, 2))
    row = html_report.summary_row(vendor, "2026-11", as_of)
    assert (row.deadline, row.overdue) == (("Wed 2 Dec 2026", "due in 1 day"), False)
    # Once finance recorded the claim, the summary says so, as `claims` does.
    from uptime.store.finance import ClaimMark

    mark = ClaimMark(7, "acme", "2026-11", "submitted", "ana", as_of, ticket="T-1")
    row = html_report.summary_row(vendor, "2026-11", as_of, mark)
    assert (row.deadline, row.overdue) == (("Wed 2 Dec 2026", "claim submitted"), False)


def test_a_month_whose_clocks_change_names_both_zone_abbreviations(documents: Documents) -> None:
    text = html_text(vendor_section(documents("2025-03", "html"), "classswift"))
    assert "Local times are PST, then PDT (America/Los_Angeles)." in text
    february = html_text(vendor_section(documents("2025-02", "html"), "classswift"))
    assert "Local times are PST (America/Los_Angeles)." in february
