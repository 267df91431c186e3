"""A vendor's ``sla.claim`` in vendors.yaml: where its claims go and the users they name.

ClassSwift §4.4 asks a claim to "list usernames and email addresses affected by the Downtime":
they are listed inline (``affected_users``) or in a CSV file with the header
``username,email`` (``affected_users_file``, relative to vendors.yaml), one of the two.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from uptime.config.errors import ConfigError
from uptime.config.fields import _At, _fields, _get, _items, _text
from uptime.config.model import AffectedUser, ClaimContact
from uptime.config.regions import _file

_CLAIM_REQUIRED = {"send_to": "the e-mail address the vendor takes claims at"}
_CLAIM_OPTIONAL = ("affected_users", "affected_users_file")
_USER_REQUIRED = {
    "username": "the user's login name",
    "email": "the user's e-mail address",
}

# One "@", no spaces, a dot in the domain: enough to catch a pasted name or a typo, no more.
_EMAIL_RE = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+", re.ASCII)
EMAIL_FORMS = "an e-mail address like name@district.example"

#: More users than any claim needs; a larger file is most likely the wrong file.
MOST_USERS = 100_000


def _email(value: object, at: _At) -> str:
    if not isinstance(value, str) or not _EMAIL_RE.fullmatch(value.strip()):
        raise at.got(value, EMAIL_FORMS)
    return value.strip()


def _users(value: object, at: _At) -> tuple[AffectedUser, ...]:
    items = _items(value, at, "users like {username: jdoe, email: jdoe@district.example}")
    users = []
    for index, item in enumerate(items):
        where = at.item(items, index)
        fields = _fields(item, where, _USER_REQUIRED)
        users.append(
            AffectedUser(
                _text(fields["username"], where.key(fields, "username")),
                _email(fields["email"], where.key(fields, "email")),
            )
        )
    return tuple(users)


def _users_file(path: Path, at: _At) -> tuple[AffectedUser, ...]:
    """The users of a CSV file ``username,email``; a problem names the file, line and column."""
    label = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problem = f"cannot read {label}: {error.strerror or error}"
        raise at.error(problem, "a readable CSV file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(label, line, "", "is not UTF-8 text", "a UTF-8 CSV file") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or [h.strip() for h in header] != ["username", "email"]:
        raise ConfigError(label, 1, "", f"header is {header!r}", "the header username,email")
    users = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise ConfigError(label, line, "", f"{len(row)} columns", "2 columns: username,email")
        username, email = (cell.strip() for cell in row)
        if not username:
            raise ConfigError(label, line, "username", "is empty", "the user's login name")
        if not _EMAIL_RE.fullmatch(email):
            raise ConfigError(label, line, "email", f"got {email!r}", EMAIL_FORMS)
        users.append(AffectedUser(username, email))
        if len(users) > MOST_USERS:
            raise ConfigError(label, line, "", f"more than {MOST_USERS:,} users", "fewer users")
    return tuple(users)


def _claim(value: object, at: _At, base: Path) -> ClaimContact:
    fields = _fields(value, at, _CLAIM_REQUIRED, _CLAIM_OPTIONAL)
    if "affected_users" in fields and "affected_users_file" in fields:
        raise at.key(fields, "affected_users_file").error(
            "both affected_users and affected_users_file are given", "one of the two"
        )
    users = _get(fields, at, "affected_users", _users, ())
    if "affected_users_file" in fields:
        where = at.key(fields, "affected_users_file")
        path = _file(fields["affected_users_file"], where, base)
        if path is None:
            raise where.got(None, "a CSV file path, relative to this file's directory")
        users = _users_file(path, where)
    return ClaimContact(_email(fields["send_to"], at.key(fields, "send_to")), users)
