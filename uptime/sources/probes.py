"""Our probes as a source: each region's state intervals, open states and first results, read
from the database (written by ``uptime.store``) through a read-only connection of its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

from credits.intervals import Interval
from credits.month import Observations
from uptime.sources import DatabaseSource, Revision
from uptime.store.database import (
    from_db_micros,
    from_db_time,
    text_as_micros,
    to_db_time,
    vendor_filter,
)
from uptime.store.states import News, OpenState, open_as_intervals


class ProbeSource(DatabaseSource):
    """What our probe sites saw (see :class:`uptime.sources.Source`)."""

    def __init__(self, path: str | Path, news: News | None = None) -> None:
        super().__init__(path)
        self.news = news
        #: vendor id → (its ``news`` count before it was read, its revision (None: nothing
        #: seen), when to read it again without news (None: only with news))
        self._latest: dict[str, tuple[int, Revision | None, datetime | None]] = {}

    def observations(
        self, vendors: Collection[str], period: Interval, now: datetime
    ) -> dict[str, Observations]:
        """Where each region saw each monitor of ``vendors`` down and where it was blind,
        overlapping ``period``, with each region's first result. A state still open is read as
        of ``now``: trusted until stale, unknown after."""
        only, parameters = vendor_filter(vendors)
        found: dict[tuple[str, str, str, str], list[Interval]] = defaultdict(list)
        # One row per (vendor, monitor, region), its intervals as "state start end ..." text:
        # a month of a thousand vendors is ~100,000 intervals, and a Python row for each
        # (six new strings) would cost more than the intervals themselves.
        rows = self.db.execute(
            "select vendor, monitor, region, group_concat(state || ' ' || start || ' ' || "
            "\"end\", ' ') from state_intervals "
            f"where state != 'up' and \"end\" > ? and start < ?{only} "
            "group by vendor, monitor, region",
            [to_db_time(period.start), to_db_time(period.end), *parameters],
        )
        parse = datetime.fromisoformat
        for vendor, monitor, region, text in rows:
            words = iter(text.split(" "))
            for state, start, end in zip(words, words, words, strict=True):
                found[state, vendor, monitor, region].append(Interval(parse(start), parse(end)))
        rows = self.db.execute(
            "select vendor, monitor, region, state, start, last_seen, stale_after_s "
            f"from open_states where true{only}",
            parameters,
        )
        for vendor, monitor, region, state, start, last_seen, stale in rows:
            current = OpenState(
                state, from_db_time(start), from_db_time(last_seen), timedelta(seconds=stale)
            )
            for seen, interval in open_as_intervals(current, now):
                if seen != "up" and interval.overlaps(period):
                    found[seen, vendor, monitor, region].append(interval)
        down: dict[str, dict[str, dict[str, list[Interval]]]] = {}
        unknown: dict[str, dict[str, dict[str, list[Interval]]]] = {}
        for (state, vendor, monitor, region), intervals in found.items():
            target = down if state == "down" else unknown
            target.setdefault(vendor, {}).setdefault(monitor, {})[region] = intervals
        first: dict[str, dict[str, dict[str, datetime]]] = {}
        rows = self.db.execute(
            f"select vendor, monitor, region, at from first_seen where true{only}", parameters
        )
        for vendor, monitor, region, at in rows:
            first.setdefault(vendor, {}).setdefault(monitor, {})[region] = from_db_time(at)
        return {
            vendor: Observations(
                down=down.get(vendor, {}),
                unknown=unknown.get(vendor, {}),
                first_results=first.get(vendor, {}),
            )
            for vendor in dict.fromkeys([*down, *unknown, *first])
        }

    def revisions(
        self, vendors: Collection[str], now: datetime, before: datetime | None = None
    ) -> dict[str, Revision]:
        """A vendor's probes saw something new when one of its regions changed state or
        reported for the first time, or a state went stale or was seen again while stale (a
        replayed spool fills the gap). They are moving while a state is open that is not up
        or is stale. With ``before``, only states and first results that started before it
        count (stale as of ``before``), and nothing moves: closed intervals change only when
        an open state ends, so a month that ended at ``before`` changes only with the states
        open since before its end.

        Given the writer's ``news`` (``uptime.store.storage.Storage.news``: the source reads a
        database written in this process), a vendor's revision is read again only when it has
        news, is moving, or one of its states has gone stale since: reading every vendor's
        took 20 ms of each scrape of 1,000 vendors."""
        if self.news is None or before is not None:
            return self._read(vendors, now, before)[0]
        news, latest = self.news.of, self._latest
        out: dict[str, Revision] = {}
        again = []
        for vendor in vendors:
            kept = latest.get(vendor)
            if kept is None or kept[0] != news.get(vendor, 0) or (kept[2] and now >= kept[2]):
                again.append(vendor)
            elif kept[1] is not None:
                out[vendor] = kept[1]
        if again:
            # Counted before the read: news committed meanwhile is read again next time.
            counts = [news.get(vendor, 0) for vendor in again]
            found, stale_at = self._read(again, now, None)
            for vendor, count in zip(again, counts, strict=True):
                revision = found.get(vendor)
                if revision is not None:
                    out[vendor] = revision
                until = now if revision and revision.moving else stale_at.get(vendor)
                latest[vendor] = (count, revision, until)
        return out

    def _read(
        self, vendors: Collection[str], now: datetime, before: datetime | None
    ) -> tuple[dict[str, Revision], dict[str, datetime]]:
        """Each vendor's revision as read from the database, and when its first open state
        goes stale."""
        only, parameters = vendor_filter(vendors)
        until = "" if before is None else " and start < ?"
        bound = [] if before is None else [to_db_time(before)]
        # Numbers, not the states themselves: this runs on every page view and scrape. A
        # transition moves its open state's start (the sum of the starts, in whole
        # milliseconds, is exact) and changes its state (counted by kind, so that a
        # transition at the very millisecond of the last one still shows); a first result
        # adds a row to first_seen. The states stale at ``now`` (or already at ``before``)
        # count too, with their last results: a replayed spool can fill a stale state's gap
        # without a new state, moving only its last result.
        stale = "julianday(last_seen) + stale_after_s / 86400.0 < julianday(?)"
        last_seen = text_as_micros("last_seen")
        found: dict[str, list[object]] = {}
        stale_at: dict[str, datetime] = {}
        rows = self.db.execute(
            "select vendor, count(*), "
            "sum(cast(round((julianday(start) - 2440587.5) * 86400000) as integer)), "
            f"sum((state = 'down') + 2 * (state = 'unknown')), max(state != 'up' or {stale}), "
            f"sum({stale}), sum(case when {stale} then {last_seen} else 0 end), "
            f"min({last_seen} + cast(stale_after_s * 1000000 as integer)) "
            f"from open_states where true{only}{until} group by vendor",
            [*[to_db_time(now if before is None else min(now, before))] * 3, *parameters, *bound],
        )
        for vendor, count, starts, states, moving, stales, stale_seen, stale_micros in rows:
            # Of an ended month nothing moves with the clock any more: what can still change
            # in it (a gap before its end filled) changes its tag.
            moves = bool(moving) and before is None
            found[vendor] = [(count, starts, states, stales, stale_seen), 0, moves]
            stale_at[vendor] = from_db_micros(stale_micros)
        rows = self.db.execute(
            f"select vendor, count(*) from first_seen where true{only}"
            f"{until.replace('start', 'at')} group by vendor",
            [*parameters, *bound],
        )
        for vendor, firsts in rows:
            found.setdefault(vendor, [None, 0, False])[1] = firsts
        revisions = {
            vendor: Revision((states, firsts), moving)
            for vendor, (states, firsts, moving) in found.items()
        }
        return revisions, stale_at
