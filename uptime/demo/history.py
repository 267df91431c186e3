"""The demo's past: its timeline's answers over the last days, stored through the same
``Storage.record_results`` every agent's batch goes through.

Results are written every ``STEP`` of simulated time and at every instant the script changes
an answer, so the state intervals are exactly the script's; each is trusted for two steps, as
if an agent had probed that often. A key already in the database is continued from its last
result (a second start on the same database adds the time since, never the same time twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from credits.intervals import EARLIEST, Interval
from probes.result import FailureClass, ProbeResult, ProbeTarget, outcome
from uptime.config import Config
from uptime.demo.simulator import SLOW
from uptime.demo.timeline import Key, Timeline
from uptime.probing.jobs import monitor_target
from uptime.store.storage import Storage

#: Simulated time between two results of a key in the history.
STEP = timedelta(minutes=30)

#: Results stored per transaction.
BATCH = 20_000

#: The agent the history is stored as coming from.
HISTORY_AGENT = "demo-history"


def history_results(
    targets: Mapping[tuple[str, str], ProbeTarget], timeline: Timeline, spans: dict[Key, Interval]
) -> list[ProbeResult]:
    """Every key's results over its span, in time order: one at the span's start and at each
    instant its answer changes, and one every ``STEP`` between (on multiples of it since the
    epoch); ``targets`` are the
    probe targets by (vendor, monitor)."""
    results = []
    for key, span in spans.items():
        vendor, monitor, region = key
        target = targets[vendor, monitor]
        for part, answer in timeline.segments(key, span):
            for at in (part.start, *_grid(part)):
                if answer == "down":
                    result = outcome(
                        target, region, at, 0.002, FailureClass.STATUS, "HTTP 503", status=503
                    )
                else:
                    latency = SLOW if answer == "slow" else 0.03 + (at.minute % 7) / 100
                    result = outcome(target, region, at, latency, None, None, status=200)
                results.append(result)
    results.sort(key=lambda r: r.at)
    return results


def _grid(span: Interval) -> Iterator[datetime]:
    """The multiples of ``STEP`` since the epoch inside ``span``, after its start."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    at = epoch + ((span.start - epoch) // STEP + 1) * STEP
    while at < span.end:
        yield at
        at += STEP


def write_history(
    db: Path, config: Config, timeline: Timeline, now: datetime, days: timedelta
) -> int:
    """Store the last ``days`` up to ``now`` of every (vendor, monitor, region) in ``config``
    that the database has no later result of; returns how many results were stored."""
    storage = Storage(db)
    try:
        spans, last = {}, {}
        for vendor in config.vendors:
            for monitor in vendor.monitors:
                for region in monitor.regions:
                    key = (vendor.id, monitor.id, region)
                    seen = storage.tracker.open.get(key)
                    start = now - days
                    if seen is not None:
                        last[key] = seen.last_seen
                        start = max(start, seen.last_seen)
                    if start < now:
                        spans[key] = Interval(start, now)
        targets = {
            (v.id, m.id): monitor_target(v.id, m) for v in config.vendors for m in v.monitors
        }
        results = [
            r
            for r in history_results(targets, timeline, spans)
            if r.at > last.get((r.vendor, r.monitor, r.region), EARLIEST)
        ]
        trusted = {(v.id, m.id): 2 * STEP for v in config.vendors for m in v.monitors}
        for first in range(0, len(results), BATCH):
            storage.record_results(results[first : first + BATCH], trusted, HISTORY_AGENT)
        return len(results)
    finally:
        storage.close()
