"""What ``check-config`` prints: the configuration as it resolved."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from credits.calendar import applies_to
from credits.credit import monthly_fee, to_cents
from credits.model import (
    BusinessCalendar,
    CreditPolicy,
    Fee,
    QuorumRule,
)
from uptime.config.durations import format_duration
from uptime.config.model import Config

# --------------------------------------------------------------------------------------------
# Rendering


def _quorum_text(quorum: QuorumRule) -> str:
    if quorum == "all":
        return "all (down only when every region of a monitor sees it down)"
    if quorum == "majority":
        return "majority (down when more than half of a monitor's regions see it down)"
    return f"{quorum} (down when at least {quorum} regions see a monitor down)"


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _credit_text(credit: CreditPolicy) -> str:
    if credit.kind == "none":
        return "none (no service credit)"
    cap = (
        f"capped at {_pct(credit.cap_pct_of_fee)} of the monthly fee"
        if credit.cap_pct_of_fee
        else "no cap"
    )
    if credit.kind == "full_hours":
        return (
            f"full_hours: {_pct(credit.percent_per_hour)} of the hourly fee per full hour, "
            f"rounding {credit.rounding}, scope {credit.scope}, {cap}"
        )
    bands = ", ".join(f"below {_pct(t.below_pct)} to {_pct(t.credit_pct)}" for t in credit.tiers)
    return f"tiers of the monthly fee: {bands}; {cap}"


def _fee_text(fee: Fee | None) -> str:
    if fee is None:
        return "not given"
    text = f"{fee.amount} {fee.currency} per {fee.per}"
    if fee.per == "year":
        text += f" ({to_cents(monthly_fee(fee))} {fee.currency} per month)"
    return text


def _calendar_text(cal: BusinessCalendar) -> str:
    if cal.holidays is None:
        days = "Monday-Friday, no holidays"
    else:
        region = f"{cal.holidays}-{cal.subdivision}" if cal.subdivision else cal.holidays
        days = f"Monday-Friday minus {region} public holidays"
    return f"{days}, dates in {cal.timezone.key}"


_ANNOUNCED = {
    "observed": "observed (only the down time seen inside an announced window counts)",
    "declared": "declared (an announced window counts in full, seen down or not)",
}
_UNMONITORED = {
    "as_up": "as_up (time no region could see is not downtime; always reported)",
    "as_down": "as_down (time no region could see is downtime)",
    "exclude": "exclude (time no region could see leaves the month's total T)",
}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _token_source(path: Path | None, variable: str) -> str:
    return f"(in {path})" if path is not None else f"(${variable}, if set)"


def render_config(config: Config) -> str:
    """A human-readable summary of what both files resolve to (``uptime-ledger check-config``)."""
    out: list[str] = [
        f"vendors:     {config.vendors_path}",
        f"maintenance: {config.maintenance_path}",
        "",
        f"Regions ({len(config.regions)}):",
    ]
    for r in config.regions:
        out.append(f"  {r.id}: {r.name}")
        out.append(f"    canary: {r.canary or 'none (no self-check)'}")
        if r.token_file is not None:
            out.append(f"    agent: remote, token in {r.token_file}")
        elif r.token_env is not None:
            out.append(f"    agent: remote, token in the environment variable {r.token_env}")
        else:
            out.append("    agent: in-process (uptime-ledger run probes it)")
    p = config.probing
    out += [
        "",
        "Probing:",
        f"  failures confirmed by {p.retries} retries within {format_duration(p.retry_within)}",
        f"  at most {p.concurrency} probes at once per agent; "
        + ("connections reused" if p.reuse_connections else "a fresh connection per probe"),
        f"  results stored every {format_duration(p.flush_every)} or {p.batch} results; "
        f"plain successes kept {format_duration(p.retention)}",
        f"  evidence (failed, degraded, state-changing results) kept "
        f"{format_duration(p.evidence_retention)}",
        f"  results stamped more than {format_duration(p.max_clock_skew)} past the collector's "
        "clock refused",
    ]
    out += [
        "",
        "Status page:",
        f"  title: {config.web.title}",
        f"  reloads every {format_duration(config.web.refresh)}",
        "  finance figures over HTTP (credits, claim deadlines): with the reader's token "
        + _token_source(config.web.reader_token_file, "UPTIME_LEDGER_READER_TOKEN")
        + " or the admin's "
        + _token_source(config.web.admin_token_file, "UPTIME_LEDGER_ADMIN_TOKEN"),
        "",
        "Reports:",
        f"  last month's report written to {config.reports.dir}/ on "
        f"{config.reports.schedule!r} (each vendor's clock)",
    ]
    for vendor in config.vendors:
        sla = vendor.sla
        out += [
            "",
            f"Vendor {vendor.id}: {vendor.name}",
            f"  timezone: {vendor.timezone.key}",
            f"  quorum: {_quorum_text(vendor.quorum)}",
            f"  hosting: {vendor.hosting or '-'}",
            f"  monitors ({len(vendor.monitors)}):",
        ]
        for m in vendor.monitors:
            details = [
                f"{m.kind}" + (f" {m.method}" if m.kind == "http" else ""),
                f"every {format_duration(m.interval)}",
                f"timeout {format_duration(m.timeout)}",
                "critical" if m.critical else "not critical (shown, never counted)",
                f"regions {', '.join(m.regions)}",
            ]
            if m.kind == "http":
                expect = f"expect status {'/'.join(map(str, m.expect.status))}"
                if m.expect.body_contains is not None:
                    expect += f" and body containing {m.expect.body_contains!r}"
                details.append(expect)
            if m.max_latency is not None:
                details.append(f"slower than {format_duration(m.max_latency)} is down")
            out.append(f"    {m.id} [{m.functional_area}] {m.url}")
            out.append(f"      {'; '.join(details)}")
        maintenance = (
            "counts (down time inside maintenance windows is downtime: M is subtracted)"
            if sla.maintenance == "counts"
            else "excluded (down time inside announced or recurring windows is not downtime)"
        )
        out += [
            "  SLA:",
            f"    target: {_pct(sla.target_pct)} per calendar month",
            f"    maintenance: {maintenance}",
            f"    emergency notice: a window announced less than {sla.emergency_notice.text} "
            "ahead is emergency",
            f"    announced windows: {_ANNOUNCED[sla.announced_windows]}",
            f"    unmonitored: {_UNMONITORED[sla.unmonitored]}",
            f"    business calendar: {_calendar_text(sla.business_calendar)}",
            f"    credit: {_credit_text(sla.credit)}",
            f"    fee: {_fee_text(sla.fee)}",
            f"    eligible: {_yes(sla.eligible)}; invoices in default: "
            f"{_yes(sla.invoices_in_default)}",
            f"    claim within: {sla.claim_within.text}",
        ]
        cal = vendor.calendar
        out.append(f"  recurring windows ({len(cal.recurring)}):")
        for w in cal.recurring:
            hosting = f", hosting {w.hosting}" if w.hosting else ", any hosting"
            applies = "" if applies_to(w, vendor.hosting) else " (not this vendor's hosting)"
            out.append(
                f"    {w.name}: cron {w.cron!r} in {w.timezone.key}, "
                f"{format_duration(w.duration)}{hosting}{applies}"
            )
        out.append(f"  announced windows ({len(cal.announced)}):")
        for a in cal.announced:
            note = f" {a.note}" if a.note else ""
            out.append(
                f"    {a.start.isoformat()} to {a.end.isoformat()}{note} "
                f"(announced_at {a.announced_at.isoformat()})"
            )
        out.append(f"  exclusions ({len(cal.exclusions)}):")
        for e in cal.exclusions:
            out.append(f"    {e.start.isoformat()} to {e.end.isoformat()} {e.reason}")
    return "\n".join(out) + "\n"
