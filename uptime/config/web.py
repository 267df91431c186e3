"""The ``web:`` section of vendors.yaml: the status page's title and refresh."""

from __future__ import annotations

from datetime import timedelta

from uptime.config.durations import format_duration
from uptime.config.fields import _At, _delta, _fields, _get, _text
from uptime.config.model import Web

#: The page reloads itself this often at most and at least (a refresh faster than every few
#: seconds only loads the server; one slower than an hour is a page nobody trusts).
SHORTEST_REFRESH = timedelta(seconds=5)
LONGEST_REFRESH = timedelta(hours=1)

#: A title longer than this does not fit a phone's header.
LONGEST_TITLE = 120


def _web(value: object, at: _At) -> Web:
    if value is None:
        return Web()
    fields = _fields(value, at, {}, ("title", "refresh"))
    default = Web()
    return Web(
        title=_get(fields, at, "title", _title, default.title),
        refresh=_get(fields, at, "refresh", _refresh, default.refresh),
    )


def _title(value: object, at: _At) -> str:
    title = _text(value, at)
    if len(title) > LONGEST_TITLE:
        raise at.got(value, f"a title of at most {LONGEST_TITLE} characters")
    return title


def _refresh(value: object, at: _At) -> timedelta:
    refresh = _delta(value, at)
    if not SHORTEST_REFRESH <= refresh <= LONGEST_REFRESH:
        raise at.got(
            value,
            f"a duration from {format_duration(SHORTEST_REFRESH)} "
            f"to {format_duration(LONGEST_REFRESH)}",
        )
    return refresh
