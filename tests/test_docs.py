"""Docs that cannot drift (as sqlite-utils' tests/test_docs.py): every command is in the README
with an example in its --help, every configuration key is documented, and CI runs the README's
test line verbatim."""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
from pathlib import Path

import pytest

from reports import csv_report
from uptime.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
CI_RUN = ROOT / ".ci" / "run"

INSTALL_AND_RUN = "python -m pip install . && uptime-ledger demo"
INSTALL_AND_TEST = "python -m pip install -e '.[test]' && python -m pytest -q"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1, "uptime-ledger should have one set of subcommands"
    return dict(actions[0].choices)


COMMANDS = _subcommands()


def test_there_are_commands() -> None:
    assert {"check-config", "maintenance", "import-outages", "report"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help_with_an_example(name: str) -> None:
    sub = COMMANDS[name]
    assert sub.description, f"{name} has no description"
    assert sub.epilog and "example" in sub.epilog.lower(), f"{name} --help has no example"
    assert "uptime-ledger " in sub.epilog and name in sub.epilog, f"{name}: example not a command"
    assert "example" in sub.format_help().lower()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_in_the_readme(name: str) -> None:
    assert f"uptime-ledger {name}" in README, f"README.md does not mention uptime-ledger {name}"


# --------------------------------------------------------------------------------------------
# Configuration keys
#
# uptime/config/ checks every mapping with ``_fields(value, at, required, optional)``, where
# ``required`` is a dict (key → what is expected) and ``optional`` an iterable of keys, written
# either inline or as module-level constants (_MONITOR_REQUIRED, _SLA_OPTIONAL, ...). The keys are
# read from the source with ``ast``: any argument this cannot resolve fails the test loudly rather
# than being skipped.


def _literal_keys(node: ast.expr, constants: dict[str, ast.expr], where: str) -> set[str]:
    if isinstance(node, ast.Name):
        if node.id not in constants:
            raise AssertionError(f"{where}: cannot resolve {node.id!r} to a module constant")
        return _literal_keys(constants[node.id], constants, where)
    if isinstance(node, ast.Dict):
        keys = node.keys
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        keys = node.elts
    else:
        raise AssertionError(f"{where}: cannot read keys from {ast.unparse(node)!r}")
    found: set[str] = set()
    for key in keys:
        if isinstance(key, ast.Starred):
            found |= _literal_keys(key.value, constants, where)
        elif isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.add(key.value)
        else:
            raise AssertionError(f"{where}: cannot read a key from {ast.unparse(node)!r}")
    return found


def accepted_config_keys() -> dict[str, set[str]]:
    """Function in uptime/config/ → the keys its ``_fields`` calls accept."""
    trees = {
        path.name: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "uptime" / "config").glob("*.py"))
    }
    constants: dict[str, ast.expr] = {}
    for statement in (s for tree in trees.values() for s in tree.body):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            constants[statement.target.id] = statement.value
    keys: dict[str, set[str]] = {}
    for file, tree in trees.items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or function.name == "_fields":
                continue
            for call in ast.walk(function):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "_fields"
                ):
                    continue
                where = f"uptime/config/{file}:{call.lineno} ({function.name})"
                args = list(call.args[2:4])
                args += [kw.value for kw in call.keywords if kw.arg in ("required", "optional")]
                assert args, f"{where}: _fields call without required/optional keys"
                found = set().union(*(_literal_keys(arg, constants, where) for arg in args))
                keys.setdefault(function.name, set()).update(found)
    return keys


CONFIG_KEYS = accepted_config_keys()
ALL_CONFIG_KEYS = sorted(set().union(*CONFIG_KEYS.values()))


def test_config_keys_were_found() -> None:
    # Guards the extraction itself: these are sure to exist.
    expected = {"regions", "vendors", "monitors", "target_pct", "cron", "announced_at", "reason"}
    assert expected <= set(ALL_CONFIG_KEYS), CONFIG_KEYS
    assert len(CONFIG_KEYS) >= 10, CONFIG_KEYS


@pytest.mark.parametrize("key", ALL_CONFIG_KEYS)
def test_config_key_is_documented(key: str) -> None:
    assert re.search(rf"^\| `{re.escape(key)}` \|", CONFIGURATION_DOC, re.MULTILINE), (
        f"docs/configuration.md has no table row for the config key {key!r}"
    )


# --------------------------------------------------------------------------------------------
# Quick start and CI


def quick_start_lines() -> list[str]:
    match = re.search(
        r"^<!-- quick-start -->\n```bash\n(.*?)^```\n<!-- /quick-start -->$",
        README,
        re.MULTILINE | re.DOTALL,
    )
    assert match, "README.md has no ```bash block between <!-- quick-start --> markers"
    return match.group(1).splitlines()


def test_readme_quick_start_is_exactly_the_two_lines() -> None:
    assert quick_start_lines() == [INSTALL_AND_RUN, INSTALL_AND_TEST]
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert section.count("```bash") == 1, "the quick start has one fenced block"


def test_ci_runs_the_readme_test_line_verbatim() -> None:
    assert CI_RUN.stat().st_mode & 0o111, ".ci/run must be executable"
    printed = subprocess.run(
        ["bash", str(CI_RUN), "--print-test-command"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert printed == INSTALL_AND_TEST + "\n"
    assert printed.strip() == quick_start_lines()[1]


@pytest.mark.parametrize(
    "doc",
    ["contract-rules.md", "report-json.md", "configuration.md", "timing.md", "csv.md",
     "report-formats.md"],
)  # fmt: skip
def test_docs_linked_from_the_readme_exist(doc: str) -> None:
    assert f"(docs/{doc})" in README
    assert (ROOT / "docs" / doc).is_file()


# --------------------------------------------------------------------------------------------
# CSV columns: every column of each `--rows` shape has a row in its table of docs/csv.md, and
# the tables list no column the report does not write.


def _csv_doc_columns(rows: str) -> list[str]:
    doc = (ROOT / "docs" / "csv.md").read_text(encoding="utf-8")
    section = doc.split(f"## `--rows {rows}`", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE)


@pytest.mark.parametrize(
    ("rows", "columns"),
    [
        ("vendors", list(csv_report.VENDOR_COLUMNS)),
        ("interruptions", list(csv_report.INTERRUPTION_COLUMNS)),
    ],
    ids=["vendors", "interruptions"],
)
def test_csv_columns_are_documented(rows: str, columns: list[str]) -> None:
    assert _csv_doc_columns(rows) == columns, f"docs/csv.md `--rows {rows}` table"
