"""Agent bearer tokens: read from the regions token files."""

from __future__ import annotations

import stat
from pathlib import Path

from uptime.config import Config
from uptime.errors import UptimeLedgerError

#: Shortest agent token the collector accepts (a guessable token is no token).
MIN_TOKEN_LENGTH = 16


class SetupError(UptimeLedgerError):
    """The collector cannot start (a token file is missing...); one line for the operator."""

    exit_code = 2


def read_token(path: Path) -> str:
    """A bearer token from a file: its text without surrounding whitespace."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SetupError(f"{path}: cannot read the token file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SetupError(f"{path}: the token file is not UTF-8 text") from None
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise SetupError(
            f"{path}: expected one token of at least {MIN_TOKEN_LENGTH} characters without "
            "spaces (e.g. from `openssl rand -hex 32`)"
        )
    return token


def readable_by_others(path: Path) -> bool:
    """Whether users other than the file's owner (its group, or everyone) may read it."""
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def token_warnings(config: Config) -> list[str]:
    """One line per token file that others than its owner may read (a token is a password)."""
    return [
        f"{config.vendors_path}: regions.{region.id}.token_file: {region.token_file} is "
        f"readable by other users; restrict it: chmod 600 {region.token_file}"
        for region in config.regions
        if region.token_file is not None and readable_by_others(region.token_file)
    ]


def region_tokens(config: Config) -> dict[str, str]:
    """The bearer token of every region that has a ``token_file`` (remote agents)."""
    tokens = {}
    for region in config.regions:
        if region.token_file is not None:
            try:
                tokens[region.id] = read_token(region.token_file)
            except SetupError as exc:
                raise SetupError(
                    f"{config.vendors_path}: regions.{region.id}.token_file: {exc}"
                ) from None
    return tokens
