"""A district ledger for the report formats: vendors of every kind of contract, windows and
exclusions, and imported outages over several months (a ClassSwift February below target, a
leap February, a DST March), as the CLI reads them from one directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from credits.intervals import Interval
from uptime.config import Config, load_config
from uptime.store.storage import OutageRow, Storage

REGIONS = ("atlanta", "california", "chicago")
#: When the ledger is read: after every scenario's deadlines, so some are overdue.
NOW = datetime(2025, 4, 2, 12, tzinfo=UTC)

MONITOR = (
    "      - {{id: app, functional_area: {area}, url: 'https://{id}.example.invalid/',"
    " interval: 60s, timeout: 10s, critical: true}}"
)

VENDORS_YAML = """\
regions:
  chicago: {name: "Chicago, IL"}
  california: {name: California}
  atlanta: {name: "Atlanta, GA"}
vendors:
  classswift:
    name: ClassSwift
    timezone: America/Los_Angeles
    monitors:
%(classswift)s
    sla:
      target_pct: 95
      maintenance: counts
      emergency_notice: 5 business days
      business_calendar: {holidays: US, timezone: America/Los_Angeles}
      credit: {kind: full_hours, rounding: month, scope: all, percent_per_hour: 100}
      fee: {amount: "672.00", per: month, currency: USD}
      claim_within: 5 business days
  schoolstatus:
    name: SchoolStatus
    timezone: America/New_York
    monitors:
%(schoolstatus)s
    sla:
      target_pct: 99.5
      maintenance: counts
      credit: {kind: full_hours, rounding: incident, scope: all, percent_per_hour: 100}
      fee: {amount: "744.00", per: month, currency: USD}
  tiered:
    name: "=Tiered & Co <Cloud>"
    timezone: Europe/London
    monitors:
%(tiered)s
    sla:
      target_pct: 99.9
      maintenance: counts
      business_calendar: {holidays: GB, timezone: Europe/London}
      credit:
        kind: tiers
        cap_pct_of_fee: 20
        tiers: [{below_pct: 99.9, credit_pct: 10}, {below_pct: 99, credit_pct: 25}]
      fee: {amount: "12000.00", per: year, currency: GBP}
  classcollaborate:
    name: Class Collaborate
    timezone: America/New_York
    hosting: us
    monitors:
%(classcollaborate)s
    sla:
      target_pct: 99.5
      maintenance: excluded
      emergency_notice: 2 business days
      credit: {kind: none}
""" % {
    vendor: MONITOR.format(id=vendor, area=area)
    for vendor, area in (
        ("classswift", "Classroom app"),
        ("schoolstatus", "Web app"),
        ("tiered", "Portal"),
        ("classcollaborate", "Sessions"),
    )
}

WINDOWS_YAML = """\
classswift:
  announced:
    - {start: "2025-02-05T06:00:00Z", end: "2025-02-05T10:00:00Z",
       announced_at: "2025-01-15T17:00:00Z", note: Scheduled upgrade}
    - {start: "2025-02-14T06:00:00Z", end: "2025-02-14T07:00:00Z",
       announced_at: "2025-02-13T00:00:00Z", note: Emergency patch}
schoolstatus:
  exclusions:
    - {start: "2025-02-11T14:00:00Z", end: "2025-02-11T15:00:00Z",
       reason: "+district firewall outage (ticket 4711)"}
classcollaborate:
  recurring:
    - {name: US and Canada, cron: "0 2 * * thu", duration: 4h, timezone: America/New_York,
       hosting: us}
"""

#: (vendor, start, end) seen down from every region, in UTC.
OUTAGES = (
    # ClassSwift, February 2025: 240 scheduled, 60 emergency, 1,900 other: 94.543651 %.
    ("classswift", "2025-02-05T06:00:00", "2025-02-05T10:00:00"),
    ("classswift", "2025-02-10T10:00:00", "2025-02-10T12:30:00"),
    ("classswift", "2025-02-14T06:00:00", "2025-02-14T07:00:00"),
    ("classswift", "2025-02-20T00:00:00", "2025-02-21T05:10:00"),
    # ClassSwift, March 2025: across the spring-forward night in Los Angeles, 10 min 20 s.
    ("classswift", "2025-03-09T09:59:40", "2025-03-09T10:10:00"),
    # ClassSwift, leap February 2024 (41,760 minutes): 3 h on the 29th.
    ("classswift", "2024-02-29T18:00:00", "2024-02-29T21:00:00"),
    # SchoolStatus, February 2025: 2 h, half of it excluded (district firewall); met.
    ("schoolstatus", "2025-02-11T13:30:00", "2025-02-11T15:30:00"),
    ("schoolstatus", "2025-02-25T16:00:00", "2025-02-25T16:30:00"),
    # Tiered, February 2025: 7 h down (98.958333 %): below 99 %, 25 % of £1,000, capped at 20 %.
    ("tiered", "2025-02-03T09:00:00", "2025-02-03T16:00:00"),
    # Class Collaborate, February 2025: an outage inside Thursday's window, one past its end.
    ("classcollaborate", "2025-02-06T08:00:00", "2025-02-06T12:00:00"),
)


def write_ledger(directory: Path) -> Config:
    """vendors.yaml, maintenance_windows.yaml and uptime.db in ``directory``."""
    (directory / "vendors.yaml").write_text(VENDORS_YAML, encoding="utf-8")
    (directory / "maintenance_windows.yaml").write_text(WINDOWS_YAML, encoding="utf-8")
    rows = [
        OutageRow(
            vendor,
            region,
            Interval(
                datetime.fromisoformat(start).replace(tzinfo=UTC),
                datetime.fromisoformat(end).replace(tzinfo=UTC),
            ),
        )
        for vendor, start, end in OUTAGES
        for region in REGIONS
    ]
    storage = Storage(directory / "uptime.db")
    try:
        storage.add_outages(rows, imported_at=NOW)
    finally:
        storage.close()
    return load_config(directory / "vendors.yaml", directory / "maintenance_windows.yaml")
