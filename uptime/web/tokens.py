"""Bearer tokens: each region's (its agents write results), and the reader's and the admin's
(they read finance figures), from files or the environment."""

from __future__ import annotations

import hmac
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from uptime.config import Config, Region
from uptime.config.positioned_yaml import key_place
from uptime.errors import UptimeLedgerError

#: Shortest agent token the collector accepts (a guessable token is no token).
MIN_TOKEN_LENGTH = 16


class SetupError(UptimeLedgerError):
    """The collector cannot start (a token file is missing...); one line for the operator."""

    exit_code = 2


#: The most a token file may hold: a token is a line of a few dozen characters, and reading
#: more would let a wrong path (``/dev/zero``, a log) take memory or time without end.
MAX_TOKEN_FILE = 4096


def read_token(path: Path) -> str:
    """A bearer token from a file: its text without surrounding whitespace. Only a regular
    file of at most :data:`MAX_TOKEN_FILE` bytes (not a device or a pipe, which could be
    endless or never answer)."""
    try:
        # O_NONBLOCK: opening a pipe must not wait for a writer; checked below, never read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SetupError(f"{path}: the token file is not a regular file")
            data = file.read(MAX_TOKEN_FILE + 1)
    except OSError as exc:
        raise SetupError(f"{path}: cannot read the token file ({exc.strerror})") from None
    if len(data) > MAX_TOKEN_FILE:
        raise SetupError(
            f"{path}: the token file is larger than {MAX_TOKEN_FILE} bytes; it should hold "
            "one token"
        )
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SetupError(f"{path}: the token file is not UTF-8 text") from None
    return _checked(token, str(path))


#: Where ``uptime-ledger agent`` finds its token without ``--token-file``.
AGENT_TOKEN_ENV = "UPTIME_LEDGER_AGENT_TOKEN"


def agent_token(path: Path | None, environ: Mapping[str, str]) -> str:
    """A remote agent's token: from ``--token-file`` ``path``, else from the environment
    variable :data:`AGENT_TOKEN_ENV`."""
    if path is not None:
        try:
            return read_token(path)
        except SetupError as error:
            raise SetupError(f"--token-file {error}") from None
    given = environ.get(AGENT_TOKEN_ENV)
    if given is None:
        raise SetupError(
            f"no token: give --token-file F or set the environment variable {AGENT_TOKEN_ENV}"
        )
    return _checked(given.strip(), f"the environment variable {AGENT_TOKEN_ENV}")


def _checked(token: str, where: str) -> str:
    """``token`` if it is long enough and has no whitespace; else a :class:`SetupError` naming
    ``where`` it came from (never the value itself: it is a password)."""
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise SetupError(
            f"{where}: expected one token of at least {MIN_TOKEN_LENGTH} characters without "
            "spaces (e.g. from `openssl rand -hex 32`)"
        )
    return token


def readable_by_others(path: Path) -> bool:
    """Whether users other than the file's owner (its group, or everyone) may read it."""
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def token_warnings(config: Config) -> list[str]:
    """One line per token file that others than its owner may read (a token is a password)."""
    named = [
        (f"regions.{region.id}.token_file", region.token_file)
        for region in config.regions
        if region.token_file is not None
    ]
    named += [
        (f"web.{key}", path)
        for key, path in (
            ("reader_token_file", config.web.reader_token_file),
            ("admin_token_file", config.web.admin_token_file),
        )
        if path is not None
    ]
    return [
        f"{_place(config, key)}: {key}: {path} is readable by other users; restrict it: "
        f"chmod 600 {path}"
        for key, path in named
        if readable_by_others(path)
    ]


def _place(config: Config, key: str) -> str:
    """``vendors.yaml:LINE`` of the setting ``key`` (dotted, e.g. ``web.reader_token_file``)."""
    return key_place(config.vendors_path, tuple(key.split(".")))


def region_tokens(config: Config, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The bearer token of every remote region, from its ``token_file`` or its ``token_env``
    variable (of ``environ``, default the process's). Two regions holding the same token are
    refused, as two naming one file are (at load): one
    region's agents could write the other's results, and the collector could not tell whose
    a batch is."""
    environ = os.environ if environ is None else environ
    tokens: dict[str, str] = {}
    for region in config.regions:
        if not region.remote:
            continue
        key = f"regions.{region.id}.{'token_file' if region.token_file else 'token_env'}"
        try:
            token = _region_token(region, environ)
        except SetupError as exc:
            raise SetupError(f"{_place(config, key)}: {key}: {exc}") from None
        same = matching(token, tokens)
        if same is not None:
            raise SetupError(
                f"{_place(config, key)}: {key}: {_token_source(region)} holds the same token "
                f"as region {same}'s ({_token_source(config.region(same))}); give each "
                "region its own"
            )
        tokens[region.id] = token
    return tokens


def _region_token(region: Region, environ: Mapping[str, str]) -> str:
    if region.token_file is not None:
        return read_token(region.token_file)
    assert region.token_env is not None
    given = environ.get(region.token_env)
    if given is None:
        raise SetupError(f"the environment variable {region.token_env} is not set")
    return _checked(given.strip(), f"the environment variable {region.token_env}")


def _token_source(region: Region) -> str:
    if region.token_file is not None:
        return str(region.token_file)
    return f"the environment variable {region.token_env}"


#: The environment variables that may hold the reader's and the admin's token instead of
#: ``web.reader_token_file`` and ``web.admin_token_file``.
READER_TOKEN_ENV = "UPTIME_LEDGER_READER_TOKEN"
ADMIN_TOKEN_ENV = "UPTIME_LEDGER_ADMIN_TOKEN"


def _finance_token(
    config: Config, key: str, path: Path | None, variable: str, environ: Mapping[str, str]
) -> str | None:
    given = environ.get(variable)
    if given is not None and path is not None:
        raise SetupError(
            f"{_place(config, f'web.{key}')}: web.{key} and the environment variable "
            f"{variable} are both set; keep one"
        )
    if path is not None:
        try:
            return read_token(path)
        except SetupError as exc:
            raise SetupError(f"{_place(config, f'web.{key}')}: web.{key}: {exc}") from None
    return None if given is None else _checked(given.strip(), variable)


def finance_tokens(
    config: Config, regions: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The tokens that may read finance figures, by role (``reader``, ``admin``): from
    ``web.reader_token_file`` / ``web.admin_token_file`` or the environment variables
    :data:`READER_TOKEN_ENV` / :data:`ADMIN_TOKEN_ENV` (one of the two for each; neither: no
    such role). A token that is also a region's is refused: an agent's token must not read
    finance figures (``regions``: the regions' tokens, :func:`region_tokens`)."""
    environ = os.environ if environ is None else environ
    web = config.web
    found = {
        role: token
        for role, token in (
            (
                "reader",
                _finance_token(
                    config, "reader_token_file", web.reader_token_file, READER_TOKEN_ENV, environ
                ),
            ),
            (
                "admin",
                _finance_token(
                    config, "admin_token_file", web.admin_token_file, ADMIN_TOKEN_ENV, environ
                ),
            ),
        )
        if token is not None
    }
    if len(found) == 2 and hmac.compare_digest(found["reader"].encode(), found["admin"].encode()):
        raise SetupError("the reader's and the admin's tokens are the same; give each its own")
    for role, token in found.items():
        region = matching(token, regions)
        if region is not None:
            raise SetupError(
                f"the {role}'s token is also region {region}'s; an agent's token must not "
                "read finance figures"
            )
    return found


def matching(given: str, tokens: Mapping[str, str]) -> str | None:
    """The key of ``tokens`` whose token ``given`` is, or None: compared in constant time with
    every one of them (however early one matches), so the time taken says nothing about the
    tokens."""
    encoded = given.encode()
    found = None
    for key, token in tokens.items():
        if hmac.compare_digest(encoded, token.encode()):
            found = key
    return found
