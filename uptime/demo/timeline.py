"""A scripted timeline: what each simulated endpoint answers from each region at any instant.

Pure: no clock, no I/O. A :class:`Timeline` holds, per (vendor, monitor), a few *patterns*; a
pattern gives the :class:`Spell` s (an answer over an interval, seen from some regions or all)
that overlap any span asked for, so a timeline covers the past (the history written at start)
and the future (the live probes) alike, however long the demo runs. Outside every spell an
endpoint answers ``up``; where spells overlap, ``down`` wins over ``slow``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from credits.intervals import MICROSECOND, Interval
from credits.model import MaintenanceWindow

Answer = Literal["up", "down", "slow"]
Key = tuple[str, str, str]  # vendor, monitor, region

#: Which answer shows where spells overlap.
_PRECEDENCE: dict[Answer, int] = {"up": 0, "slow": 1, "down": 2}


@dataclass(frozen=True)
class Spell:
    """``answer`` over ``interval``, seen from ``regions`` (empty: from every region)."""

    answer: Answer
    interval: Interval
    regions: frozenset[str] = frozenset()

    def seen_from(self, region: str) -> bool:
        return not self.regions or region in self.regions


#: The spells of one endpoint that overlap a span.
Pattern = Callable[[Interval], Iterable[Spell]]


def once(answer: Answer, interval: Interval, regions: Iterable[str] = ()) -> Pattern:
    """One spell."""
    spell = Spell(answer, interval, frozenset(regions))
    return lambda span: [spell] if spell.interval.overlaps(span) else []


def every(
    answer: Answer,
    period: timedelta,
    length: timedelta,
    *,
    since: datetime,
    regions: Iterable[str] = (),
) -> Pattern:
    """``answer`` for ``length`` at the start of every ``period`` from ``since`` on (a service
    that flaps)."""
    seen = frozenset(regions)

    def spells(span: Interval) -> Iterator[Spell]:
        first = max(0, (span.start - since) // period)
        start = since + first * period
        while start < span.end:
            spell = Spell(answer, Interval(start, start + length), seen)
            if spell.interval.overlaps(span):
                yield spell
            start += period

    return spells


def monthly(
    answer: Answer,
    day: int,
    at: time,
    length: timedelta,
    zone: ZoneInfo,
    regions: Iterable[str] = (),
) -> Pattern:
    """``answer`` for ``length`` (elapsed time) from ``at`` (wall clock in ``zone``) on ``day``
    (1 to 28) of every month: a vendor's bad day."""
    seen = frozenset(regions)

    def spells(span: Interval) -> Iterator[Spell]:
        local = span.start.astimezone(zone)
        year, month = local.year, local.month - 1  # the month before: a spell may reach into span
        if month == 0:
            year, month = year - 1, 12
        while True:
            start = datetime.combine(date(year, month, day), at, tzinfo=zone).astimezone(UTC)
            if start >= span.end:
                return
            spell = Spell(answer, Interval(start, start + length), seen)
            if spell.interval.overlaps(span):
                yield spell
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    return spells


def during(
    windows: Callable[[Interval], Iterable[MaintenanceWindow]],
    overrun: timedelta = timedelta(0),
) -> Pattern:
    """Down through each of the vendor's maintenance ``windows`` and for ``overrun`` past its
    end (the work took longer than announced)."""

    def spells(span: Interval) -> Iterator[Spell]:
        reach = Interval(span.start - overrun, span.end)
        for window in windows(reach):
            spell = Spell("down", Interval(window.interval.start, window.interval.end + overrun))
            if spell.interval.overlaps(span):
                yield spell

    return spells


class Timeline:
    """Every scripted endpoint's answers: ``patterns`` per (vendor, monitor); an endpoint not
    in it is always up."""

    def __init__(self, patterns: Mapping[tuple[str, str], Sequence[Pattern]]) -> None:
        self.patterns = {key: tuple(found) for key, found in patterns.items()}

    def spells(self, key: Key, span: Interval) -> list[Spell]:
        """The spells of ``key``'s endpoint, seen from its region, that overlap ``span``."""
        vendor, monitor, region = key
        return [
            spell
            for pattern in self.patterns.get((vendor, monitor), ())
            for spell in pattern(span)
            if spell.seen_from(region)
        ]

    def answer(self, key: Key, at: datetime) -> Answer:
        """What ``key``'s endpoint answers its region at ``at``."""
        [(_, answer)] = self.segments(key, Interval(at, at + MICROSECOND))
        return answer

    def segments(self, key: Key, span: Interval) -> list[tuple[Interval, Answer]]:
        """``key``'s answers over ``span``: consecutive intervals covering it, each with the
        one answer given throughout."""
        spells = self.spells(key, span)
        edges = sorted(
            {span.start, span.end}
            | {edge for s in spells for edge in s.interval if span.start < edge < span.end}
        )
        out: list[tuple[Interval, Answer]] = []
        for start, end in itertools.pairwise(edges):
            answer = max(
                (s.answer for s in spells if s.interval.start <= start < s.interval.end),
                key=_PRECEDENCE.__getitem__,
                default="up",
            )
            if out and out[-1][1] == answer:
                out[-1] = (Interval(out[-1][0].start, end), answer)
            else:
                out.append((Interval(start, end), answer))
        return out
