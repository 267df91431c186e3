"""Every error a user can cause, under one base with its exit status.

The command line catches :class:`UptimeLedgerError` and nothing broader: it prints each line of
``lines()`` after ``uptime-ledger: error:`` and exits with ``exit_code``. Anything else that
escapes is a bug and keeps its traceback.

- ``UptimeLedgerError`` (exit 1): the base.
  - ``UsageError`` (exit 2): a bad command-line argument.
  - ``ConfigError`` (exit 2, ``uptime.config.errors``): a value in vendors.yaml or
    maintenance_windows.yaml, located by file, line and field.
    - ``UnknownVendorError`` (exit 2): a vendor id that is not configured.
  - ``ImportRejected`` (exit 1, ``uptime.sources.imported``): an outage CSV with bad rows; one
    line per row, nothing imported.
  - ``StorageError`` (exit 1, ``uptime.store.database``): the database or a spool cannot be
    used (not SQLite, a directory, read-only...).
    - ``DatabaseNotReady`` (exit 2 when the file does not exist, else 1): a reader (a report)
      found no database, or one no writer has migrated to this version's schema; readers
      never create or migrate it.
  - ``SetupError`` (exit 1, ``uptime.web.tokens``): the collector or an agent cannot start (a
    token file is missing or too short).
  - ``AgentRefused`` (exit 1, ``uptime.probing.agent``): the collector refused the agent's token.
  - ``WorkerDied`` (exit 1, ``reports.runner``): a report worker process died (killed, out of
    memory); nothing was written.
  - ``PdfUnavailable`` (exit 1, ``reports.pdf_report``): ``--format pdf`` without the ``pdf``
    extra (Playwright) or without Debian's ``chromium``, or Chromium failed to print; nothing
    was written.
  - ``ClosedMonthError`` (exit 1, ``uptime.store.finance``): a change that would alter a closed
    month (an import, an exclusion or its undoing, a maintenance window, a configuration
    change); names the month and how to reopen it; nothing is changed.
    ``NotClosed`` (reopening a month that is not closed), ``InputsMoved`` (something was
    recorded while a month was being closed: nothing closed), ``FrozenReportDamaged`` (a closed
    month's stored report is missing or no longer matches its SHA-256), same module.
  - ``MonthNotOver`` (exit 1, ``reports.closing``): closing a month before it ended everywhere.
    ``AuditBroken`` (exit 1, same module): ``audit --verify``, or a check of the closed months,
    found the audit trail's chain broken.
  - ``NoPacket`` (exit 1, ``reports.packet``): no claim packet for that vendor-month (an
    ineligible plan, invoices in default, no credit); says why, writes nothing.
  - ``NotAReport`` (exit 1, ``reports.json_report``): bytes that are not a report of this
    schema.
  - ``CalendarRangeError`` (exit 1, ``credits.business_time``): a date beyond the years whose
    public holidays are known.
  - ``ListenError`` (exit 1, ``uptime.web.serve``): ``run`` cannot listen on its host and port.
  - ``FileAccessError`` (exit 1): a file named on the command line cannot be read or written.
"""

from __future__ import annotations


class UptimeLedgerError(Exception):
    """A problem the user can fix, told in one line (``lines()`` for several)."""

    exit_code = 1
    #: A closing line printed after the problems, without "error:" (what did not happen).
    outcome: str | None = None

    def lines(self) -> list[str]:
        """What to print, one problem per line."""
        return [str(self)]


class UsageError(UptimeLedgerError):
    """A bad command-line argument."""

    exit_code = 2


class FileAccessError(UptimeLedgerError):
    """A file the user named cannot be read or written: ``<path>: <why>``."""

    def __init__(self, path: object, error: OSError) -> None:
        super().__init__(f"{path}: {error.strerror or error}")
