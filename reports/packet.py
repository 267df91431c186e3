"""A claim packet: what a vendor's contract asks a claim to state, as plain values to render.

ClassSwift §4.4 asks the claim (a support ticket opened by e-mail within five business days of
each interruption's end) to list, together: the functional areas affected, the date and time of
the downtime, the usernames and e-mail addresses affected, and an estimate of the actual
downtime in minutes. :func:`packet_context` gathers those from the month's report context
(:class:`reports.context.VendorContext`, a closed month's frozen figures), the vendor's
``sla.claim`` and the evidence the probes stored (:mod:`uptime.sources.evidence`), with an
appendix: each region's failures around each interruption, how long each region could see the
vendor, and the rules the figures were computed by, the credit's arithmetic written out.

Only a month with a credit the account may claim gets a packet: :func:`why_no_packet` says why
another does not (a contract without credit, an ineligible plan, invoices in default, a month
that met its target).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from credits.intervals import Interval, ratio
from reports.claims import counts
from reports.context import VendorContext, minutes, percent
from reports.runner import month_for_people
from uptime.config import Config, Vendor
from uptime.errors import UptimeLedgerError
from uptime.sources.evidence import MARGIN, Coverage, RegionFailures, coverage, probe_failures

#: How times read in a packet: the vendor's wall clock with its zone abbreviation, and UTC.
LOCAL = "%Y-%m-%d %H:%M:%S %Z"
UTC_TEXT = "%Y-%m-%d %H:%M:%S UTC"


@dataclass(frozen=True)
class Failures:
    """One region's failed probes of one monitor around an interruption, as read."""

    region: str
    monitor: str
    area: str
    first_local: str
    first_utc: str
    last_local: str
    last_utc: str
    failures: int
    probes: int
    #: ``status: HTTP 503 (7)``, one per kind of failure
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Downtime:
    """One interruption as the claim lists it."""

    number: int
    start_local: str
    end_local: str
    start_utc: str
    end_utc: str
    #: the minutes that count against availability (the estimate of actual downtime)
    minutes: str
    #: how they split: ``downtime 35.00 · emergency 0.00 · scheduled 0.00 · unmonitored 0.00``
    buckets: str
    areas: tuple[str, ...]
    regions: tuple[str, ...]
    deadline: str
    deadline_passed: bool
    evidence: tuple[Failures, ...]


@dataclass(frozen=True)
class CoverageRow:
    """How long one region could see one monitor in the month."""

    region: str
    monitor: str
    area: str
    seen_minutes: str
    of_minutes: str
    percent: str


@dataclass(frozen=True)
class Packet:
    """Everything a claim packet prints, as text ready to show."""

    vendor: str
    name: str
    month: str
    timezone: str
    send_to: str | None
    subject: str
    amount: str
    currency: str
    availability_pct: str
    target_pct: str
    areas: tuple[str, ...]
    downtimes: tuple[Downtime, ...]
    #: total minutes of actual downtime, the §4.4 estimate
    estimate_minutes: str
    users: tuple[tuple[str, str], ...]
    earliest_deadline: str | None
    coverage: tuple[CoverageRow, ...]
    #: (rule, how it was applied), in the order a reader checks them
    rules: tuple[tuple[str, str], ...]
    margin_minutes: int
    generated_at: str
    closed_sha256: str | None


def why_no_packet(vendor: VendorContext) -> str | None:
    """Why ``vendor``'s month gets no claim packet, or ``None`` when a credit is due."""
    credit = vendor.credit
    if credit.kind == "none":
        return "the contract defines no service credit"
    if not credit.eligible or credit.amount <= 0:
        return credit.reason or "no credit is due"
    return None


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime(LOCAL)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(UTC_TEXT)


def _min(value: float) -> str:
    return f"{value:,.2f}"


def _errors(failures: RegionFailures) -> tuple[str, ...]:
    return tuple(
        f"{e.error or 'failed'}: {e.message or '(no message)'} ({e.count})" for e in failures.errors
    )


def _money(value: Decimal | None, currency: str) -> str:
    return "" if value is None else f"{value} {currency}".strip()


def credit_rule(vendor: VendorContext) -> str:
    """The credit's computation, the month's numbers written into it."""
    c, m = vendor.credit, vendor.minutes
    currency = c.currency or ""
    counted = m.downtime + m.emergency + (m.scheduled if vendor.maintenance == "counts" else 0)
    if c.kind == "full_hours":
        text = (
            f"full_hours (rounding {c.rounding}, scope {c.scope}): {_min(counted)} counted "
            f"minutes → {c.hours} full hours × {c.percent_per_hour} % × hourly fee "
            f"{_money(c.hourly_fee, currency)} (monthly fee {_money(c.monthly_fee, currency)} "
            f"/ {m.total // 60} hours in the month)"
        )
    elif c.kind == "tiers":
        band = (
            f"availability {vendor.availability_pct} % is below {c.band.below_pct} % → "
            f"{c.band.credit_pct} % of the monthly fee {_money(c.monthly_fee, currency)}"
            if c.band
            else "below no band"
        )
        text = f"tiers: {band}"
    else:
        return "none: the contract defines no service credit"
    if c.cap is not None:
        text += f", capped at {_money(c.cap, currency)}" + (
            " (the cap applied)" if c.capped else ""
        )
    return f"{text} = {_money(c.amount, currency)}"


def _quorum(rule: object, regions: int) -> str:
    if rule == "all":
        return f"all: down only when every site probing a monitor sees it down ({regions} sites)"
    if rule == "majority":
        return "majority: down when more than half the sites probing a monitor see it down"
    return f"{rule}: down when at least {rule} sites see a monitor down"


def packet_context(
    context: VendorContext,
    vendor: Vendor,
    month: str,
    evidence: Sequence[Sequence[RegionFailures]],
    seen: Sequence[Coverage],
    generated_at: datetime,
    as_of: date,
    closed_sha256: str | None = None,
) -> Packet:
    """The packet of ``vendor``'s ``month`` from its report ``context``, the failures stored
    around each of its interruptions (``evidence[i]`` for ``context.interruptions[i]``) and
    each region's coverage; ``as_of`` is today in the vendor's zone (a deadline before it has
    passed)."""
    zone = ZoneInfo(context.timezone)
    areas_of = {m.id: m.functional_area for m in vendor.monitors}
    currency = context.credit.currency or ""
    downtimes = []
    claimed = [
        (i, found)
        for i, found in zip(context.interruptions, evidence, strict=True)
        if counts(i, context.maintenance)
    ]
    for number, (i, found) in enumerate(claimed, 1):
        counted = i.downtime + i.emergency + (i.scheduled if context.maintenance == "counts" else 0)
        downtimes.append(
            Downtime(
                number=number,
                start_local=_local(i.start, zone),
                end_local=_local(i.end, zone),
                start_utc=_utc(i.start),
                end_utc=_utc(i.end),
                minutes=_min(counted),
                buckets=(
                    f"downtime {_min(i.downtime)} · emergency {_min(i.emergency)} · "
                    f"scheduled {_min(i.scheduled)} · of which unmonitored "
                    f"{_min(i.unmonitored)}"
                ),
                areas=i.areas,
                regions=i.regions,
                deadline=f"{i.claim_deadline:%A %Y-%m-%d}",
                deadline_passed=i.claim_deadline < as_of,
                evidence=tuple(
                    Failures(
                        region=f.region,
                        monitor=f.monitor,
                        area=areas_of.get(f.monitor, f.monitor),
                        first_local=_local(f.first_failure, zone) if f.first_failure else "",
                        first_utc=_utc(f.first_failure) if f.first_failure else "",
                        last_local=_local(f.last_failure, zone) if f.last_failure else "",
                        last_utc=_utc(f.last_failure) if f.last_failure else "",
                        failures=f.failures,
                        probes=f.probes,
                        errors=_errors(f),
                    )
                    for f in found
                ),
            )
        )
    m = context.minutes
    estimate = m.downtime + m.emergency + (m.scheduled if context.maintenance == "counts" else 0)
    open_deadlines = [i.claim_deadline for i, _ in claimed if i.claim_deadline >= as_of]
    all_deadlines = [i.claim_deadline for i, _ in claimed]
    earliest = min(open_deadlines or all_deadlines, default=None)
    areas = tuple(dict.fromkeys(a for i, _ in claimed for a in i.areas))
    sla = vendor.sla
    formula = (
        "A = (T − M − D − E) / T × 100"
        if context.maintenance == "counts"
        else "A = (T − D − E) / T × 100 (scheduled maintenance M is agreed downtime)"
    )
    counted_m = m.scheduled if context.maintenance == "counts" else 0
    rules = (
        (
            "availability",
            f"{formula} = ({m.total:,} − {_min(counted_m)} − {_min(m.downtime)} − "
            f"{_min(m.emergency)}) / {m.total:,} × 100 = {context.availability_pct} % "
            f"(target {context.target_pct} %: {'met' if context.met else 'not met'})",
        ),
        ("quorum", _quorum(vendor.quorum, len({r for mo in vendor.monitors for r in mo.regions}))),
        (
            "maintenance",
            f"{context.maintenance}: "
            + (
                "down time inside scheduled windows counts against availability"
                if context.maintenance == "counts"
                else "down time inside scheduled windows is agreed downtime, not counted"
            )
            + f"; emergency maintenance is any announced with less than "
            f"{sla.emergency_notice.text} notice, and always counts",
        ),
        (
            "announced windows",
            f"{sla.announced_windows}: "
            + (
                "only the down time observed inside an announced window counts"
                if sla.announced_windows == "observed"
                else "an announced window counts in full"
            ),
        ),
        (
            "unmonitored",
            f"{context.unmonitored_policy}: {_min(m.unmonitored)} minutes no site could see "
            + {
                "as_up": "are not counted as downtime",
                "as_down": "are counted as downtime",
                "exclude": "are taken out of T",
            }.get(context.unmonitored_policy, ""),
        ),
        ("exclusions", f"{_min(m.excluded)} down minutes excluded, each with its reason"),
        ("credit", credit_rule(context)),
        ("claim deadline", f"a ticket within {sla.claim_within.text} of each interruption's end"),
    )
    contact = vendor.claim
    users = tuple((u.username, u.email) for u in contact.affected_users) if contact else ()
    return Packet(
        vendor=context.vendor,
        name=context.name,
        month=month,
        timezone=context.timezone,
        send_to=contact.send_to if contact else None,
        subject=(
            f"Service Level Credit claim: {context.name}, {month}, "
            f"{_money(context.credit.amount, currency)}"
        ),
        amount=_money(context.credit.amount, currency),
        currency=currency,
        availability_pct=f"{context.availability_pct}",
        target_pct=f"{context.target_pct}",
        areas=areas,
        downtimes=tuple(downtimes),
        estimate_minutes=_min(estimate),
        users=users,
        earliest_deadline=None if earliest is None else f"{earliest:%A %Y-%m-%d}",
        coverage=tuple(
            CoverageRow(
                region=c.region,
                monitor=c.monitor,
                area=areas_of.get(c.monitor, c.monitor),
                seen_minutes=_min(minutes(c.seen)),
                of_minutes=_min(minutes(c.elapsed)),
                percent=(
                    f"{percent(ratio(c.seen, c.elapsed) * 100)}"
                    if c.elapsed > timedelta(0)
                    else "—"
                ),
            )
            for c in seen
        ),
        rules=rules,
        margin_minutes=int(MARGIN // timedelta(minutes=1)),
        generated_at=_utc(generated_at),
        closed_sha256=closed_sha256,
    )


class NoPacket(UptimeLedgerError):
    """A vendor-month that gets no claim packet, and why (one line)."""


def claim_packet(
    config: Config, db_path: Path, vendor_id: str, year: int, month: int, now: datetime
) -> Packet:
    """The claim packet of ``vendor_id``'s ``year``-``month`` as of ``now``: a closed month's
    frozen figures (:func:`reports.runner.month_for_people`), the evidence read from the
    database at ``db_path`` (read-only). :class:`NoPacket` says why there is none."""
    vendor = config.vendor(vendor_id)
    label = f"{year:04d}-{month:02d}"
    people = month_for_people(config, db_path, year, month, now, vendors=[vendor_id])
    found = [v for v in people.vendors if v.vendor == vendor_id]
    if not found:
        raise NoPacket(
            f"no claim packet for {vendor_id} {label}: it was not configured when the month "
            "was closed; nothing was written"
        )
    context = found[0]
    why = why_no_packet(context)
    if why is not None:
        raise NoPacket(f"no claim packet for {vendor_id} {label}: {why}; nothing was written")
    spans = [Interval(i.start, i.end) for i in context.interruptions]
    period = Interval(context.period_start, context.period_end)
    return packet_context(
        context,
        vendor,
        label,
        probe_failures(db_path, vendor_id, spans),
        coverage(db_path, vendor, period, people.generated_at),
        generated_at=now,
        as_of=now.astimezone(vendor.timezone).date(),
        closed_sha256=people.closed.sha256 if people.closed else None,
    )
