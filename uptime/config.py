"""vendors.yaml and maintenance_windows.yaml to validated, frozen configuration.

Both files are read once, checked completely and turned into frozen dataclasses (the contract
values come from ``credits.model``). Any problem stops the load with a ``ConfigError`` whose text
is one line naming the file, the line, the dotted field and what was expected, e.g.::

    vendors.yaml:14: vendors.classswift.sla.target_pct: got 'abc'; expected a number above 0
    and at most 100

(shown wrapped here; the message itself is a single line).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import holidays
import yaml

from credits.calendar import applies_to
from credits.credit import CENT, monthly_fee, to_cents
from credits.intervals import EARLIEST, IN_RANGE, LATEST
from credits.model import (
    AnnouncedWindow,
    BusinessCalendar,
    CreditPolicy,
    Exclusion,
    Fee,
    QuorumRule,
    RecurringWindow,
    SlaPolicy,
    Span,
    Tier,
    VendorCalendar,
)

__all__ = [
    "Config",
    "ConfigError",
    "Expect",
    "Monitor",
    "Probing",
    "Region",
    "UnknownVendorError",
    "Vendor",
    "default_files",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
]

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Errors


class ConfigError(Exception):
    """A configuration problem, located: ``<file>:<line>: <field>: <problem>; expected <what>``.

    ``line`` is 1-based, or ``None`` when the problem is the file itself (missing, unreadable);
    ``path`` is the dotted field (``vendors.classswift.monitors[0].interval``), empty for the
    whole file.
    """

    def __init__(
        self, file: str, line: int | None, path: str, problem: str, expected: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.problem = problem
        self.expected = expected
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {path}: {problem}" if path else f"{where}: {problem}"
        if expected:
            text += f"; expected {expected}"
        super().__init__(" ".join(text.split()))  # always one line

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownVendorError(KeyError):
    """``Config.vendor()`` was asked for an id that is not configured."""

    def __init__(self, vendor_id: str, known: Iterable[str]) -> None:
        self.vendor_id = vendor_id
        self.known = tuple(known)
        super().__init__(
            f"unknown vendor {vendor_id!r}; configured vendors: {', '.join(self.known) or 'none'}"
        )

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


# --------------------------------------------------------------------------------------------
# The configuration values


@dataclass(frozen=True, slots=True)
class Region:
    """A probe site.

    ``canary`` is the URL the site's agent probes to check its own network (None: no
    self-check); ``token_file`` holds the bearer token the collector expects from the site's
    remote agent (None: the collector probes the region itself, in-process).
    """

    id: str
    name: str
    canary: str | None = None
    token_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Probing:
    """How the scheduler probes (``probing:`` in vendors.yaml; every key optional)."""

    retries: int = 2
    retry_within: timedelta = timedelta(seconds=5)
    concurrency: int = 200
    retention: timedelta = timedelta(days=35)
    batch: int = 500
    flush_every: timedelta = timedelta(seconds=1)
    reuse_connections: bool = False


@dataclass(frozen=True, slots=True)
class Expect:
    """What an HTTP check must see to count as up."""

    status: tuple[int, ...] = (200,)
    body_contains: str | None = None


@dataclass(frozen=True, slots=True)
class Monitor:
    """One endpoint of a vendor, tied to a functional area of the service.

    ``regions`` are the probe sites that check it; the loader fills in every configured region
    when the file names none.
    """

    id: str
    functional_area: str
    url: str
    interval: timedelta
    timeout: timedelta
    expect: Expect
    critical: bool
    kind: Literal["http", "tcp"] = "http"
    method: str = "GET"
    max_latency: timedelta | None = None
    max_redirects: int = 5
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vendor:
    """One vendor: its monitors, its contract (``sla``) and its maintenance calendar."""

    id: str
    name: str
    timezone: ZoneInfo
    quorum: QuorumRule
    monitors: tuple[Monitor, ...]
    sla: SlaPolicy
    hosting: str | None = None
    calendar: VendorCalendar = field(default_factory=VendorCalendar)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything both files resolve to, in file order."""

    regions: tuple[Region, ...]
    vendors: tuple[Vendor, ...]
    vendors_path: Path
    maintenance_path: Path
    probing: Probing = field(default_factory=Probing)

    @property
    def region_ids(self) -> tuple[str, ...]:
        """The configured region ids, in file order."""
        return tuple(r.id for r in self.regions)

    @property
    def vendor_ids(self) -> tuple[str, ...]:
        """The configured vendor ids, in file order."""
        return tuple(v.id for v in self.vendors)

    def region(self, region_id: str) -> Region:
        """The region with this id (``KeyError`` naming the known ids otherwise)."""
        for region in self.regions:
            if region.id == region_id:
                return region
        raise KeyError(f"unknown region {region_id!r}; regions: {', '.join(self.region_ids)}")

    def vendor(self, vendor_id: str) -> Vendor:
        """The vendor with this id; ``UnknownVendorError`` (a ``KeyError``) lists the known ids."""
        for vendor in self.vendors:
            if vendor.id == vendor_id:
                return vendor
        raise UnknownVendorError(vendor_id, self.vendor_ids)


# --------------------------------------------------------------------------------------------
# Durations

# No contract or probe needs a span longer than ten years; longer ones could carry a deadline
# or a window past what the engine computes (credits.intervals.LATEST).
_LONGEST = timedelta(days=3660)
_MOST_BUSINESS_DAYS = 2610

DURATION_FORMS = (
    "an integer with a unit: 90s, 5m, 4h, 2d, 1w, or N business days (at most 10 years)"
)
PLAIN_DURATION_FORMS = "a positive integer with a unit: 90s, 5m, 4h, 2d or 1w (at most 10 years)"

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_DELTA_RE = re.compile(r"([0-9]+)\s*([smhdw])", re.ASCII)
_BUSINESS_RE = re.compile(r"([0-9]+)\s+business\s+days?", re.ASCII | re.IGNORECASE)


def _span_or_none(value: object) -> Span | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if match := _DELTA_RE.fullmatch(text):
            delta = int(match[1]) * _UNITS[match[2]]
            return Span(text=text, delta=delta) if delta <= _LONGEST else None
        if match := _BUSINESS_RE.fullmatch(text):
            days = int(match[1])
            return Span(text=text, business_days=days) if days <= _MOST_BUSINESS_DAYS else None
    except OverflowError:
        return None
    return None


def parse_duration(text: str) -> Span:
    """Parse ``90s``, ``5m``, ``4h``, ``2d``, ``1w`` or ``N business day(s)`` into a ``Span``.

    Whole numbers only. Anything else raises ``ValueError`` listing the accepted forms.
    """
    span = _span_or_none(text)
    if span is None:
        raise ValueError(f"got {_show(text)}; expected {DURATION_FORMS}")
    return span


def format_duration(delta: timedelta) -> str:
    """Write a timedelta in the files' notation, in the largest exact unit (``4h``, ``90s``)."""
    seconds = int(delta.total_seconds())
    if seconds != delta.total_seconds():
        return str(delta)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --------------------------------------------------------------------------------------------
# YAML with positions


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where each of its keys and values start."""

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[object, int] = {}
        self.value_lines: dict[object, int] = {}
        self.duplicates: list[tuple[object, int, int]] = []  # (key, line, first line)


class _Seq(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers where each item starts."""

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader keeping line numbers; booleans are only true/false (``NO`` stays Norway).

    libyaml's parser when PyYAML has it: ten times faster on a district with many vendors."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


_STR_TAG = "tag:yaml.org,2002:str"


def _construct(loader: _Loader, node: yaml.Node) -> object:
    # Most nodes are plain strings; taking their text directly (what PyYAML's str constructor
    # does) skips its generic dispatch, a third of the load time for a thousand vendors.
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        key_line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, key_line, result.key_lines[key]))
            continue
        result[key] = _construct(loader, value_node)
        result.key_lines[key] = key_line
        result.value_lines[key] = value_node.start_mark.line + 1
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq()
    for item in node.value:
        result.append(_construct(loader, item))
        result.item_lines.append(item.start_mark.line + 1)
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _load_yaml(path: Path, label: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, None, "", "file not found", "an existing YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(label, None, "", f"not UTF-8 text ({exc.reason})", "UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            label, None, "", f"cannot read the file ({exc.strerror})", "a readable YAML file"
        ) from None
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            label,
            line,
            "",
            f"YAML syntax error: {problem}",
            "valid YAML (check indentation, quotes)",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, None, "", f"YAML error: {exc}", "valid YAML") from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------------------------
# Field readers


def _show(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True, slots=True)
class _At:
    """Where a value sits: file, dotted path, the line it starts on and the line that names it."""

    file: str
    path: str
    line: int
    key_line: int

    def error(self, problem: str, expected: str | None = None) -> ConfigError:
        return ConfigError(self.file, self.line, self.path, problem, expected)

    def got(self, value: object, expected: str) -> ConfigError:
        return self.error(f"got {_show(value)}", expected)

    def named(self) -> _At:
        """This position, at the line of the key naming the value (for whole-value problems)."""
        return _At(self.file, self.path, self.key_line, self.key_line)

    def _join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def at_key(self, key: object, line: int) -> _At:
        """A child field located at ``line`` (its key's line: unknown, duplicate, odd keys)."""
        return _At(self.file, self._join(str(key)), line, line)

    def key(self, mapping: _Map, key: str) -> _At:
        """The position of ``mapping[key]`` (or, if missing, of the mapping that lacks it)."""
        if key in mapping:
            return _At(self.file, self._join(key), mapping.value_lines[key], mapping.key_lines[key])
        return _At(self.file, self._join(key), self.key_line, self.key_line)

    def item(self, seq: _Seq, index: int) -> _At:
        line = seq.item_lines[index]
        return _At(self.file, f"{self.path}[{index}]", line, line)


def _fields(
    value: object, at: _At, required: Mapping[str, str], optional: Iterable[str] = ()
) -> _Map:
    """Check ``value`` is a mapping with all ``required`` keys and no unknown ones.

    ``required`` maps each required key to what its value should be (for the error message).
    """
    allowed = [*required, *optional]
    if not isinstance(value, _Map):
        raise at.got(value, f"a mapping with keys {', '.join(allowed)}")
    _check_keys(value, at)
    for key in value:
        if key not in allowed:
            raise at.at_key(key, value.key_lines[key]).error(
                f"unknown key {key!r}{_suggest(key, allowed)}", f"one of: {', '.join(allowed)}"
            )
    for key, expected in required.items():
        if key not in value:
            raise at.key(value, key).error("required key is missing", expected)
    return value


def _check_keys(mapping: _Map, at: _At) -> None:
    """Refuse duplicate keys (YAML would keep the last silently) and keys that are not text."""
    if mapping.duplicates:
        key, line, first = mapping.duplicates[0]
        raise at.at_key(key, line).error(
            f"duplicate key {key!r} (first given on line {first})", "each key at most once"
        )
    for key in mapping:
        if not isinstance(key, str):
            raise at.at_key(key, mapping.key_lines[key]).error(
                f"key {_show(key)} is not text", "keys written as plain words"
            )


def _id_map(value: object, at: _At, what: str) -> _Map:
    """A mapping keyed by ids (regions, vendors)."""
    if not isinstance(value, _Map):
        raise at.got(value, f"a mapping of {what} ids to their settings")
    _check_keys(value, at)
    for key in value:
        _id(key, at.at_key(key, value.key_lines[key]), what)
    return value


def _items(value: object, at: _At, what: str, *, allow_null: bool = False) -> _Seq:
    if value is None and allow_null:
        return _Seq()
    if not isinstance(value, _Seq):
        raise at.got(value, f"a list of {what}")
    return value


def _get(mapping: _Map, at: _At, key: str, read: Callable[[object, _At], _T], default: _T) -> _T:
    if key not in mapping:
        return default
    return read(mapping[key], at.key(mapping, key))


_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)


def _id(value: object, at: _At, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise at.got(value, f"a {what} id of lowercase letters, digits, '-' and '_'")
    return value


def _text(value: object, at: _At) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.got(value, "non-empty text")
    return value.strip()


def _choice(value: object, at: _At, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise at.got(value, f"one of: {', '.join(choices)}{_suggest(value, choices)}")
    return value


def _bool(value: object, at: _At) -> bool:
    if not isinstance(value, bool):
        raise at.got(value, "true or false")
    return value


def _int(value: object, at: _At, low: int, high: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):  # type: ignore[operator]
        rng = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise at.got(value, f"a whole number {rng}")
    return value  # type: ignore[return-value]


def _decimal_or_none(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())  # str() keeps 99.9 exact
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


PERCENT_FORMS = "a number above 0 and at most 100"


def _percent(value: object, at: _At) -> Decimal:
    number = _decimal_or_none(value)
    if number is None or not 0 < number <= 100:
        raise at.got(value, PERCENT_FORMS)
    return number


def _positive_number(value: object, at: _At) -> Decimal:
    number = _decimal_or_none(value)
    if number is None or number <= 0:
        raise at.got(value, "a number above 0")
    return number


MONEY_FORMS = 'an amount of at least 0 with at most 2 decimals, as a string: "672.00"'


def _money(value: object, at: _At) -> Decimal:
    number = _decimal_or_none(value)
    try:
        cents = None if number is None else number.quantize(CENT)
    except InvalidOperation:  # too many digits to hold
        cents = None
    if number is None or cents is None or number < 0 or number != cents:
        raise at.got(value, MONEY_FORMS)
    return cents


def _span(value: object, at: _At) -> Span:
    span = _span_or_none(value)
    if span is None:
        raise at.got(value, DURATION_FORMS)
    if (span.delta is not None and span.delta <= timedelta(0)) or span.business_days == 0:
        raise at.got(value, "a duration above zero")
    return span


def _delta(value: object, at: _At) -> timedelta:
    span = _span_or_none(value)
    if span is None:
        raise at.got(value, PLAIN_DURATION_FORMS)
    if span.delta is None:
        raise at.got(value, f"{PLAIN_DURATION_FORMS} (business days do not apply here)")
    if span.delta <= timedelta(0):
        raise at.got(value, "a duration above zero")
    return span.delta


@cache
def _default(cls: type, name: str) -> Any:
    """The default the dataclass ``cls`` gives its field ``name``: defaults live in one place."""
    return next(f.default for f in fields(cls) if f.name == name)


def _optional(read: Callable[[object, _At], _T]) -> Callable[[object, _At], _T | None]:
    """``read``, letting null through as None."""
    return lambda value, at: None if value is None else read(value, at)


# Files of the time zone database that are not zones a contract could name.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


def _zone(value: object, at: _At) -> ZoneInfo:
    if isinstance(value, str) and value not in _NOT_ZONES:
        try:
            return ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            pass
    # Listing the known zones walks the time zone database: only done to suggest a fix.
    expected = "an IANA time zone name such as America/New_York"
    raise at.got(value, expected + _suggest(value, _zone_names()))


DATETIME_FORMS = "an ISO 8601 date and time with a UTC offset, e.g. 2026-12-03T22:00:00-05:00"


def _datetime(value: object, at: _At) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise at.got(value, DATETIME_FORMS) from None
    else:  # a bare date, a number...
        raise at.got(value, DATETIME_FORMS)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise at.error(f"{_show(value)} needs a UTC offset", DATETIME_FORMS)
    if not EARLIEST <= moment < LATEST:
        raise at.got(value, IN_RANGE)
    return moment


# --------------------------------------------------------------------------------------------
# vendors.yaml


def _regions(value: object, at: _At, base: Path) -> tuple[Region, ...]:
    mapping = _id_map(value, at, "region")
    if not mapping:
        raise at.got(value, "at least one region")
    regions = []
    for region_id, settings in mapping.items():
        where = at.key(mapping, region_id)
        fields = _fields(
            settings, where, {"name": "the region's display name"}, ("canary", "token_file")
        )
        regions.append(
            Region(
                region_id,
                _text(fields["name"], where.key(fields, "name")),
                canary=_get(fields, where, "canary", _canary, None),
                token_file=_get(fields, where, "token_file", lambda v, a: _file(v, a, base), None),
            )
        )
    return tuple(regions)


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
    "batch",
    "flush_every",
    "reuse_connections",
)


def _probing(value: object, at: _At) -> Probing:
    if value is None:
        return Probing()
    fields = _fields(value, at, {}, _PROBING_KEYS)
    default = Probing()
    return Probing(
        retries=_get(fields, at, "retries", lambda v, a: _int(v, a, 0, 10), default.retries),
        retry_within=_get(fields, at, "retry_within", _delta, default.retry_within),
        concurrency=_get(
            fields, at, "concurrency", lambda v, a: _int(v, a, 1, 100_000), default.concurrency
        ),
        retention=_get(fields, at, "retention", _delta, default.retention),
        batch=_get(fields, at, "batch", lambda v, a: _int(v, a, 1, 10_000), default.batch),
        flush_every=_get(fields, at, "flush_every", _delta, default.flush_every),
        reuse_connections=_get(fields, at, "reuse_connections", _bool, default.reuse_connections),
    )


_MONITOR_REQUIRED = {
    "id": "a monitor id",
    "functional_area": "the functional area this endpoint stands for, e.g. Login",
    "url": "an http://, https:// or tcp://host:port URL",
    "interval": PLAIN_DURATION_FORMS,
    "timeout": PLAIN_DURATION_FORMS,
    "critical": "true or false (do its outages count against the vendor?)",
}
_MONITOR_OPTIONAL = ("expect", "kind", "method", "max_latency", "max_redirects", "regions")
_HTTP_ONLY = ("expect", "method", "max_redirects")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _url(value: object, at: _At) -> tuple[str, Literal["http", "tcp"]]:
    expected = "an http://, https:// or tcp://host:port URL"
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise at.got(value, expected)
    url = value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise at.got(value, expected) from None
    if parts.scheme not in ("http", "https", "tcp") or not parts.hostname:
        raise at.got(value, expected)
    if parts.scheme == "tcp":
        if port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise at.got(value, "tcp://host:port with nothing after the port")
        return url, "tcp"
    return url, "http"


def _status_codes(value: object, at: _At) -> tuple[int, ...]:
    expected = "a list of HTTP status codes from 100 to 599, e.g. [200]"

    def code(v: object, a: _At) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 599:
            raise a.got(v, expected)
        return v

    if isinstance(value, int) and not isinstance(value, bool):
        return (code(value, at),)  # a single code is as clear as a list of one
    if not isinstance(value, _Seq) or not value:
        raise at.got(value, expected)
    return tuple(code(v, at.item(value, i)) for i, v in enumerate(value))


def _expect(value: object, at: _At) -> Expect:
    if value is None:
        return Expect()
    fields = _fields(value, at, {}, ("status", "body_contains"))
    return Expect(
        status=_get(fields, at, "status", _status_codes, _default(Expect, "status")),
        body_contains=_get(fields, at, "body_contains", _optional(_nonblank), None),
    )


def _nonblank(value: object, at: _At) -> str:
    if not isinstance(value, str) or not value:
        raise at.got(value, "non-empty text or null")
    return value


def _monitor(value: object, at: _At, region_ids: tuple[str, ...]) -> Monitor:
    fields = _fields(value, at, _MONITOR_REQUIRED, _MONITOR_OPTIONAL)
    url, scheme_kind = _url(fields["url"], at.key(fields, "url"))
    kind = _get(fields, at, "kind", lambda v, a: _choice(v, a, ("http", "tcp")), scheme_kind)
    if kind != scheme_kind:
        raise at.key(fields, "kind").got(
            kind, f"{scheme_kind} for the URL {url} (tcp monitors use tcp://host:port)"
        )
    if kind == "tcp":
        for key in _HTTP_ONLY:
            if key in fields:
                raise at.key(fields, key).error(
                    f"{key} does not apply to a tcp monitor", "it only on http(s) monitors"
                )
    interval = _delta(fields["interval"], at.key(fields, "interval"))
    timeout = _delta(fields["timeout"], at.key(fields, "timeout"))
    if timeout > interval:
        raise at.key(fields, "timeout").error(
            f"timeout {format_duration(timeout)} is longer than the interval "
            f"{format_duration(interval)}",
            "a timeout no longer than the interval",
        )
    max_latency = _get(fields, at, "max_latency", _optional(_delta), None)
    if max_latency is not None and max_latency > timeout:
        raise at.key(fields, "max_latency").error(
            f"max_latency {format_duration(max_latency)} is longer than the timeout "
            f"{format_duration(timeout)}",
            "a latency limit no longer than the timeout",
        )
    method = _get(
        fields, at, "method", lambda v, a: _choice(v, a, _METHODS), _default(Monitor, "method")
    )
    return Monitor(
        id=_id(fields["id"], at.key(fields, "id"), "monitor"),
        functional_area=_text(fields["functional_area"], at.key(fields, "functional_area")),
        url=url,
        interval=interval,
        timeout=timeout,
        expect=_get(fields, at, "expect", _expect, Expect()),
        critical=_bool(fields["critical"], at.key(fields, "critical")),
        kind=kind,  # type: ignore[arg-type]
        method=method,
        max_latency=max_latency,
        max_redirects=_get(
            fields,
            at,
            "max_redirects",
            lambda v, a: _int(v, a, 0, 30),
            _default(Monitor, "max_redirects"),
        ),
        regions=_get(
            fields, at, "regions", lambda v, a: _monitor_regions(v, a, region_ids), region_ids
        ),
    )


def _monitor_regions(value: object, at: _At, region_ids: tuple[str, ...]) -> tuple[str, ...]:
    expected = f"a non-empty list of configured regions: {', '.join(region_ids)}"
    if not isinstance(value, _Seq) or not value:
        raise at.got(value, expected)
    chosen: list[str] = []
    for index, region in enumerate(value):
        where = at.item(value, index)
        if region not in region_ids:
            raise where.got(region, expected + _suggest(region, region_ids))
        if region in chosen:
            raise where.error(f"region {region!r} is listed twice", "each region once")
        chosen.append(region)
    return tuple(chosen)


def _monitors(value: object, at: _At, region_ids: tuple[str, ...]) -> tuple[Monitor, ...]:
    items = _items(value, at, "monitors")
    if not items:
        raise at.got(value, "at least one monitor")
    monitors: list[Monitor] = []
    for index, item in enumerate(items):
        where = at.item(items, index)
        monitor = _monitor(item, where, region_ids)
        if any(m.id == monitor.id for m in monitors):
            raise where.key(item, "id").error(  # type: ignore[arg-type]
                f"monitor id {monitor.id!r} is used twice", "monitor ids unique within a vendor"
            )
        monitors.append(monitor)
    if not any(m.critical for m in monitors):
        raise at.named().error(
            "no monitor is critical, so no outage could ever count",
            "at least one monitor with critical: true",
        )
    return tuple(monitors)


def _quorum(value: object, at: _At, monitors: tuple[Monitor, ...]) -> QuorumRule:
    fewest = min(len(m.regions) for m in monitors)
    expected = f"all, majority, or a whole number of regions from 1 to {fewest}"
    if value in ("all", "majority"):
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise at.got(value, expected + _suggest(value, ("all", "majority")))
    for monitor in monitors:
        if value > len(monitor.regions):
            raise at.error(
                f"quorum {value} but monitor {monitor.id!r} is probed from only "
                f"{len(monitor.regions)} region(s), so it could never be down",
                expected,
            )
    return value


@cache
def _holiday_problem(code: str, subdivision: str | None) -> str | None:
    # Once per calendar, not once per vendor: a district's vendors share a few calendars.
    try:
        holidays.country_holidays(code, subdiv=subdivision)
    except (NotImplementedError, ValueError) as exc:
        return str(exc)
    return None


def _holiday_calendar(value: object, at: _At, vendor_zone: ZoneInfo) -> BusinessCalendar:
    fields = _fields(value, at, {}, ("holidays", "timezone", "subdivision"))
    countries = holidays.list_supported_countries()
    code = fields.get("holidays", _default(BusinessCalendar, "holidays"))
    code_at = at.key(fields, "holidays")
    if code is not None and (not isinstance(code, str) or code not in countries):
        raise code_at.got(
            code,
            "a country code of the holidays package (US, CA, GB...) or null for no holidays"
            + _suggest(code, countries),
        )
    subdivision = fields.get("subdivision")
    sub_at = at.key(fields, "subdivision")
    if subdivision is not None:
        if code is None:
            raise sub_at.error("a subdivision needs a holidays country", "holidays: <country>")
        subdivisions = countries[code]
        if not isinstance(subdivision, str) or subdivision not in subdivisions:
            raise sub_at.got(
                subdivision,
                f"a subdivision of {code}: {', '.join(subdivisions) or 'none exist'}",
            )
    if code is not None and (problem := _holiday_problem(code, subdivision)):
        raise code_at.error(problem, "a country code of the holidays package")
    zone = _get(fields, at, "timezone", _zone, vendor_zone)
    return BusinessCalendar(timezone=zone, holidays=code, subdivision=subdivision)


def _tiers(value: object, at: _At) -> tuple[Tier, ...]:
    items = _items(value, at, "tiers like {below_pct: 99.9, credit_pct: 10}")
    if not items:
        raise at.got(value, "at least one tier like {below_pct: 99.9, credit_pct: 10}")
    tiers: list[Tier] = []
    for index, item in enumerate(items):
        where = at.item(items, index)
        fields = _fields(item, where, {"below_pct": PERCENT_FORMS, "credit_pct": PERCENT_FORMS})
        tier = Tier(
            below_pct=_percent(fields["below_pct"], where.key(fields, "below_pct")),
            credit_pct=_percent(fields["credit_pct"], where.key(fields, "credit_pct")),
        )
        if any(t.below_pct == tier.below_pct for t in tiers):
            raise where.key(fields, "below_pct").error(
                f"two tiers start below {tier.below_pct}", "a different below_pct for each tier"
            )
        tiers.append(tier)
    # Highest threshold first, so "the lowest band that applies" is the last match.
    return tuple(sorted(tiers, key=lambda t: t.below_pct, reverse=True))


_CREDIT_KINDS = ("none", "full_hours", "tiers")


def _credit(value: object, at: _At) -> CreditPolicy:
    fields = _fields(
        value,
        at,
        {"kind": f"one of: {', '.join(_CREDIT_KINDS)}"},
        ("rounding", "scope", "percent_per_hour", "cap_pct_of_fee", "tiers"),
    )
    kind = _choice(fields["kind"], at.key(fields, "kind"), _CREDIT_KINDS)
    if kind == "tiers":
        if "tiers" not in fields:
            raise at.key(fields, "tiers").error(
                "required key is missing (kind is tiers)",
                "a list like [{below_pct: 99.9, credit_pct: 10}]",
            )
        tiers = _tiers(fields["tiers"], at.key(fields, "tiers"))
    elif "tiers" in fields:
        raise at.key(fields, "tiers").error(
            f"tiers given but kind is {kind}", "tiers only with kind: tiers"
        )
    else:
        tiers = ()
    cap = _get(fields, at, "cap_pct_of_fee", _optional(_percent), None)
    return CreditPolicy(
        kind=kind,  # type: ignore[arg-type]
        rounding=_get(  # type: ignore[arg-type]
            fields,
            at,
            "rounding",
            lambda v, a: _choice(v, a, ("month", "incident")),
            _default(CreditPolicy, "rounding"),
        ),
        scope=_get(  # type: ignore[arg-type]
            fields,
            at,
            "scope",
            lambda v, a: _choice(v, a, ("all", "excess")),
            _default(CreditPolicy, "scope"),
        ),
        percent_per_hour=_get(
            fields,
            at,
            "percent_per_hour",
            _positive_number,
            _default(CreditPolicy, "percent_per_hour"),
        ),
        cap_pct_of_fee=cap,
        tiers=tiers,
    )


_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)


def _fee(value: object, at: _At) -> Fee | None:
    if value is None:
        return None
    fields = _fields(value, at, {"amount": MONEY_FORMS}, ("per", "currency"))

    def currency(v: object, a: _At) -> str:
        if not isinstance(v, str) or not _CURRENCY_RE.fullmatch(v):
            raise a.got(v, "a 3-letter ISO 4217 currency code in capitals, e.g. USD")
        return v

    return Fee(
        amount=_money(fields["amount"], at.key(fields, "amount")),
        per=_get(  # type: ignore[arg-type]
            fields, at, "per", lambda v, a: _choice(v, a, ("month", "year")), _default(Fee, "per")
        ),
        currency=_get(fields, at, "currency", currency, _default(Fee, "currency")),
    )


_MAINTENANCE = ("counts", "excluded")
_SLA_REQUIRED = {
    "target_pct": PERCENT_FORMS,
    "maintenance": "one of: counts, excluded",
}
_SLA_OPTIONAL = (
    "emergency_notice",
    "unmonitored",
    "business_calendar",
    "credit",
    "fee",
    "eligible",
    "invoices_in_default",
    "claim_within",
)
_DEFAULT_NOTICE = Span(text="5 business days", business_days=5)


def _sla(value: object, at: _At, vendor_zone: ZoneInfo) -> SlaPolicy:
    fields = _fields(value, at, _SLA_REQUIRED, _SLA_OPTIONAL)
    target_pct = _percent(fields["target_pct"], at.key(fields, "target_pct"))
    maintenance = _choice(fields["maintenance"], at.key(fields, "maintenance"), _MAINTENANCE)
    credit = _get(fields, at, "credit", _credit, CreditPolicy())
    fee = _get(fields, at, "fee", _fee, None)
    if credit.kind != "none" and fee is None:
        raise at.key(fields, "fee").error(
            f"credit kind {credit.kind} needs the fee it is a share of",
            'fee: {amount: "672.00", per: month, currency: USD}',
        )
    default_calendar = BusinessCalendar(timezone=vendor_zone)
    return SlaPolicy(
        target_pct=target_pct,
        maintenance=maintenance,  # type: ignore[arg-type]
        emergency_notice=_get(fields, at, "emergency_notice", _span, _DEFAULT_NOTICE),
        business_calendar=_get(
            fields,
            at,
            "business_calendar",
            lambda v, a: _holiday_calendar(v, a, vendor_zone),
            default_calendar,
        ),
        claim_within=_get(fields, at, "claim_within", _span, _DEFAULT_NOTICE),
        unmonitored=_get(  # type: ignore[arg-type]
            fields,
            at,
            "unmonitored",
            lambda v, a: _choice(v, a, ("as_up", "as_down", "exclude")),
            _default(SlaPolicy, "unmonitored"),
        ),
        credit=credit,
        fee=fee,
        eligible=_get(fields, at, "eligible", _bool, _default(SlaPolicy, "eligible")),
        invoices_in_default=_get(
            fields, at, "invoices_in_default", _bool, _default(SlaPolicy, "invoices_in_default")
        ),
    )


_VENDOR_REQUIRED = {
    "name": "the vendor's display name",
    "timezone": "an IANA time zone name such as America/New_York",
    "monitors": "a list of monitors",
    "sla": "the vendor's SLA settings (target_pct, maintenance, ...)",
}


@dataclass(frozen=True, slots=True)
class _VendorDraft:
    vendor: Vendor
    at: _At
    fields: _Map


def _vendor(vendor_id: str, value: object, at: _At, region_ids: tuple[str, ...]) -> _VendorDraft:
    fields = _fields(value, at, _VENDOR_REQUIRED, ("quorum", "hosting"))
    name = _text(fields["name"], at.key(fields, "name"))
    zone = _zone(fields["timezone"], at.key(fields, "timezone"))
    monitors = _monitors(fields["monitors"], at.key(fields, "monitors"), region_ids)
    vendor = Vendor(
        id=vendor_id,
        name=name,
        timezone=zone,
        quorum=_get(fields, at, "quorum", lambda v, a: _quorum(v, a, monitors), "all"),
        monitors=monitors,
        sla=_sla(fields["sla"], at.key(fields, "sla"), zone),
        hosting=_get(fields, at, "hosting", _optional(lambda v, a: _id(v, a, "hosting")), None),
    )
    return _VendorDraft(vendor, at, fields)


# --------------------------------------------------------------------------------------------
# maintenance_windows.yaml


_CRON_FIELDS = (
    "a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. 0 2 * * thu"
)


def _cron(value: object, at: _At) -> str:
    from croniter import croniter  # see credits.calendar.expand_recurring for why it is here

    if (
        not isinstance(value, str)
        or len(value.split()) != 5
        or not croniter.is_valid(value.strip())
    ):
        raise at.got(value, _CRON_FIELDS)
    return " ".join(value.split())


def _recurring(value: object, at: _At) -> RecurringWindow:
    fields = _fields(
        value,
        at,
        {
            "name": "the window's name",
            "cron": _CRON_FIELDS,
            "duration": PLAIN_DURATION_FORMS,
            "timezone": "an IANA time zone name such as America/New_York",
        },
        ("hosting",),
    )
    return RecurringWindow(
        name=_text(fields["name"], at.key(fields, "name")),
        cron=_cron(fields["cron"], at.key(fields, "cron")),
        duration=_delta(fields["duration"], at.key(fields, "duration")),
        timezone=_zone(fields["timezone"], at.key(fields, "timezone")),
        hosting=_get(fields, at, "hosting", _optional(lambda v, a: _id(v, a, "hosting")), None),
    )


def _start_end(fields: _Map, at: _At) -> tuple[datetime, datetime]:
    start = _datetime(fields["start"], at.key(fields, "start"))
    end = _datetime(fields["end"], at.key(fields, "end"))
    if end <= start:
        raise at.key(fields, "end").error(
            f"end {end.isoformat()} is not after start {start.isoformat()}",
            "an end later than the start",
        )
    return start, end


def _announced(value: object, at: _At) -> AnnouncedWindow:
    fields = _fields(
        value,
        at,
        {"start": DATETIME_FORMS, "end": DATETIME_FORMS, "announced_at": DATETIME_FORMS},
        ("note",),
    )
    start, end = _start_end(fields, at)
    return AnnouncedWindow(
        start=start,
        end=end,
        announced_at=_datetime(fields["announced_at"], at.key(fields, "announced_at")),
        note=_get(fields, at, "note", lambda v, a: "" if v is None else _text(v, a), ""),
    )


def _exclusion(value: object, at: _At) -> Exclusion:
    fields = _fields(
        value,
        at,
        {
            "start": DATETIME_FORMS,
            "end": DATETIME_FORMS,
            "reason": "why this time is excluded (force majeure, district network...)",
        },
    )
    start, end = _start_end(fields, at)
    return Exclusion(start=start, end=end, reason=_text(fields["reason"], at.key(fields, "reason")))


def _listed(mapping: _Map, at: _At, key: str, read: Callable[[object, _At], _T]) -> tuple[_T, ...]:
    if key not in mapping:
        return ()
    where = at.key(mapping, key)
    items = _items(mapping[key], where, key.replace("_", " "), allow_null=True)
    return tuple(read(item, where.item(items, index)) for index, item in enumerate(items))


def _calendar(value: object, at: _At) -> VendorCalendar:
    if value is None:
        return VendorCalendar()
    fields = _fields(value, at, {}, ("recurring", "announced", "exclusions"))
    return VendorCalendar(
        recurring=_listed(fields, at, "recurring", _recurring),
        announced=_listed(fields, at, "announced", _announced),
        exclusions=_listed(fields, at, "exclusions", _exclusion),
    )


def _check_hosting(draft: _VendorDraft, calendar: VendorCalendar, mlabel: str) -> None:
    """A vendor's hosting must select recurring windows when they are split by hosting."""
    hostings = sorted({w.hosting for w in calendar.recurring if w.hosting is not None})
    if not hostings:
        return
    vendor = draft.vendor
    if vendor.hosting is None:
        raise draft.at.key(draft.fields, "hosting").error(
            f"required key is missing: its recurring windows in {mlabel} are per hosting",
            f"one of: {', '.join(hostings)}",
        )
    if not any(applies_to(w, vendor.hosting) for w in calendar.recurring):
        raise draft.at.key(draft.fields, "hosting").got(
            vendor.hosting,
            f"one of the hostings of its maintenance windows: {', '.join(hostings)}",
        )


# --------------------------------------------------------------------------------------------
# Loading


def load_config(
    vendors_path: str | os.PathLike[str], maintenance_path: str | os.PathLike[str]
) -> Config:
    """Read, validate and freeze both files; raise ``ConfigError`` at the first problem."""
    vendors_file, maintenance_file = Path(vendors_path), Path(maintenance_path)
    vlabel, mlabel = os.fspath(vendors_path), os.fspath(maintenance_path)

    root_at = _At(vlabel, "", 1, 1)
    root = _load_yaml(vendors_file, vlabel)
    top = _fields(
        root, root_at, {"regions": "the probe regions", "vendors": "the vendors"}, ("probing",)
    )
    regions = _regions(top["regions"], root_at.key(top, "regions"), vendors_file.parent)
    probing = _get(top, root_at, "probing", _probing, Probing())
    region_ids = tuple(r.id for r in regions)
    vendors_at = root_at.key(top, "vendors")
    vendor_map = _id_map(top["vendors"], vendors_at, "vendor")
    if not vendor_map:
        raise vendors_at.got(top["vendors"], "at least one vendor")
    drafts = {
        vendor_id: _vendor(vendor_id, settings, vendors_at.key(vendor_map, vendor_id), region_ids)
        for vendor_id, settings in vendor_map.items()
    }

    mroot = _load_yaml(maintenance_file, mlabel)
    mroot_at = _At(mlabel, "", 1, 1)
    calendars: dict[str, VendorCalendar] = {}
    if mroot is not None:
        if not isinstance(mroot, _Map):
            raise mroot_at.got(mroot, "a mapping of vendor ids to their maintenance windows")
        _check_keys(mroot, mroot_at)
        for vendor_id, settings in mroot.items():
            where = mroot_at.key(mroot, vendor_id)
            if vendor_id not in drafts:
                raise where.named().error(
                    f"unknown vendor {vendor_id!r}, not in {vlabel}{_suggest(vendor_id, drafts)}",
                    f"one of: {', '.join(drafts)}",
                )
            calendars[vendor_id] = _calendar(settings, where)

    vendors = []
    for vendor_id, draft in drafts.items():
        calendar = calendars.get(vendor_id, VendorCalendar())
        _check_hosting(draft, calendar, mlabel)
        vendors.append(replace(draft.vendor, calendar=calendar))
    return Config(
        regions=regions,
        vendors=tuple(vendors),
        vendors_path=vendors_file,
        maintenance_path=maintenance_file,
        probing=probing,
    )


def default_files() -> tuple[Path, Path]:
    """The shipped vendors.yaml and maintenance_windows.yaml (package data) as paths."""
    base = resources.files("uptime") / "defaults"
    return Path(str(base / "vendors.yaml")), Path(str(base / "maintenance_windows.yaml"))


# --------------------------------------------------------------------------------------------
# Rendering


def _quorum_text(quorum: QuorumRule) -> str:
    if quorum == "all":
        return "all (down only when every region of a monitor sees it down)"
    if quorum == "majority":
        return "majority (down when more than half of a monitor's regions see it down)"
    return f"{quorum} (down when at least {quorum} regions see a monitor down)"


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _credit_text(credit: CreditPolicy) -> str:
    if credit.kind == "none":
        return "none (no service credit)"
    cap = (
        f"capped at {_pct(credit.cap_pct_of_fee)} of the monthly fee"
        if credit.cap_pct_of_fee
        else "no cap"
    )
    if credit.kind == "full_hours":
        return (
            f"full_hours: {_pct(credit.percent_per_hour)} of the hourly fee per full hour, "
            f"rounding {credit.rounding}, scope {credit.scope}, {cap}"
        )
    bands = ", ".join(f"below {_pct(t.below_pct)} to {_pct(t.credit_pct)}" for t in credit.tiers)
    return f"tiers of the monthly fee: {bands}; {cap}"


def _fee_text(fee: Fee | None) -> str:
    if fee is None:
        return "not given"
    text = f"{fee.amount} {fee.currency} per {fee.per}"
    if fee.per == "year":
        text += f" ({to_cents(monthly_fee(fee))} {fee.currency} per month)"
    return text


def _calendar_text(cal: BusinessCalendar) -> str:
    if cal.holidays is None:
        days = "Monday-Friday, no holidays"
    else:
        region = f"{cal.holidays}-{cal.subdivision}" if cal.subdivision else cal.holidays
        days = f"Monday-Friday minus {region} public holidays"
    return f"{days}, dates in {cal.timezone.key}"


_UNMONITORED = {
    "as_up": "as_up (time no region could see is not downtime; always reported)",
    "as_down": "as_down (time no region could see is downtime)",
    "exclude": "exclude (time no region could see leaves the month's total T)",
}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def render_config(config: Config) -> str:
    """A human-readable summary of what both files resolve to (``uptime-ledger check-config``)."""
    out: list[str] = [
        f"vendors:     {config.vendors_path}",
        f"maintenance: {config.maintenance_path}",
        "",
        f"Regions ({len(config.regions)}):",
    ]
    for r in config.regions:
        out.append(f"  {r.id}: {r.name}")
        out.append(f"    canary: {r.canary or 'none (no self-check)'}")
        out.append(
            f"    agent: remote, token in {r.token_file}"
            if r.token_file
            else "    agent: in-process (uptime-ledger run probes it)"
        )
    p = config.probing
    out += [
        "",
        "Probing:",
        f"  failures confirmed by {p.retries} retries within {format_duration(p.retry_within)}",
        f"  at most {p.concurrency} probes at once per agent; "
        + ("connections reused" if p.reuse_connections else "a fresh connection per probe"),
        f"  results stored every {format_duration(p.flush_every)} or {p.batch} results; "
        f"raw results kept {format_duration(p.retention)}",
    ]
    for vendor in config.vendors:
        sla = vendor.sla
        out += [
            "",
            f"Vendor {vendor.id}: {vendor.name}",
            f"  timezone: {vendor.timezone.key}",
            f"  quorum: {_quorum_text(vendor.quorum)}",
            f"  hosting: {vendor.hosting or '-'}",
            f"  monitors ({len(vendor.monitors)}):",
        ]
        for m in vendor.monitors:
            details = [
                f"{m.kind}" + (f" {m.method}" if m.kind == "http" else ""),
                f"every {format_duration(m.interval)}",
                f"timeout {format_duration(m.timeout)}",
                "critical" if m.critical else "not critical (shown, never counted)",
                f"regions {', '.join(m.regions)}",
            ]
            if m.kind == "http":
                expect = f"expect status {'/'.join(map(str, m.expect.status))}"
                if m.expect.body_contains is not None:
                    expect += f" and body containing {m.expect.body_contains!r}"
                details.append(expect)
            if m.max_latency is not None:
                details.append(f"slower than {format_duration(m.max_latency)} is down")
            out.append(f"    {m.id} [{m.functional_area}] {m.url}")
            out.append(f"      {'; '.join(details)}")
        maintenance = (
            "counts (down time inside maintenance windows is downtime: M is subtracted)"
            if sla.maintenance == "counts"
            else "excluded (down time inside announced or recurring windows is not downtime)"
        )
        out += [
            "  SLA:",
            f"    target: {_pct(sla.target_pct)} per calendar month",
            f"    maintenance: {maintenance}",
            f"    emergency notice: a window announced less than {sla.emergency_notice.text} "
            "ahead is emergency",
            f"    unmonitored: {_UNMONITORED[sla.unmonitored]}",
            f"    business calendar: {_calendar_text(sla.business_calendar)}",
            f"    credit: {_credit_text(sla.credit)}",
            f"    fee: {_fee_text(sla.fee)}",
            f"    eligible: {_yes(sla.eligible)}; invoices in default: "
            f"{_yes(sla.invoices_in_default)}",
            f"    claim within: {sla.claim_within.text}",
        ]
        cal = vendor.calendar
        out.append(f"  recurring windows ({len(cal.recurring)}):")
        for w in cal.recurring:
            hosting = f", hosting {w.hosting}" if w.hosting else ", any hosting"
            applies = "" if applies_to(w, vendor.hosting) else " (not this vendor's hosting)"
            out.append(
                f"    {w.name}: cron {w.cron!r} in {w.timezone.key}, "
                f"{format_duration(w.duration)}{hosting}{applies}"
            )
        out.append(f"  announced windows ({len(cal.announced)}):")
        for a in cal.announced:
            note = f" {a.note}" if a.note else ""
            out.append(
                f"    {a.start.isoformat()} to {a.end.isoformat()}{note} "
                f"(announced_at {a.announced_at.isoformat()})"
            )
        out.append(f"  exclusions ({len(cal.exclusions)}):")
        for e in cal.exclusions:
            out.append(f"    {e.start.isoformat()} to {e.end.isoformat()} {e.reason}")
    return "\n".join(out) + "\n"
