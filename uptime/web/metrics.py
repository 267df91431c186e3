"""``GET /metrics``: the Prometheus exposition (docs/metrics.md lists every family).

Two kinds of metric, as client_python's docs describe them:

* the probe counter and latency histogram are counted as results are stored, by the
  recorder's watchers (local and remote agents alike);
* the state and month families are read at scrape time (a custom collector, in the client's
  words): each vendor's state now (``uptime.web.status.vendor_states``) and its current month
  through ``app[MONTHS]``, which keeps a month's figures while they are still true; each
  vendor's lines are kept while what they show holds (:class:`Shown`).

The text is written by ``uptime.web.exposition`` rather than prometheus_client, which takes
seconds for a large district (see that module). A scrape reads the states on the writer thread,
then builds the states, the months and the exposition in one call on the months' thread, so
the event loop, where probes run, only hands the work over.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from aiohttp import web

from credits.credit import may_claim
from credits.month import Observations, VendorMonth
from credits.state import RegionState, active_windows
from probes.result import ProbeResult
from reports.context import VendorContext
from reports.runner import without_cycle_collector
from reports.scheduled import claim_months, earliest_deadline, open_claims
from uptime.config import Config, Vendor
from uptime.store.finance import Records
from uptime.store.recorder import RegionStates
from uptime.store.states import Key
from uptime.web.access import may_read_finance
from uptime.web.exposition import Family, header, labels_text, value_text
from uptime.web.keys import CONFIG, MONTHS, RECORDER
from uptime.web.months import Months, share_the_interpreter
from uptime.web.scheduled import claim_context, claim_inputs
from uptime.web.status import (
    NOT_REPORTED,
    by_monitor,
    next_start,
    series_keys,
    upcoming_windows,
    vendor_states,
)

NAMESPACE = "uptime_ledger"

#: Probe latency buckets (seconds): a healthy HTTPS check takes 50–500 ms, a timeout 10 s.
#: Few, because every (vendor, monitor, region) exposes each of them.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BUCKET_LABELS = (*(value_text(b) for b in LATENCY_BUCKETS), "+Inf")

#: The text format's content type (what prometheus_client serves as well).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGION_STATES = ("up", "down", "unknown")
VENDOR_STATES = ("up", "down", "maintenance", "unknown")
DOWNTIME_KINDS = ("scheduled", "emergency", "downtime", "excluded", "unmonitored")

AGENT = ("region", "agent")


def gauge(name: str, doc: str, labels: Iterable[str]) -> Family:
    return Family(f"{NAMESPACE}_{name}", doc, tuple(labels))


class MonthFigures(NamedTuple):
    """The few numbers the month families show of one vendor-month (seconds, ratios)."""

    availability: float
    target: float
    total: float
    allowance: float  #: the counted seconds the month may hold and still meet the target
    remaining: float  #: allowance less the counted seconds: negative once overspent
    downtime: tuple[float, ...]  #: seconds of each of DOWNTIME_KINDS
    credit: float
    currency: str | None


def month_figures(month: VendorMonth, seen: Observations) -> MonthFigures:
    """What ``/metrics`` keeps of a vendor-month (``Months.get``'s ``make``)."""
    a, buckets = month.availability, month.availability.buckets
    allowance = a.denominator.total_seconds() * float(1 - a.target_pct / 100)
    return MonthFigures(
        availability=float(a.availability_pct / 100),
        target=float(a.target_pct / 100),
        total=a.total.total_seconds(),
        allowance=allowance,
        remaining=allowance - a.counted.total_seconds(),
        downtime=tuple(
            d.total_seconds()
            for d in (
                buckets.scheduled,
                buckets.emergency,
                buckets.downtime,
                buckets.excluded,
                a.unmonitored,
            )
        ),
        credit=float(month.credit.amount),
        currency=month.credit.currency,
    )


def metrics_month(month: VendorMonth, seen: Observations) -> tuple[MonthFigures, VendorContext]:
    """What ``/metrics`` keeps of a current vendor-month: its figures, and what its claims are
    read from (one computation for both)."""
    return month_figures(month, seen), claim_context(month)


RESULTS = ("up", "down", "degraded")


class _Vendor:
    """One vendor's probe series, and their exposition lines while they hold: a scrape checks
    a thousand vendors rather than six thousand series."""

    __slots__ = ("count", "lines", "series")

    def __init__(self) -> None:
        self.series: list[tuple[Key, _Series]] = []
        self.count = 0  #: results counted of all its series
        #: (count they were written at, counter lines, histogram lines), UTF-8
        self.lines: tuple[int, bytes, bytes] | None = None


class _Series:
    """One (vendor, monitor, region)'s probe counts, and its exposition lines while they hold."""

    __slots__ = ("buckets", "count", "lines", "results", "sum", "vendor")

    def __init__(self, vendor: _Vendor) -> None:
        self.vendor = vendor
        self.results = [0, 0, 0]  #: by RESULTS
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  #: per bucket (not cumulative), +Inf last
        self.sum = 0.0
        self.count = 0
        #: (count they were written at, counter lines, histogram lines), UTF-8
        self.lines: tuple[int, bytes, bytes] | None = None


class ProbeMetrics:
    """The probe counter and histogram (``uptime_ledger_probe_results_total``,
    ``uptime_ledger_probe_duration_seconds``), and each monitor's last certificate expiry."""

    RESULTS_NAME = f"{NAMESPACE}_probe_results_total"
    DURATION_NAME = f"{NAMESPACE}_probe_duration_seconds"
    RESULTS_HEADER = header(
        RESULTS_NAME,
        "counter",
        "Probe results stored, by outcome: up, down (failed), degraded (ok but slower than "
        "the monitor's max_latency).",
    )
    DURATION_HEADER = header(
        DURATION_NAME, "histogram", "How long each stored probe took, whatever its outcome."
    )

    def __init__(self, config: Config) -> None:
        #: (vendor, monitor, region) → (when seen, certificate notAfter as a Unix time)
        self.certificates: dict[Key, tuple[datetime, float]] = {}
        self.series: dict[Key, _Series] = {}
        self._vendors: dict[str, _Vendor] = {}
        # Every configured series from the start at zero, so rate() sees the first results.
        for vendor in config.vendors:
            for key in series_keys(vendor):
                self._add(key)

    def _add(self, key: Key) -> _Series:
        vendor = self._vendors.get(key[0])
        if vendor is None:
            vendor = self._vendors[key[0]] = _Vendor()
        series = self.series[key] = _Series(vendor)
        vendor.series.append((key, series))
        vendor.count += 1  # its lines now miss a series
        return series

    def watch(self, stored: Sequence[ProbeResult]) -> None:
        """Count a stored batch (a ``Recorder.watchers`` callback, on the event loop)."""
        for r in stored:
            key = (r.vendor, r.monitor, r.region)
            series = self.series.get(key) or self._add(key)
            series.results[1 if not r.ok else 2 if r.degraded else 0] += 1
            # A bucket counts the probes that took at most its bound.
            series.buckets[bisect.bisect_left(LATENCY_BUCKETS, r.latency)] += 1
            series.sum += r.latency
            series.count += 1
            series.vendor.count += 1
            if r.cert_expires_at is not None:
                seen = self.certificates.get(key)
                if seen is None or seen[0] <= r.at:
                    self.certificates[key] = (r.at, r.cert_expires_at.timestamp())

    def parts(self) -> list[bytes]:
        """Both families' exposition, UTF-8, in parts to be joined (``Metrics.expose``)."""
        # list() first: the event loop may add a series while this runs on another thread.
        counters = [self.RESULTS_HEADER.encode()]
        histograms = [self.DURATION_HEADER.encode()]
        for vendor in list(self._vendors.values()):
            kept = vendor.lines
            if not (kept and kept[0] == vendor.count):
                kept = self._vendor_lines(vendor)
            counters.append(kept[1])
            histograms.append(kept[2])
        return counters + histograms

    def _vendor_lines(self, vendor: _Vendor) -> tuple[int, bytes, bytes]:
        # This runs on the months' thread while the event loop may count another result:
        # lines are kept only if the count did not move while they were written.
        count = vendor.count
        each = []
        for key, series in list(vendor.series):
            kept = series.lines
            if not (kept and kept[0] == series.count):
                share_the_interpreter()
                kept = self._lines(key, series)
            each.append(kept)
        lines = (count, b"".join([e[1] for e in each]), b"".join([e[2] for e in each]))
        if vendor.count == count:
            vendor.lines = lines
        return lines

    def _lines(self, key: Key, series: _Series) -> tuple[int, bytes, bytes]:
        count = series.count
        labels = labels_text(("vendor", "monitor", "region"), key)[1:-1]
        counter = "".join(
            f'{self.RESULTS_NAME}{{{labels},result="{result}"}} {value_text(count)}\n'
            for result, count in zip(RESULTS, series.results, strict=True)
        )
        name = self.DURATION_NAME
        cumulative = list(itertools.accumulate(series.buckets))
        histogram = "".join(
            [
                *(
                    f'{name}_bucket{{{labels},le="{bound}"}} {value_text(count)}\n'
                    for bound, count in zip(BUCKET_LABELS, cumulative, strict=True)
                ),
                f"{name}_sum{{{labels}}} {value_text(series.sum)}\n",
                f"{name}_count{{{labels}}} {value_text(series.count)}\n",
            ]
        )
        lines = (count, counter.encode(), histogram.encode())
        if series.count == count:
            series.lines = lines
        return lines


class Shown(NamedTuple):
    """What the state, maintenance and month families show of one vendor at a scrape: its
    lines are written again only when this changes (rarely: a district's vendors are mostly
    up, and their months kept)."""

    vendor: Vendor
    views: tuple[RegionState, ...]  #: each series' view, in the order of ``series_keys``
    active: bool  #: one of its maintenance windows is open
    next_start: float | None  #: when its next window starts (Unix time)
    month: MonthFigures


def _state_set(family: Family, labels: tuple[str, ...], states: Sequence[str], current: str) -> str:
    """A state set's lines for one series: 1 for the ``current`` state, 0 for the others."""
    return "".join(
        family.line((*labels, state), 1.0 if state == current else 0.0) for state in states
    )


class LedgerFamilies:
    """The state, month, maintenance and certificate families, read at each scrape."""

    def __init__(self, probes: ProbeMetrics) -> None:
        self.probes = probes
        self.region = Family(
            f"{NAMESPACE}_region_state",
            "Each region's current view of a monitor: 1 for the current state (up, down, "
            "unknown: no fresh result), 0 for the others.",
            ("vendor", "monitor", "region", "state"),
        )
        self.vendor = Family(
            f"{NAMESPACE}_vendor_state",
            "Each vendor's state now by its quorum: 1 for the current state (up, down, "
            "maintenance, unknown), 0 for the others.",
            ("vendor", "state"),
        )
        self.active = gauge(
            "maintenance_active",
            "1 while one of the vendor's maintenance windows is open.",
            ["vendor"],
        )
        self.next_start = gauge(
            "maintenance_next_start_timestamp_seconds",
            "When the vendor's next maintenance window starts (Unix time); absent when none "
            "starts within 14 days.",
            ["vendor"],
        )
        month = "Current calendar month in the vendor's zone"
        self.availability = gauge(
            "month_availability_ratio",
            f"{month}: availability by the contract's formula, (T - counted) / T, 0-1.",
            ["vendor"],
        )
        self.target = gauge(
            "month_target_ratio", f"{month}: the contract's availability target, 0-1.", ["vendor"]
        )
        self.total = gauge(
            "month_total_seconds",
            f"{month}: T, its length as the contract counts it (days x 86400).",
            ["vendor"],
        )
        self.downtime = gauge(
            "month_downtime_seconds",
            f"{month}: down time so far by kind: scheduled (inside announced or recurring "
            "windows), emergency (inside short-notice windows), downtime (other), excluded "
            "(by an operator), unmonitored (no region could see).",
            ["vendor", "kind"],
        )
        self.allowance = gauge(
            "month_allowance_seconds",
            f"{month}: the counted down time the vendor may have and still meet its target, "
            "T x (1 - target).",
            ["vendor"],
        )
        self.remaining = gauge(
            "month_allowance_remaining_seconds",
            f"{month}: allowance less the counted down time so far; negative once overspent.",
            ["vendor"],
        )
        self.credit = gauge(
            "month_credit",
            f"{month}: the service credit accrued so far, in the fee's currency.",
            ["vendor", "currency"],
        )
        self.deadline = gauge(
            "claim_deadline_timestamp_seconds",
            "When the earliest open ticket deadline of the vendor's due claims (previous and "
            "current month, nothing recorded yet) ends: the midnight after its day on the "
            "vendor's clock (Unix time); absent while no claim is due.",
            ["vendor"],
        )
        self.certificates = gauge(
            "tls_certificate_expiry_timestamp_seconds",
            "When the TLS certificate a monitor's last HTTPS probe from a region saw expires "
            "(Unix time, its notAfter).",
            ("vendor", "monitor", "region"),
        )
        #: The families of each vendor's lines (:meth:`_vendor_lines`), in exposition order;
        #: the claim deadline and the certificate families come after them.
        self.per_vendor = (
            self.region,
            self.vendor,
            self.active,
            self.next_start,
            self.availability,
            self.target,
            self.total,
            self.downtime,
            self.allowance,
            self.remaining,
            self.credit,
        )
        #: vendor id → what its lines show, and its lines (UTF-8) of each of ``per_vendor``
        self._kept: dict[str, tuple[Shown, tuple[bytes, ...]]] = {}

    def _vendor_lines(self, shown: Shown) -> tuple[bytes, ...]:
        """The vendor's lines of each family of ``per_vendor``, in order."""
        vendor = shown.vendor
        labels = (vendor.id,)
        _, state = vendor_states(vendor, by_monitor(vendor, shown.views), shown.active)
        f = shown.month
        return tuple(
            text.encode()
            for text in (
                "".join(
                    _state_set(self.region, key, REGION_STATES, view)
                    for key, view in zip(series_keys(vendor), shown.views, strict=True)
                ),
                _state_set(self.vendor, labels, VENDOR_STATES, state),
                self.active.line(labels, 1.0 if shown.active else 0.0),
                "" if shown.next_start is None else self.next_start.line(labels, shown.next_start),
                self.availability.line(labels, f.availability),
                self.target.line(labels, f.target),
                self.total.line(labels, f.total),
                "".join(
                    self.downtime.line((vendor.id, kind), seconds)
                    for kind, seconds in zip(DOWNTIME_KINDS, f.downtime, strict=True)
                ),
                self.allowance.line(labels, f.allowance),
                self.remaining.line(labels, f.remaining),
                "" if f.currency is None else self.credit.line((vendor.id, f.currency), f.credit),
            )
        )

    def parts(
        self, vendors: Iterable[Shown], deadlines: dict[str, float] | None = None
    ) -> list[bytes]:
        """Every family's exposition showing ``vendors``, UTF-8, in parts to be joined, with
        the credit and the claim deadline families only given the ``deadlines`` (the end of
        each vendor's earliest open claim deadline, by vendor id: ``ClaimDeadlines.of``)."""
        rows = []
        for shown in vendors:
            share_the_interpreter()
            kept = self._kept.get(shown.vendor.id)
            if kept is None or kept[0] != shown:
                kept = self._kept[shown.vendor.id] = (shown, self._vendor_lines(shown))
            rows.append(kept[1])
        parts = []
        for i, family in enumerate(self.per_vendor):
            if deadlines is not None or family is not self.credit:
                parts.append(family.header.encode())
                parts.extend(row[i] for row in rows)
        if deadlines is not None:
            parts.append(self.deadline.text(((vendor,), at) for vendor, at in deadlines.items()))
        certificates = list(self.probes.certificates.items())
        parts.append(self.certificates.text((key, expires) for key, (_, expires) in certificates))
        return parts


class Metrics:
    """One app's metrics: the probe counts and the families read at scrape time."""

    def __init__(self, config: Config) -> None:
        self.probes = ProbeMetrics(config)
        self.families = LedgerFamilies(self.probes)
        self.deadlines = ClaimDeadlines()
        #: (region, agent) → results it could not spool, as its last batch said
        self.spool_dropped: dict[tuple[str, str], int] = {}
        self.dropped = Family(f"{NAMESPACE}_agent_spool_dropped_results_total", "", AGENT)
        self.dropped.header = header(
            self.dropped.name,
            "counter",
            "Results a remote agent probed but could not spool because its spool was full "
            "(agent --spool-max), as the agent last reported.",
        )

    def wanted(
        self, vendors: Sequence[Vendor], now: datetime, finance: bool = True
    ) -> list[tuple[Vendor, int, int]]:
        """The vendor-months a scrape at ``now`` shows: each vendor's current month first, in
        order, then with ``finance`` last month while its claims' ticket deadlines can be open
        (one computation, and one read of what changed, for both months)."""
        # Each zone's wall clock once: a district's vendors share a few zones.
        clocks = {zone: now.astimezone(zone) for zone in {v.timezone for v in vendors}}
        current = [(v, clocks[v.timezone].year, clocks[v.timezone].month) for v in vendors]
        earlier = [
            (v, y, m)
            for v, year, month in (current if finance else ())
            for y, m in self.deadlines.months(v, now, clocks[v.timezone].date())
            if (y, m) != (year, month)
        ]
        return current + earlier

    def expose(
        self, months: Months, states: RegionStates, now: datetime, finance: bool = True
    ) -> bytes:
        """The exposition at ``now`` (on the months' thread: it computes what it shows);
        the finance families only with ``finance`` (``LedgerFamilies.text``)."""
        config, _ = months.refresh()
        wanted = self.wanted(config.vendors, now, finance)
        made = months.made("metrics", metrics_month, wanted, now)
        deadlines = self.deadlines.of(months, wanted, made, now) if finance else None
        # Writing the lines allocates a great many objects that form no cycles (as a report
        # does). Not around ``made``: months computed for seconds would leave the whole
        # process, event loop included, that long without the collector.
        with without_cycle_collector():
            shown = []
            current = made[: len(config.vendors)]  # ``wanted`` begins with them, in order
            for vendor, (figures, _) in zip(config.vendors, current, strict=True):
                windows = upcoming_windows(vendor, now)
                starts = next_start(windows, now)
                shown.append(
                    Shown(
                        vendor=vendor,
                        views=tuple([states.get(k, NOT_REPORTED)[0] for k in series_keys(vendor)]),
                        active=bool(active_windows(windows, now)),
                        next_start=None if starts is None else starts.timestamp(),
                        month=figures,
                    )
                )
            dropped = self.dropped.text(sorted(self.spool_dropped.items()))
            # One join: each join of megabytes costs the page faults of a new buffer.
            return b"".join([*self.families.parts(shown, deadlines), *self.probes.parts(), dropped])


class ClaimDeadlines:
    """Each vendor's earliest open claim deadline (the end of its day, as a Unix time), kept
    while what it is read from stays the same: the vendor-months' contexts (the very objects
    ``Months`` keeps while their inputs hold), the audit trail (claim marks) and the vendor's
    date; and the months it is read from, kept for the vendor's date. Working out every
    vendor's claims again took 75 ms of each scrape of 1,000 vendors during a month's first
    week (two months each)."""

    def __init__(self) -> None:
        #: vendor id → (the vendor, its date, the months its claims can be open in)
        self._months: dict[str, tuple[Vendor, date, list[tuple[int, int]]]] = {}
        #: the last :meth:`of`: (the records, each zone's date, what was made, its answer)
        self._last: (
            tuple[Records, dict[ZoneInfo, date], Sequence[object], dict[str, float]] | None
        ) = None
        #: vendor id → (the contexts, the records, the vendor's date, the deadline's end)
        self._kept: dict[
            str, tuple[list[tuple[int, int, VendorContext]], Records, date, float | None]
        ] = {}

    def months(self, vendor: Vendor, now: datetime, today: date) -> list[tuple[int, int]]:
        """``claim_months(vendor, now)``, kept for the vendor's date ``today`` at ``now`` (it
        depends on nothing else: 11 ms a scrape of 1,000 vendors otherwise)."""
        kept = self._months.get(vendor.id)
        if kept is None or kept[0] is not vendor or kept[1] != today:
            kept = self._months[vendor.id] = (vendor, today, claim_months(vendor, now))
        return kept[2]

    def of(
        self,
        months: Months,
        wanted: Sequence[tuple[Vendor, int, int]],
        made: Sequence[tuple[MonthFigures, VendorContext]],
        now: datetime,
    ) -> dict[str, float]:
        """Each vendor's :meth:`end` at ``now`` that is not None, by vendor id, from the
        vendor-months ``wanted`` (its current month and :meth:`months`) and what ``Months``
        made of them (:func:`metrics_month`). The same as at the last scrape while every
        vendor-month is kept, the records and every zone's date the same: 12 ms for 1,000
        vendors otherwise."""
        records = months.records
        dates = {zone: now.astimezone(zone).date() for zone in {v.timezone for v, _, _ in wanted}}
        last = self._last
        if (
            last is not None
            and last[0] is records
            and last[1] == dates
            and len(last[2]) == len(made)
            and all(map(operator.is_, last[2], made))
        ):
            return last[3]
        claimed = {v.id for v, _, _ in wanted if may_claim(v.sla)}
        per_vendor = claim_inputs(
            months,
            (
                (vendor_month, context)
                for vendor_month, (_, context) in zip(wanted, made, strict=True)
                if vendor_month[0].id in claimed
            ),
        )
        found = {}
        for vendor in dict.fromkeys(v for v, _, _ in wanted):
            end = self.end(vendor, per_vendor.get(vendor.id, []), records, now)
            if end is not None:
                found[vendor.id] = end
        # ``made`` is held: its values' identities are compared, and an id is reused once its
        # object is freed.
        self._last = (records, dates, made, found)
        return found

    def end(
        self,
        vendor: Vendor,
        contexts: list[tuple[int, int, VendorContext]],
        records: Records,
        now: datetime,
    ) -> float | None:
        """The end of ``vendor``'s earliest open ticket deadline at ``now`` (None: none open),
        from its claims' ``contexts`` (``claim_inputs``)."""
        today = now.astimezone(vendor.timezone).date()
        kept = self._kept.get(vendor.id)
        if (
            kept is not None
            and kept[1] is records
            and kept[2] == today
            and len(kept[0]) == len(contexts)
            and all(a[:2] == b[:2] and a[2] is b[2] for a, b in zip(kept[0], contexts, strict=True))
        ):
            return kept[3]
        end = earliest_deadline(vendor, open_claims(vendor, contexts, records, now))
        found = None if end is None else end.timestamp()
        # The contexts are held, not their ids: an id is reused once its object is freed.
        self._kept[vendor.id] = (contexts, records, today, found)
        return found


METRICS = web.AppKey("metrics", Metrics)


async def get_metrics(request: web.Request) -> web.Response:
    """The exposition; the credit and claim deadline families only for the reader's or the
    admin's token (``uptime.web.access``)."""
    app = request.app
    finance = may_read_finance(request)
    now = datetime.now(UTC)
    states = await app[RECORDER].region_states(now)
    months = app[MONTHS]
    body = await months.run(app[METRICS].expose, months, states, now, finance)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_metrics(app: web.Application) -> None:
    """Serve ``GET /metrics`` on ``app`` and count what its recorder stores."""
    metrics = Metrics(app[CONFIG])
    app[METRICS] = metrics
    app[RECORDER].watchers.append(metrics.probes.watch)
    metrics.spool_dropped = app[RECORDER].spool_dropped
    app.router.add_get("/metrics", get_metrics)
