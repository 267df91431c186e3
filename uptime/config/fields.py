"""Field readers: one function per kind of value, each raising a located ``ConfigError``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, TypeVar, get_args, get_type_hints
from zoneinfo import ZoneInfo, available_timezones

from credits.credit import CENT
from credits.intervals import (
    INSTANT_FORMS,
    InstantError,
    check_in_range,
    parse_instant,
)
from credits.model import (
    Span,
)
from uptime.config.durations import DURATION_FORMS, PLAIN_DURATION_FORMS, _span_or_none
from uptime.config.errors import ConfigError, _show
from uptime.config.positioned_yaml import _Map, _Seq

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Field readers


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
    text = str(value).strip()  # str() keeps 99.9 exact
    if not text.isascii():  # Decimal reads other scripts' digits ("١٢" is 12)
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _bounded(value: object, low: Decimal, high: Decimal, places: int) -> Decimal | None:
    """``value`` as a Decimal if it is above ``low``, at most ``high`` and has at most
    ``places`` decimals; else None. The bounds keep every figure computed from it exact and
    finite (a credit of 1e70 % or a target of 1e-9999999 % would not be)."""
    number = _decimal_or_none(value)
    if number is None or not low < number <= high:
        return None
    return number if number == number.quantize(Decimal(1).scaleb(-places)) else None


#: Figures are printed with 6 decimals (availability), so no setting needs more.
PLACES = 6
PERCENT_FORMS = f"a number above 0 and at most 100, with at most {PLACES} decimals"


def _percent(value: object, at: _At) -> Decimal:
    number = _bounded(value, Decimal(0), Decimal(100), PLACES)
    if number is None:
        raise at.got(value, PERCENT_FORMS)
    return number


#: The largest ``percent_per_hour``: 100 times the hourly fee for each hour down.
MOST_PERCENT_PER_HOUR = Decimal(10_000)
PER_HOUR_FORMS = (
    f"a number above 0 and at most {MOST_PERCENT_PER_HOUR}, with at most {PLACES} decimals"
)


def _percent_per_hour(value: object, at: _At) -> Decimal:
    number = _bounded(value, Decimal(0), MOST_PERCENT_PER_HOUR, PLACES)
    if number is None:
        raise at.got(value, PER_HOUR_FORMS)
    return number


#: The largest fee: a trillion a month or a year, beyond any SaaS contract's.
MOST_MONEY = Decimal(10) ** 12
MONEY_FORMS = (
    f"an amount of at least 0 and at most {MOST_MONEY:,} with at most 2 decimals, as a string: "
    '"672.00"'
)


def _money(value: object, at: _At) -> Decimal:
    # Written as people write money: digits, a point and at most 2 decimals (no "1e9").
    plain = isinstance(value, int | float | str) and not isinstance(value, bool)
    if not plain or not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", str(value).strip()):
        raise at.got(value, MONEY_FORMS)
    number = _decimal_or_none(value)
    if number is None or not 0 <= number <= MOST_MONEY:
        raise at.got(value, MONEY_FORMS)
    return number.quantize(CENT)


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


@cache
def _choices(cls: type, name: str) -> tuple[str, ...]:
    """The words the dataclass ``cls`` allows in its ``Literal`` field ``name``."""
    return get_args(get_type_hints(cls)[name])


def _chosen(mapping: _Map, at: _At, cls: type, name: str) -> Any:
    """The optional key ``name``: one of the words of ``cls``'s ``Literal`` field of that name,
    its default the field's (choices and default both written once, on the dataclass)."""
    choices = _choices(cls, name)
    return _get(mapping, at, name, lambda v, a: _choice(v, a, choices), _default(cls, name))


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


DATETIME_FORMS = INSTANT_FORMS


def _datetime(value: object, at: _At) -> datetime:
    try:
        if isinstance(value, datetime):  # YAML's own timestamps
            return check_in_range(value)
        if isinstance(value, str):
            return parse_instant(value)
    except InstantError as error:
        if error.problem == "has no UTC offset":
            raise at.error(f"{_show(value)} needs a UTC offset", error.expected) from None
        raise at.got(value, error.expected) from None
    raise at.got(value, DATETIME_FORMS)  # a bare date, a number...
