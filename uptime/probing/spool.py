"""The agent spool: an SQLite file of numbered batches not yet acknowledged by the collector."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uptime.errors import UsageError
from uptime.store.database import open_database, refusing_unusable

#: Most results one replay POST carries (consecutive spooled batches are merged up to this).
MAX_POST = 5000

#: The spool's size cap by default (``agent --spool-max``): at 300 bytes a result, about
#: 1.7 million results, a day and more of a large region's probes.
DEFAULT_SPOOL_MAX = 500_000_000
#: The smallest and largest caps accepted.
SPOOL_MAX_RANGE = (100_000, 1_000_000_000_000)

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def size_text(size: int) -> str:
    """``size`` bytes as :func:`parse_size` reads it, in the largest unit that divides it:
    ``500MB``, ``1TB``, ``800KiB``, ``1234B``."""
    for unit in ("TB", "GB", "MB", "KB", "TIB", "GIB", "MIB", "KIB"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit.replace('I', 'i')}"
    return f"{size}B"


def parse_size(text: str) -> int:
    """``500MB``, ``2GB``, ``800KiB``, ``1000000`` → bytes (KB, MB, GB, TB are powers of 1000;
    KiB, MiB, GiB, TiB of 1024), within :data:`SPOOL_MAX_RANGE`; else ValueError saying so."""
    found = re.fullmatch(r"\s*(\d{1,15})\s*([A-Za-z]*)\s*", text)
    unit = found[2].upper() if found else ""
    if found is None or unit not in _UNITS:
        raise ValueError(
            f"{text!r} is not a size; write a whole number with B, KB, MB, GB or TB "
            f"(or KiB, MiB, GiB, TiB), e.g. {size_text(DEFAULT_SPOOL_MAX)}"
        )
    size = int(found[1]) * _UNITS[unit]
    low, high = SPOOL_MAX_RANGE
    if not low <= size <= high:
        raise ValueError(
            f"{text!r} is {size} bytes; expected from {size_text(low)} to {size_text(high)}"
        )
    return size


#: The tables of a spool file, and the only ones it may hold.
SPOOL_TABLES = frozenset({"meta", "batches"})


def default_spool(region: str) -> Path:
    return Path(f"uptime-agent-{region}.spool.db")


class Spool:
    """Batches not yet acknowledged, in a local SQLite file; use from one thread.

    The data it holds is capped at ``max_bytes``: once there, a new batch is not spooled (the
    oldest results are kept, they are what the collector misses first) and is counted in
    :attr:`dropped`, kept in the file, which the agent reports to the collector."""

    def __init__(self, path: str | Path, region: str, max_bytes: int = DEFAULT_SPOOL_MAX) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        with refusing_unusable(path, "the agent's spool"):
            self.db = open_database(self.path)
            self.db.execute("PRAGMA synchronous = NORMAL")
            meta = self._meta(region)
        if meta["region"] != region:
            self.db.close()
            raise UsageError(
                f"{self.path} is the spool of region {meta['region']!r}, not {region!r}; "
                "give each region's agent its own --spool file"
            )
        self.agent_id: str = meta["agent_id"]
        self.next_seq = int(meta["next_seq"])
        self.dropped = int(meta.get("dropped", "0"))
        self.page_size = int(self.db.execute("pragma page_size").fetchone()[0])

    def _meta(self, region: str) -> dict[str, str]:
        others = set(self.db.table_names()) - SPOOL_TABLES
        if others:
            self.db.close()
            raise UsageError(
                f"{self.path} is not an agent's spool: it holds the tables "
                f"{', '.join(sorted(others))} (is it the uptime-ledger database?); give the "
                "agent a file of its own with --spool"
            )
        with self.db.atomic():
            if "meta" not in self.db.table_names():
                self.db["meta"].create({"key": str, "value": str}, pk="key")
                self.db["batches"].create(
                    {"first_seq": int, "count": int, "results": str, "spooled_at": str},
                    pk="first_seq",
                )
            meta = {row["key"]: row["value"] for row in self.db["meta"].rows}
            if "agent_id" not in meta:
                meta = {
                    "agent_id": f"{region}-{secrets.token_hex(6)}",
                    "region": region,
                    "next_seq": "1",
                }
                self.db["meta"].insert_all(
                    [{"key": k, "value": v} for k, v in meta.items()], replace=True
                )
        return meta

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def size(self) -> int:
        """Bytes of data held: the file's pages less the free ones (deleting acknowledged
        batches frees pages for new ones; the file itself does not shrink)."""
        pages = self.db.execute("pragma page_count").fetchone()[0]
        free = self.db.execute("pragma freelist_count").fetchone()[0]
        return (pages - free) * self.page_size

    def full(self) -> bool:
        return self.size() >= self.max_bytes

    def append(self, results: list[dict[str, Any]]) -> int | None:
        """Spool a batch under the next sequence numbers; returns its first sequence number,
        or None when the spool is full (the batch is counted in :attr:`dropped` instead)."""
        if self.full():
            with self.db.atomic():
                self.db.execute(
                    "insert into meta (key, value) values ('dropped', ?) "
                    "on conflict (key) do update set value = excluded.value",
                    [str(self.dropped + len(results))],
                )
            self.dropped += len(results)
            return None
        first = self.next_seq
        with self.db.atomic():
            self.db.execute(
                "insert into batches (first_seq, count, results, spooled_at) values (?, ?, ?, ?)",
                [
                    first,
                    len(results),
                    json.dumps(results, separators=(",", ":")),
                    datetime.now(UTC).isoformat(),
                ],
            )
            self.db.execute(
                "update meta set value = ? where key = 'next_seq'", [str(first + len(results))]
            )
        self.next_seq = first + len(results)
        return first

    def oldest(self, limit: int = MAX_POST) -> tuple[int, int, str] | None:
        """The oldest spooled results, consecutive batches merged up to ``limit`` results:
        (first sequence number, count, JSON array text), or None when the spool is empty."""
        # Row by row: SQLite reads no further than the last batch that fits.
        rows = self.db.execute(
            "select first_seq, count, results from batches order by first_seq limit 100"
        )
        head = rows.fetchone()
        if head is None:
            return None
        first, count, text = head
        parts = [text[1:-1]] if count else []
        for seq, n, more in rows:
            if seq != first + count or count + n > limit:
                break
            if n:
                parts.append(more[1:-1])
            count += n
        return first, count, "[" + ",".join(parts) + "]"

    def replace(self, first_seq: int, count: int, results: list[dict[str, Any]]) -> None:
        """Put ``results`` in place of the spooled ones numbered ``first_seq`` to
        ``first_seq + count - 1`` (as :meth:`oldest` gave them); they keep the first numbers."""
        with self.db.atomic():
            self.db.execute(
                "delete from batches where first_seq >= ? and first_seq + count <= ?",
                [first_seq, first_seq + count],
            )
            if results:
                self.db.execute(
                    "insert into batches (first_seq, count, results, spooled_at) "
                    "values (?, ?, ?, ?)",
                    [
                        first_seq,
                        len(results),
                        json.dumps(results, separators=(",", ":")),
                        datetime.now(UTC).isoformat(),
                    ],
                )

    def acknowledge(self, through_seq: int) -> None:
        """Forget every batch whose results all have sequence numbers up to ``through_seq``."""
        with self.db.atomic():
            self.db.execute("delete from batches where first_seq + count - 1 <= ?", [through_seq])

    def pending(self) -> int:
        """How many results wait to be acknowledged."""
        row = self.db.execute("select coalesce(sum(count), 0) from batches").fetchone()
        return int(row[0])
