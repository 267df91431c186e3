"""Hostile vendors.yaml, maintenance_windows.yaml and outage CSV files (issue 10, item 4).

Known cases first, each a test; then Hypothesis fuzzing, derandomized so CI runs the same
examples every time (bench/fuzz_inputs.py runs many more): every input gives a correct load or
one clear error naming the file and line, never another exception, never a hang, and a refused
CSV leaves the database as it was.
"""

from __future__ import annotations

import csv
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_cli import uptime_ledger
from support_fuzz import (
    SHIPPED,
    CsvRow,
    CsvWorld,
    csv_files,
    encode_table,
    mutated_yaml,
    time_limit,
    write_rows,
    yaml_outcome,
)

from uptime.config import Config, ConfigError, load_config, render_config
from uptime.config.positioned_yaml import MOST_DEPTH, MOST_MERGED, MOST_VALUES, _load_yaml
from uptime.sources.imported import ImportRejected, read_outages_csv

MONITOR = (
    "{id: app, functional_area: Login, url: 'https://acme.example.invalid/', interval: 60s,"
    " timeout: 10s, critical: true}"
)


def vendors_with_monitors(monitors: str, extra: str = "") -> str:
    """A vendors.yaml of one vendor whose ``monitors:`` block is ``monitors``."""
    return (
        "regions:\n  chicago: {name: Chicago}\n  atlanta: {name: Atlanta}\n"
        f"{extra}"
        "vendors:\n  acme:\n    name: Acme\n    timezone: America/Chicago\n    monitors:\n"
        f"{monitors}"
        "    sla: {target_pct: 99.9, maintenance: counts}\n"
    )


def load(tmp_path: Path, vendors: str, maintenance: str = "{}\n") -> Config:
    (tmp_path / "vendors.yaml").write_text(vendors, encoding="utf-8")
    (tmp_path / "maintenance_windows.yaml").write_text(maintenance, encoding="utf-8")
    return load_config(tmp_path / "vendors.yaml", tmp_path / "maintenance_windows.yaml")


def refused(tmp_path: Path, vendors: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, vendors)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "vendors.yaml"))
    return caught.value


# --------------------------------------------------------------------------------------------
# YAML merge keys: honoured as YAML 1.1 has them


def test_a_merge_key_overriding_one_field_is_honoured(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        vendors_with_monitors(
            f"      - &m {MONITOR}\n"  # line 9
            "      - {<<: *m, id: app2, critical: false}\n"
        ),
    )
    first, second = config.vendor("acme").monitors
    assert (first.id, first.critical) == ("app", True)
    assert (second.id, second.critical) == ("app2", False)
    assert (second.url, second.interval, second.functional_area) == (
        first.url,
        first.interval,
        "Login",
    )


def test_merge_keys_follow_yaml_1_1(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "a: &a {x: 1, y: 1}\n"  # 1
        "b: &b {y: 2, z: 2}\n"  # 2
        "c: {w: 3, <<: [*a, *b], x: 3}\n"  # 3: written keys win; of the merged, the earlier
        "d: {<<: *a}\n",
        encoding="utf-8",
    )
    data = _load_yaml(path, "m.yaml")
    assert data["c"] == {"w": 3, "x": 3, "y": 1, "z": 2}
    # A merged key is located where it was written, a written one where it stands.
    assert data["c"].key_lines == {"w": 3, "x": 3, "y": 1, "z": 2}
    assert data["d"] == {"x": 1, "y": 1} and not data["d"].duplicates


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        vendors_with_monitors(f"      - &m {MONITOR}\n      - {{<<: *m, id: app2, id: app3}}\n"),
    )
    assert error.line == 10 and "duplicate key 'id'" in error.problem


@pytest.mark.parametrize(
    ("merge", "says"),
    [
        ("<<: 5", "a merge key (<<) given a plain value"),
        ("<<: [*m, [1]]", "a merge key (<<) given a list"),
        ("<<: *m, <<: *m", "duplicate key '<<'"),
    ],
    ids=["scalar", "list-in-list", "two-merge-keys"],
)
def test_a_bad_merge_key_is_refused_naming_the_line(tmp_path: Path, merge: str, says: str) -> None:
    error = refused(tmp_path, vendors_with_monitors(f"      - &m {MONITOR}\n      - {{{merge}}}\n"))
    assert error.line == 10 and says in str(error), error


def test_an_alias_inside_what_it_names_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, vendors_with_monitors("      - &m {<<: *m, id: app}\n"))
    assert error.line == 9 and "an alias used inside the mapping or list it names" in str(error)


# --------------------------------------------------------------------------------------------
# YAML that would cost millions of values, or nest without end


def laughs(levels: int = 9, fan: int = 9) -> str:
    """The "billion laughs": each line's alias list stands for ``fan`` of the line above."""
    lines = ["    - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"    - &l{n} [{', '.join([f'*l{n - 1}'] * fan)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once_naming_the_line(tmp_path: Path) -> None:
    # 9 ** 9 lols in 10 lines, under a key the validator would walk.
    vendors = vendors_with_monitors(f"      - {MONITOR}\n", extra="x:\n  laughs:\n" + laughs())
    started = time.perf_counter()
    error = refused(tmp_path, vendors)
    elapsed = time.perf_counter() - started
    # &l6 stands for 1 + 9 * (1 + 9 * (... 10)) = 5,380,840 values, the first past 2,000,000:
    # it is on line 12 (&l0 on line 6, after the regions, "x:" and "laughs:").
    assert error.line == 12, error
    assert f"expand to more than {MOST_VALUES:,} values" in str(error)
    assert elapsed < 30  # a hang guard, not a speed target (bench/fuzz_inputs.py measures it)


def test_chained_merge_keys_are_refused_before_they_take_quadratic_time(tmp_path: Path) -> None:
    chain = "".join(f"  m{n}: &m{n} {{<<: *m{n - 1}, k{n}: 1}}\n" for n in range(1, 1000))
    error = refused(tmp_path, "x:\n  m0: &m0 {k0: 1}\n" + chain)
    assert f"merge keys (<<) copy more than {MOST_MERGED:,} keys in all" in str(error)


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_is_refused_naming_the_line(tmp_path: Path, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    for depth in (MOST_DEPTH + 1, 900, 100_000):  # 900 was a RecursionError; libyaml stops at 1000
        error = refused(tmp_path, "regions: " + opener * depth + "1" + closer * depth + "\n")
        assert error.line == 1 and "nest" in str(error), error


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "vendors.yaml"
    with path.open("wb") as file:
        file.truncate(33 * 1024 * 1024)  # sparse: no memory or disk spent
    with pytest.raises(ConfigError, match=r"vendors\.yaml: larger than 32 MiB"):
        load_config(path, SHIPPED[1])


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("regions: !!set {a, b}\n", 1, "the tag 'tag:yaml.org,2002:set'"),
        ("regions:\n  a: !!omap [{b: 1}]\n", 2, "the tag 'tag:yaml.org,2002:omap'"),
        ("regions: !!python/object:os.system x\n", 1, "could not determine a constructor"),
        ("regions: {}\nvendors: \x00\n", 2, "the control character U+0000"),
        ("regions: {}\nvendors: caf\xe9\n".encode("latin-1"), 2, "not UTF-8 text"),
        ("? [a]\n: 1\n", 1, "a mapping key that is a list or a mapping"),
    ],
    ids=["set", "omap", "python-tag", "nul", "latin-1", "list-key"],
)
def test_odd_yaml_is_one_located_error(
    tmp_path: Path, text: str | bytes, line: int, says: str
) -> None:
    path = tmp_path / "vendors.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as caught:
        load_config(path, SHIPPED[1])
    assert caught.value.line == line and says in str(caught.value), caught.value


# --------------------------------------------------------------------------------------------
# CSV known cases


def test_a_duplicated_end_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "vendor,region,start,end,end\n"
        "acme,chicago,2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,2025-01-01T05:00:00Z\n"
    )
    with pytest.raises(ImportRejected) as caught:
        read_outages_csv(path, {"acme": ["chicago"]}, ["chicago"])
    assert caught.value.lines() == [
        f"{path}:1: header: column(s) end given twice; expected vendor,region,start,end[,note]"
    ]


def test_a_row_from_a_region_that_probes_none_of_the_vendors_monitors_is_refused(
    tmp_path: Path,
) -> None:
    world = CsvWorld(tmp_path)
    path = tmp_path / "o.csv"
    path.write_text(
        "vendor,region,start,end\n"
        "acme,chicago,2025-02-01T00:00:00Z,2025-02-01T01:00:00Z\n"
        "acme,dallas,2025-02-01T00:00:00Z,2025-02-01T01:00:00Z\n"  # line 3
        "beta,dallas,2025-02-01T00:00:00Z,2025-02-01T01:00:00Z\n"
    )
    done = uptime_ledger(
        "--vendors", world.vendors, "--maintenance", world.maintenance,
        "--db", tmp_path / "u.db", "import-outages", path, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"uptime-ledger: error: {path}:3: region: 'dallas' probes none of acme's monitors, so "
        "its outages would never count; expected a region that probes acme: chicago, atlanta",
        "uptime-ledger: nothing was imported",
    ]


def test_a_multi_line_cell_keeps_each_problem_on_one_line(tmp_path: Path) -> None:
    # The date-time separator may be any character, a line break included: found by fuzzing.
    path = tmp_path / "o.csv"
    path.write_text(
        'vendor,region,start,end\nacme,chicago,2025-02-01T05:00:00Z,"2025-02-01\n01:00:00Z"\n'
    )
    with pytest.raises(ImportRejected) as caught:
        read_outages_csv(path, {"acme": ["chicago"]}, ["chicago"])
    assert caught.value.lines() == [f"{path}:3: end: '2025-02-01\\n01:00:00Z' is not after start"]


# --------------------------------------------------------------------------------------------
# Fuzzing: derandomized (the same examples on every run), each example under a time limit

#: bench/fuzz_inputs.py sets these: many times more examples, from a random seed.
SCALE = int(os.environ.get("UPTIME_FUZZ_SCALE", "1"))
FUZZ = settings(
    derandomize="UPTIME_FUZZ_RANDOM" not in os.environ,
    database=None,
    deadline=None,  # time_limit() bounds each example instead, hangs included
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EXAMPLE_SECONDS = 10


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _yaml_example(content: str | bytes, kind: str, vendors: Path, maintenance: Path) -> None:
    target = vendors if "vendors" in kind else maintenance
    target.write_bytes(
        content if isinstance(content, bytes) else content.encode("utf-8", "replace")
    )
    with time_limit(EXAMPLE_SECONDS):
        outcome = yaml_outcome(vendors, maintenance)
        if isinstance(outcome, Config):
            render_config(outcome)  # what check-config prints: accepted values must render
    if kind.endswith("duplicate-key"):
        assert isinstance(outcome, ConfigError) and "duplicate key" in outcome.problem, outcome


@settings(FUZZ, max_examples=150 * SCALE)
@given(st.data())
def test_fuzzed_vendors_yaml_loads_or_is_one_located_error(
    fuzz_dir: Path, data: st.DataObject
) -> None:
    content, kind = data.draw(mutated_yaml(SHIPPED[0].read_text(encoding="utf-8")))
    vendors, maintenance = fuzz_dir / "vendors.yaml", SHIPPED[1]
    _yaml_example(content, "vendors " + kind, vendors, maintenance)


@settings(FUZZ, max_examples=100 * SCALE)
@given(st.data())
def test_fuzzed_maintenance_yaml_loads_or_is_one_located_error(
    fuzz_dir: Path, data: st.DataObject
) -> None:
    content, kind = data.draw(mutated_yaml(SHIPPED[1].read_text(encoding="utf-8")))
    _yaml_example(content, "maintenance " + kind, SHIPPED[0], fuzz_dir / "maintenance_windows.yaml")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> CsvWorld:
    return CsvWorld(tmp_path_factory.mktemp("csv"))


@settings(FUZZ, max_examples=120 * SCALE)
@given(
    rows=csv_files,
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_fuzzed_csv_imports_exactly_its_rows_or_names_every_bad_one(
    world: CsvWorld, rows: list[CsvRow], quoting: int, terminator: str, bom: bool
) -> None:
    path = world.base / "fuzz.csv"
    path.write_bytes(write_rows(rows, quoting, terminator, bom))
    db = world.fresh_db()
    with time_limit(EXAMPLE_SECONDS):
        code, error = world.run_import(path, db)
    bad = [n for n, row in enumerate(rows, start=2) if row.problem(datetime.now(UTC))]
    if bad:
        assert isinstance(error, ImportRejected), (code, rows)
        assert world.check_error(error, path, db) == bad
    else:
        assert code == 0 and error is None, error
        # An outage is its vendor, region, start and end: a second row of the same outage (a
        # re-import, or another note) is "already imported" and changes nothing.
        expected = {stored[:4]: stored for stored in world.before}
        for row in rows:
            expected.setdefault(row.stored()[:4], row.stored())
        assert world.rows(db) == sorted(expected.values())


@settings(FUZZ, max_examples=120 * SCALE)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.tuples(
            st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]),
            st.lists(
                st.lists(
                    st.one_of(
                        st.sampled_from(
                            [
                                "acme",
                                "beta",
                                "chicago",
                                "dallas",
                                "mars",
                                "2025-01-01T00:00:00Z",
                                "2025-11-02T01:30:00",
                                "2099-01-01T00:00:00+14:00",
                                '"',
                                "\x00",
                                "é",
                            ]
                        ),
                        st.text(max_size=12),
                        st.integers(1, 200_000).map(lambda n: "x" * n),  # past the field limit
                    ),
                    max_size=8,
                ),
                max_size=6,
            ),
            st.sampled_from(
                [
                    "vendor,region,start,end,note",
                    "vendor,region,start,end",
                    "end,start,region,vendor",
                    "Vendor, Region ,START,end",
                    "",
                ]
            ),
        ).map(encode_table),
    )
)
def test_fuzzed_csv_bytes_import_or_are_refused_leaving_the_database_alone(
    world: CsvWorld, data: bytes
) -> None:
    path = world.base / "wild.csv"
    path.write_bytes(data)
    db = world.fresh_db()
    with time_limit(EXAMPLE_SECONDS):
        code, error = world.run_import(path, db)
    if error is None:
        assert code == 0
        assert set(world.before) <= set(world.rows(db))
    else:
        assert isinstance(error, ImportRejected), error
        world.check_error(error, path, db)
