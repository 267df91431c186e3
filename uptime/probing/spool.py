"""The agent spool: an SQLite file of numbered batches not yet acknowledged by the collector."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uptime.errors import UsageError
from uptime.store.database import open_database, refusing_unusable

#: Most results one replay POST carries (consecutive spooled batches are merged up to this).
MAX_POST = 5000


def default_spool(region: str) -> Path:
    return Path(f"uptime-agent-{region}.spool.db")


class Spool:
    """Batches not yet acknowledged, in a local SQLite file; use from one thread."""

    def __init__(self, path: str | Path, region: str) -> None:
        self.path = Path(path)
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

    def _meta(self, region: str) -> dict[str, str]:
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

    def append(self, results: list[dict[str, Any]]) -> int:
        """Spool a batch under the next sequence numbers; returns its first sequence number."""
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
