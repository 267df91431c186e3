"""The ``regions:`` and ``probing:`` sections of vendors.yaml."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from uptime.config.durations import format_duration
from uptime.config.fields import _At, _bool, _delta, _fields, _get, _id_map, _int, _text
from uptime.config.model import Probing, Region
from uptime.config.monitors import _url

# --------------------------------------------------------------------------------------------
# vendors.yaml


def _regions(value: object, at: _At, base: Path) -> tuple[Region, ...]:
    mapping = _id_map(value, at, "region")
    if not mapping:
        raise at.got(value, "at least one region")
    regions = []
    # A token says which region its agent speaks for: two regions on one file could not be
    # told apart (the collector would refuse one of their agents).
    token_owner: dict[Path, str] = {}
    for region_id, settings in mapping.items():
        where = at.key(mapping, region_id)
        fields = _fields(
            settings,
            where,
            {"name": "the region's display name"},
            ("canary", "token_file", "token_env"),
        )
        token_file = _get(fields, where, "token_file", lambda v, a: _file(v, a, base), None)
        token_env = _get(fields, where, "token_env", _variable, None)
        if token_file is not None and token_env is not None:
            raise where.key(fields, "token_env").error(
                "token_env beside token_file", "one of the two: where the region's token is"
            )
        if token_file is not None:
            owner = token_owner.setdefault(token_file.resolve(), region_id)
            if owner != region_id:
                raise where.key(fields, "token_file").error(
                    f"{token_file} is already region {owner}'s token file",
                    "a token file of this region's own (each agent proves which region it is)",
                )
        regions.append(
            Region(
                region_id,
                _text(fields["name"], where.key(fields, "name")),
                canary=_get(fields, where, "canary", _canary, None),
                token_file=token_file,
                token_env=token_env,
            )
        )
    return tuple(regions)


_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")


def _variable(value: object, at: _At) -> str:
    if not isinstance(value, str) or not _VARIABLE.fullmatch(value):
        raise at.got(value, "an environment variable's name: capitals, digits and _")
    return value


def _canary(value: object, at: _At) -> str | None:
    if value is None:
        return None
    url, _ = _url(value, at)
    return url


def _file(value: object, at: _At, base: Path) -> Path | None:
    """A path; a relative one is relative to the directory of the file that names it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise at.got(value, "a file path, relative to this file's directory or absolute")
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else base / path


_PROBING_KEYS = (
    "retries",
    "retry_within",
    "concurrency",
    "retention",
    "evidence_retention",
    "batch",
    "flush_every",
    "reuse_connections",
    "max_clock_skew",
)


def _probing(value: object, at: _At) -> Probing:
    if value is None:
        return Probing()
    fields = _fields(value, at, {}, _PROBING_KEYS)
    default = Probing()
    retention = _get(fields, at, "retention", _retention, default.retention)
    evidence_retention = _get(
        fields, at, "evidence_retention", _retention, default.evidence_retention
    )
    if evidence_retention < retention:
        key = "evidence_retention" if "evidence_retention" in fields else "retention"
        raise at.key(fields, key).error(
            f"evidence_retention {format_duration(evidence_retention)} is shorter than "
            f"retention {format_duration(retention)}",
            "evidence kept at least as long as plain successes",
        )
    return Probing(
        retries=_get(fields, at, "retries", lambda v, a: _int(v, a, 0, 10), default.retries),
        retry_within=_get(fields, at, "retry_within", _delta, default.retry_within),
        concurrency=_get(
            fields, at, "concurrency", lambda v, a: _int(v, a, 1, 100_000), default.concurrency
        ),
        retention=retention,
        evidence_retention=evidence_retention,
        batch=_get(fields, at, "batch", lambda v, a: _int(v, a, 1, 10_000), default.batch),
        flush_every=_get(fields, at, "flush_every", _delta, default.flush_every),
        reuse_connections=_get(fields, at, "reuse_connections", _bool, default.reuse_connections),
        max_clock_skew=_get(fields, at, "max_clock_skew", _skew, default.max_clock_skew),
    )


#: A probe site's clock may be off by this much at least (NTP keeps it within milliseconds; a
#: second covers a result stamped as the collector's clock ticks) and at most (a result stamped
#: ahead holds its region's state until then: an hour is the most a bad clock may freeze it).
SHORTEST_SKEW = timedelta(seconds=1)
LONGEST_SKEW = timedelta(hours=1)


def _skew(value: object, at: _At) -> timedelta:
    skew = _delta(value, at)
    if not SHORTEST_SKEW <= skew <= LONGEST_SKEW:
        raise at.got(
            value,
            f"a duration from {format_duration(SHORTEST_SKEW)} to {format_duration(LONGEST_SKEW)}",
        )
    return skew


#: Pruning runs hourly: a shorter retention would not be honoured. (Durations are at most ten
#: years, which is past any claim.)
SHORTEST_RETENTION = timedelta(hours=1)


def _retention(value: object, at: _At) -> timedelta:
    kept = _delta(value, at)
    if kept < SHORTEST_RETENTION:
        raise at.got(value, f"a duration of at least {format_duration(SHORTEST_RETENTION)}")
    return kept
