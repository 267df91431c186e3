"""Fault injection against ground truth: a script of faults, the truth it implies, and how a
measured month compares with it.

Pure: no clock, no I/O. A :class:`FaultScript` says, in seconds from the moment it starts (t0),
what each vendor's one monitor answers from each region (one of :data:`EXPECTED_CLASS`, played
by :mod:`uptime.demo.simulator`) and when a region's own network is down (a :class:`Blind`
spell: its canary and every vendor unreachable from it). From it follow:

* an **incident** per fault seen from every region: exactly one interruption must be measured,
  its start and end within the tolerance (one interval plus the timeout) of the fault's;
* a **regional fault** (fewer regions than the quorum ``all``): that region's own view is down
  within the tolerance, an advisory, and no interruption overlaps it;
* a **blind** region: never down while blind, unknown for part of it, and named by no
  interruption measured meanwhile;
* ``slow``: up throughout (degraded results, no interruption).

:func:`compare` checks a measured run (the report's interruptions, the database's region views)
against those and gives the error of every incident in seconds (measured − injected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from credits.intervals import Interval
from probes.result import FailureClass

#: The failure class each answer must be recorded with (None: the probe succeeds).
EXPECTED_CLASS: dict[str, FailureClass | None] = {
    "up": None,
    "slow": None,
    "down": FailureClass.STATUS,
    "error": FailureClass.STATUS,
    "wrong_body": FailureClass.BODY,
    "redirect_loop": FailureClass.STATUS,
    "hang": FailureClass.TIMEOUT,
    "refused": FailureClass.CONNECT,
    "dns": FailureClass.DNS,
    "tls_expired": FailureClass.TLS,
    "tls_wrong_host": FailureClass.TLS,
}

#: Words the evidence of each failing answer must hold (the fault the probe met, not another).
EXPECTED_MESSAGE = {
    "down": "HTTP 503",
    "error": "HTTP 500",
    "wrong_body": "body lacks",
    "redirect_loop": "too many redirects",
    "hang": "timed out",
    "refused": "refused",
    "dns": "cannot resolve",
    "tls_expired": "expired",
    "tls_wrong_host": "mismatch",
}


@dataclass(frozen=True)
class Fault:
    """``vendor``'s monitor answers ``answer`` over [start, end) seconds from t0, seen from
    ``regions`` (empty: every region)."""

    vendor: str
    answer: str
    start: float
    end: float
    regions: frozenset[str] = frozenset()

    @property
    def failing(self) -> bool:
        return EXPECTED_CLASS[self.answer] is not None


@dataclass(frozen=True)
class Blind:
    """``region``'s own network is down over [start, end): nothing answers it, its canary
    included."""

    region: str
    start: float
    end: float


@dataclass(frozen=True)
class FaultScript:
    """Every vendor's faults and every region's blind spells, ``length`` seconds in all."""

    vendors: tuple[str, ...]
    regions: tuple[str, ...]
    faults: tuple[Fault, ...]
    blind: tuple[Blind, ...] = ()
    length: float = 0.0

    def __post_init__(self) -> None:
        for fault in self.faults:
            if fault.vendor not in self.vendors or fault.answer not in EXPECTED_CLASS:
                raise ValueError(f"unknown vendor or answer in {fault}")
            others = [f for f in self.faults if f.vendor == fault.vendor and f is not fault]
            if any(_overlap(fault, f) and _shared(fault, f) for f in others):
                raise ValueError(f"{fault} overlaps another fault of its vendor")

    @property
    def regional(self) -> bool:
        """Does any fault or blind spell depend on the region (so each region's requests must
        say which region they come from)?"""
        return bool(self.blind) or any(f.regions for f in self.faults)

    def answer(self, vendor: str, region: str | None, offset: float) -> str:
        """What ``vendor``'s monitor answers ``region`` (None: a request that does not say)
        ``offset`` seconds after t0."""
        if region is not None and self.is_blind(region, offset):
            return "refused"
        for fault in self.faults:
            if (
                fault.vendor == vendor
                and fault.start <= offset < fault.end
                and (not fault.regions or region in fault.regions)
            ):
                return fault.answer
        return "up"

    def canary(self, region: str, offset: float) -> str:
        """What ``region``'s canary answers it ``offset`` seconds after t0."""
        return "refused" if self.is_blind(region, offset) else "up"

    def is_blind(self, region: str, offset: float) -> bool:
        return any(b.region == region and b.start <= offset < b.end for b in self.blind)

    def incidents(self) -> list[Fault]:
        """The failing faults every region sees: each must be one interruption."""
        return [f for f in self.faults if f.failing and not f.regions]

    def regional_faults(self) -> list[Fault]:
        return [f for f in self.faults if f.failing and f.regions]


def _overlap(a: Fault, b: Fault) -> bool:
    return a.start < b.end and b.start < a.end


def _shared(a: Fault, b: Fault) -> bool:
    return not a.regions or not b.regions or bool(a.regions & b.regions)


@dataclass(frozen=True)
class Measured:
    """What a run recorded: each vendor's interruptions (the report), each vendor's region views
    (the database's state intervals: down and unknown per region), and the failure class and
    message of each failed result per vendor with its time."""

    interruptions: Mapping[str, Sequence[tuple[Interval, tuple[str, ...]]]]
    down: Mapping[str, Mapping[str, Sequence[Interval]]]
    unknown: Mapping[str, Mapping[str, Sequence[Interval]]]
    failures: Mapping[str, Sequence[tuple[datetime, str, str]]] = field(default_factory=dict)
    degraded: Mapping[str, Sequence[datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentError:
    """One incident: injected and measured, and the error of each end in seconds (measured −
    injected; None when it was missed or split)."""

    vendor: str
    answer: str
    injected: Interval
    measured: tuple[Interval, ...]

    @property
    def start_error(self) -> float | None:
        if len(self.measured) != 1:
            return None
        return (self.measured[0].start - self.injected.start).total_seconds()

    @property
    def end_error(self) -> float | None:
        if len(self.measured) != 1:
            return None
        return (self.measured[0].end - self.injected.end).total_seconds()


@dataclass
class Comparison:
    """Every check of a run against its script: ``problems`` empty means it held."""

    incidents: list[IncidentError] = field(default_factory=list)
    regional: list[IncidentError] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    false_interruptions: int = 0

    @property
    def missed(self) -> int:
        return sum(1 for i in self.incidents if not i.measured)

    @property
    def split(self) -> int:
        return sum(1 for i in self.incidents if len(i.measured) > 1)

    def worst(self, which: str) -> float:
        """The largest error in seconds (absolute) of ``which`` end, ``start`` or ``end``."""
        errors = [getattr(i, f"{which}_error") for i in self.incidents + self.regional]
        return max((abs(e) for e in errors if e is not None), default=0.0)


def compare(
    script: FaultScript,
    t0: datetime,
    measured: Measured,
    tolerances: Mapping[str, timedelta],
    *,
    early: timedelta = timedelta(0),
) -> Comparison:
    """Check ``measured`` against ``script`` started at ``t0``: every incident one interruption
    within its vendor's ``tolerances`` at each end, and never more than ``early`` before the
    truth (a probe is dated when it starts; it meets the vendor as it is when its request
    arrives, up to its timeout later: pass the timeout),
    regional faults as advisories only, blind regions never down, failures of the expected
    class."""

    def span(start: float, end: float) -> Interval:
        return Interval(t0 + timedelta(seconds=start), t0 + timedelta(seconds=end))

    out = Comparison()
    incidents = script.incidents()
    truths = [span(f.start, f.end) for f in incidents]
    assigned: dict[int, list[Interval]] = {n: [] for n in range(len(incidents))}
    for vendor, found in measured.interruptions.items():
        for interval, regions in found:
            n = _nearest(interval, vendor, incidents, truths, tolerances)
            if n is None:
                out.false_interruptions += 1
                out.problems.append(f"{vendor}: false interruption {interval} ({regions})")
            else:
                assigned[n].append(interval)
    for n, fault in enumerate(incidents):
        got = tuple(sorted(assigned[n]))
        out.incidents.append(IncidentError(fault.vendor, fault.answer, truths[n], got))
        if not got:
            out.problems.append(f"{fault}: missed, no interruption")
        elif len(got) > 1:
            out.problems.append(f"{fault}: split into {len(got)} interruptions {got}")
        else:
            _within(out, f"{fault}", got[0], truths[n], tolerances[fault.vendor], early)
    for fault in script.regional_faults():
        tolerance = tolerances[fault.vendor]
        truth = span(fault.start, fault.end)
        reach = Interval(truth.start - tolerance, truth.end + tolerance)
        for region in sorted(fault.regions):
            seen = tuple(
                i for i in measured.down.get(fault.vendor, {}).get(region, ()) if i.overlaps(reach)
            )
            error = IncidentError(fault.vendor, f"{fault.answer}@{region}", truth, seen)
            out.regional.append(error)
            if len(seen) != 1:
                out.problems.append(f"{fault}: {region} saw it down as {seen}")
            else:
                _within(out, f"{fault} ({region})", seen[0], truth, tolerance, early)
        # An advisory only: it made no interruption (those overlapping it are counted false).
    for blind in script.blind:
        truth = span(blind.start, blind.end)
        for vendor in script.vendors:
            seen = measured.down.get(vendor, {}).get(blind.region, ())
            down = [i for i in seen if i.overlaps(truth)]
            if down:
                out.problems.append(f"{blind}: {vendor} down while blind {down}")
            for interval, regions in measured.interruptions.get(vendor, ()):
                if interval.overlaps(truth) and blind.region in regions:
                    out.problems.append(f"{blind}: {vendor}'s interruption {interval} names it")
            unknown = measured.unknown.get(vendor, {}).get(blind.region, ())
            if not any(i.overlaps(truth) for i in unknown):
                out.problems.append(f"{blind}: {vendor} never unknown while blind")
    _failure_classes(out, script, t0, measured, early)
    return out


def _nearest(
    interval: Interval,
    vendor: str,
    incidents: Sequence[Fault],
    truths: Sequence[Interval],
    tolerances: Mapping[str, timedelta],
) -> int | None:
    """The injected incident of ``vendor`` a measured ``interval`` stands for: among those it
    comes within the tolerance of, the one it overlaps most (else the one whose start is
    nearest); None if it comes near none (a false interruption)."""
    best: tuple[timedelta, timedelta, int] | None = None
    for n, (fault, truth) in enumerate(zip(incidents, truths, strict=True)):
        tolerance = tolerances[vendor]
        if fault.vendor != vendor or not interval.overlaps(
            Interval(truth.start - tolerance, truth.end + tolerance)
        ):
            continue
        shared = min(interval.end, truth.end) - max(interval.start, truth.start)
        key = (-max(shared, timedelta(0)), abs(interval.start - truth.start), n)
        best = key if best is None or key < best else best
    return None if best is None else best[2]


def _within(
    out: Comparison,
    what: str,
    found: Interval,
    truth: Interval,
    tolerance: timedelta,
    early: timedelta,
) -> None:
    for end, got, real in (("start", found.start, truth.start), ("end", found.end, truth.end)):
        if not real - early <= got <= real + tolerance:
            out.problems.append(
                f"{what}: measured {end} {got.isoformat()} is "
                f"{(got - real).total_seconds():+.3f}s from the injected {real.isoformat()}"
            )


def _failure_classes(
    out: Comparison, script: FaultScript, t0: datetime, measured: Measured, early: timedelta
) -> None:
    """Each failing fault's failed results include its class and evidence (the probe met that
    fault, not another); the others are timeouts at most (on a loaded machine a redirect loop
    can outlast the timeout). ``slow`` gives degraded results."""
    for fault in script.faults:
        start = t0 + timedelta(seconds=fault.start)
        end = t0 + timedelta(seconds=fault.end)
        if fault.answer == "slow":
            if not any(start <= at < end for at in measured.degraded.get(fault.vendor, ())):
                out.problems.append(f"{fault}: no degraded result")
            continue
        expected = EXPECTED_CLASS[fault.answer]
        if expected is None:
            continue
        inside = [
            (error, message)
            for at, error, message in measured.failures.get(fault.vendor, ())
            if start - early <= at < end
        ]
        if not any(
            error == expected and EXPECTED_MESSAGE[fault.answer] in message
            for error, message in inside
        ):
            out.problems.append(f"{fault}: no {expected} failure recorded, only {inside}")
        others = {(e, m) for e, m in inside if e not in (expected, FailureClass.TIMEOUT)}
        if others:
            out.problems.append(f"{fault}: recorded {sorted(others)}, not {expected}")


REGIONS = ("chicago", "california", "atlanta")

#: Every failing answer every region can see.
GLOBAL_FAULTS = (
    "refused",
    "hang",
    "error",
    "down",
    "wrong_body",
    "redirect_loop",
    "tls_expired",
    "tls_wrong_host",
    "dns",
)

#: The vendors of the regional faults: what one region alone sees (an advisory).
REGIONAL = {"regional-503": ("down", "atlanta"), "regional-refused": ("refused", "chicago")}

#: The region whose network goes down, and the vendor that is down for everyone meanwhile.
BLIND_REGION, DOWN_WHILE_BLIND = "chicago", "down"


def fault_script(topology: str, lengths: Sequence[float] = (3.0,), gap: float = 2.0) -> FaultScript:
    """One round per entry of ``lengths``, each fault of the round lasting that many seconds,
    ``gap`` seconds of up between rounds. In a round every fault of :data:`GLOBAL_FAULTS` is
    played at once, each by its own vendor (named after it), every region seeing it; vendor
    ``slow`` answers slowly (degraded, not down). For topology ``agents`` a round also holds
    the :data:`REGIONAL` faults, then :data:`BLIND_REGION`'s network goes down for 9 s, vendor
    :data:`DOWN_WHILE_BLIND` down for everyone in the middle of it.
    """
    faults: list[Fault] = []
    blind: list[Blind] = []
    start = 0.0
    for length in lengths:
        faults += [Fault(answer, answer, start, start + length) for answer in GLOBAL_FAULTS]
        faults.append(Fault("slow", "slow", start, start + max(length, 4.0)))
        end = start + max(length, 4.0)
        if topology == "agents":
            for vendor, (answer, region) in REGIONAL.items():
                faults.append(Fault(vendor, answer, start, start + length, frozenset({region})))
            # The region's state is trusted until stale (3.5 s here) before it turns unknown;
            # the outage starts after that, so the other two regions make the quorum alone.
            begin = end + gap
            blind.append(Blind(BLIND_REGION, begin, begin + 9.0))
            outage = min(length, 4.0)
            faults.append(Fault(DOWN_WHILE_BLIND, "down", begin + 4.5, begin + 4.5 + outage))
            end = begin + 9.0
        start = end + gap
    vendors = (*GLOBAL_FAULTS, "slow", *(REGIONAL if topology == "agents" else ()))
    return FaultScript(vendors, REGIONS, tuple(faults), tuple(blind), length=start - gap)
