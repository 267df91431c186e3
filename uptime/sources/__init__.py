"""Where the engine's input comes from: one :class:`Source` protocol, one module per kind.

A source tells what was seen of some vendors over a period, as of ``now``, as one
:class:`credits.month.Observations` per vendor. ``probes`` reads our probes' state intervals,
``imported`` the outage history imported from other tools; a Prometheus-compatible store
becomes one more module beside them. Sources only read: each opens the database read-only on its
own connection.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from credits.intervals import Interval
from credits.month import Observations, merge_observations
from uptime.store.database import open_read_only
from uptime.store.states import News


class Revision(NamedTuple):
    """How far what a source saw of one vendor has got.

    ``tag`` is equal between two readings exactly when the source saw nothing new of the vendor
    in between; ``moving`` is true while what it saw depends on the time it is read (a state
    still open that is not up, or that is no longer trusted): then a reading is only true
    of its ``now``."""

    tag: Hashable
    moving: bool


#: The revision of a vendor a source saw nothing of.
NOTHING_YET = Revision((), False)


class Source(Protocol):
    """What one kind of source saw."""

    def observations(
        self, vendors: Collection[str], period: Interval, now: datetime
    ) -> dict[str, Observations]:
        """What was seen of each of ``vendors`` over ``period`` as of ``now``, by vendor id (a
        vendor the source saw nothing of may be left out)."""
        ...

    def revisions(
        self, vendors: Collection[str], now: datetime, before: datetime | None = None
    ) -> dict[str, Revision]:
        """Each of ``vendors``'s :class:`Revision` at ``now``, by vendor id (a vendor the
        source saw nothing of may be left out). Cheap: read on every page view and scrape to
        tell which computed months are still true. With ``before``, of what was seen before
        that instant only (an ended month's revision: what starts after it cannot move it);
        its tag changes only when the tag without ``before`` changes too (``Months`` reads an
        ended month's revision again only then)."""
        ...

    def close(self) -> None:
        """Release what the source holds (its database connection)."""
        ...


class DatabaseSource:
    """A source kept in the uptime-ledger database, read through a read-only connection of its
    own (:func:`uptime.store.database.open_read_only`: never created, never migrated here)."""

    def __init__(self, path: str | Path) -> None:
        self.db = open_read_only(path)

    def close(self) -> None:
        self.db.close()


def database_sources(path: str | Path, news: News | None = None) -> list[Source]:
    """The sources kept in an uptime-ledger database: our probes and imported outages. Given
    the news of the writer of its probes (``uptime.store.storage.Storage.news``: the database
    is written in this process), the probes' revisions are read only of vendors with news."""
    # Imported here: each module imports this one for the protocol.
    from uptime.sources.imported import ImportedSource
    from uptime.sources.probes import ProbeSource

    probes = ProbeSource(path, news)
    try:
        return [probes, ImportedSource(path)]
    except BaseException:
        probes.close()
        raise


def revisions(
    sources: Iterable[Source],
    vendors: Collection[str],
    now: datetime,
    before: datetime | None = None,
) -> dict[str, tuple[Revision, ...]]:
    """Every source's revision of each of ``vendors`` (of what was seen before ``before``,
    if given), by vendor id, in the sources' order."""
    each = [source.revisions(vendors, now, before) for source in sources]
    return {vendor: tuple(found.get(vendor, NOTHING_YET) for found in each) for vendor in vendors}


def observe(
    sources: Iterable[Source], vendors: Collection[str], period: Interval, now: datetime
) -> dict[str, Observations]:
    """Every source's observations of ``vendors``, merged per vendor (vendors nothing was seen
    of are left out)."""
    found: dict[str, list[Observations]] = {}
    for source in sources:
        for vendor, seen in source.observations(vendors, period, now).items():
            found.setdefault(vendor, []).append(seen)
    return {vendor: merge_observations(parts) for vendor, parts in found.items()}
