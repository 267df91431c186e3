"""The ``web:`` section of vendors.yaml: the status page's title and refresh, and the files of
the tokens that may read finance figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from uptime.config.durations import format_duration
from uptime.config.fields import _At, _delta, _fields, _get, _text
from uptime.config.model import Web
from uptime.config.regions import _file

#: The page reloads itself this often at most and at least (a refresh faster than every few
#: seconds only loads the server; one slower than an hour is a page nobody trusts).
SHORTEST_REFRESH = timedelta(seconds=5)
LONGEST_REFRESH = timedelta(hours=1)

#: A title longer than this does not fit a phone's header.
LONGEST_TITLE = 120


def _web(value: object, at: _At, base: Path) -> Web:
    if value is None:
        return Web()
    fields = _fields(value, at, {}, ("title", "refresh", "reader_token_file", "admin_token_file"))
    default = Web()
    reader = _get(fields, at, "reader_token_file", lambda v, a: _file(v, a, base), None)
    admin = _get(fields, at, "admin_token_file", lambda v, a: _file(v, a, base), None)
    if reader is not None and admin is not None and reader.resolve() == admin.resolve():
        raise at.key(fields, "admin_token_file").error(
            f"{admin} is also the reader_token_file", "a token file of the admin's own"
        )
    return Web(
        title=_get(fields, at, "title", _title, default.title),
        refresh=_get(fields, at, "refresh", _refresh, default.refresh),
        reader_token_file=reader,
        admin_token_file=admin,
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
