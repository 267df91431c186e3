"""The monthly report as PDF: the printable HTML page (:mod:`reports.html_report`) printed by
headless Chromium (Debian's ``chromium``, driven by Playwright).

Chromium rather than WeasyPrint: on the same 50-vendor page (300 Letter pages) Chromium prints
in about 10 s where WeasyPrint takes about 80 s (docs/benchmarks.md), it is the engine the page
is already checked in, and it lays out ``@page`` margin boxes (the page numbers) the same way.
It runs with a fresh profile in a temporary folder, removed afterwards, and no network: the
page is self-contained, and any request it would make is refused.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from reports import html_report
from reports.context import MonthContext
from uptime.errors import UptimeLedgerError

#: Where Debian's chromium package puts the browser.
CHROMIUM = "/usr/bin/chromium"
#: Flags for a browser that prints one local page and talks to nobody.
CHROMIUM_ARGS = (
    "--no-sandbox",  # often run as root in CI and containers, where the sandbox cannot start
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
#: How long printing may take before it is given up (a 1,000-vendor month takes about 3 min).
TIMEOUT_MS = 600_000


class PdfUnavailable(UptimeLedgerError):
    """The PDF cannot be made here: Playwright (the ``pdf`` extra) or Chromium is missing."""


def chromium_path() -> str:
    """The Chromium to print with: ``/usr/bin/chromium``, else ``chromium`` on the ``PATH``.
    Raises :class:`PdfUnavailable` naming the Debian package when there is none."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        raise PdfUnavailable(
            "--format pdf needs Chromium: install the Debian package chromium "
            "(apt-get install chromium)"
        )
    return found


def print_pdf(html: bytes) -> bytes:
    """``html`` (a self-contained page) printed to PDF by headless Chromium, in the page size
    its CSS ``@page`` names, with backgrounds."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise PdfUnavailable(
            "--format pdf needs the pdf extra: pip install 'uptime-ledger[pdf]'"
        ) from None
    executable = chromium_path()
    with tempfile.TemporaryDirectory(prefix="uptime-ledger-chromium-") as profile:
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
                )
                try:
                    context.route("**/*", lambda route: route.abort())
                    page = context.new_page()
                    # Laid out for print from the start: pdf() then reuses that layout
                    # instead of laying the page out again (a third of the time).
                    page.emulate_media(media="print")
                    page.set_content(html.decode(), wait_until="load", timeout=TIMEOUT_MS)
                    return page.pdf(prefer_css_page_size=True, print_background=True)
                finally:
                    context.close()
        except Error as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise PdfUnavailable(f"Chromium could not print the report: {first}") from None


def render(month: MonthContext, paper: html_report.Paper = "letter") -> bytes:
    """The month's report as PDF on ``paper`` (``letter``, the district's; or ``a4``)."""
    return print_pdf(html_report.render(month, paper))
