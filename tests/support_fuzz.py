"""Hostile vendors.yaml, maintenance_windows.yaml and outage CSV files, and their oracles.

Shared by tests/test_hostile_input.py (a derandomized CI-sized run) and bench/fuzz_inputs.py
(many more examples): both mutate valid files and check that every input gives a correct load
or one clear error naming the file and line, never another exception or a hang.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import yaml
from hypothesis import strategies as st

from uptime.cli import build_parser
from uptime.config import Config, ConfigError, load_config
from uptime.errors import UptimeLedgerError
from uptime.store.database import to_db_time

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = (ROOT / "vendors.yaml", ROOT / "maintenance_windows.yaml")


#: Outcomes of every example run in this process, by file and kind (bench/fuzz_inputs.py prints
#: them): "vendors loaded", "csv refused"...
TALLY: Counter[str] = Counter()


class Slow(Exception):
    """An example ran past its time: a hang, as far as the fuzzing is concerned."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Slow` in the main thread if the block runs past ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise Slow(f"ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------
# YAML: a tree that may hold the same key twice, written out as block YAML


class Pairs(list):  # type: ignore[type-arg]
    """A mapping as its (key, value) pairs, so that a key can be given twice."""


@dataclass(frozen=True)
class Raw:
    """Text written into the file as it is (plain scalars, flow collections, junk)."""

    text: str


def as_tree(value: object) -> object:
    if isinstance(value, dict):
        return Pairs((k, as_tree(v)) for k, v in value.items())
    if isinstance(value, list):
        return [as_tree(v) for v in value]
    return value


def _scalar(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value, ensure_ascii=False)


def emit(value: object, indent: int = 0) -> list[str]:
    """Block YAML lines for ``value``."""
    pad = " " * indent
    if isinstance(value, Pairs) and value:
        lines = []
        for key, item in value:
            if isinstance(item, Pairs | list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines += emit(item, indent + 2)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_flat(item)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, Pairs | list) and item:
                lines.append(f"{pad}-")
                lines += emit(item, indent + 2)
            else:
                lines.append(f"{pad}- {_flat(item)}")
        return lines
    return [pad + _flat(value)]


def _flat(value: object) -> str:
    if isinstance(value, Pairs):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def places(tree: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every path to a value in ``tree`` (a path is a tuple of pair or list indexes)."""
    found = [path]
    if isinstance(tree, Pairs):
        for index, (_, value) in enumerate(tree):
            found += places(value, (*path, index))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += places(value, (*path, index))
    return found


def _parent(tree: object, path: tuple[object, ...]) -> tuple[list, int]:  # type: ignore[type-arg]
    node = tree
    for index in path[:-1]:
        node = node[index][1] if isinstance(node, Pairs) else node[index]  # type: ignore[index]
    return node, path[-1]  # type: ignore[return-value]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.dates(),
    st.sampled_from(
        [
            "60s",
            "0s",
            "-5m",
            "5 business days",
            "America/Chicago",
            "Mars/Olympus",
            "99.9",
            "1e309",
            "NaN",
            "no",
            "~",
            "US",
            "https://x.example.invalid/",
            "tcp://h:99999",
            "2026-12-03T22:00:00",
            "2026-13-45T25:61:00Z",
            "0 2 * * thu",
            "61 25 * * *",
            "*",
        ]
    ),
    st.builds(Raw, st.text(alphabet="abc:-[]{},&*!|>'\"#%@` \t\n\\?", max_size=20)),
)
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(st.tuples(st.text(max_size=10), inner), max_size=4).map(Pairs)
    ),
    max_leaves=12,
)


@st.composite
def mutated_yaml(draw: st.DrawFn, text: str) -> tuple[str | bytes, str]:
    """A mutation of the YAML ``text``: (the new content, what was done)."""
    kind = draw(
        st.sampled_from(
            [
                "replace",
                "drop",
                "duplicate",
                "rename",
                "nest",
                "splice-text",
                "text",
                "bytes",
                "splice-bytes",
                "anchors",
            ]
        )
    )
    if kind == "text":
        return draw(st.text(max_size=300)), kind
    if kind == "bytes":
        return draw(st.binary(max_size=300)), kind
    if kind == "splice-text":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(max_size=30)) + text[at:], kind
    if kind == "splice-bytes":
        data = text.encode()
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:], kind
    tree = as_tree(yaml.safe_load(text) or {})
    if kind == "anchors":  # lists of aliases, merges of several, or merges chained
        levels = draw(st.integers(1, 12))
        fan = draw(st.integers(1, 12))
        shape = draw(st.sampled_from(["[{}]", "{{<<: [{}]}}", "{{<<: {}, k: 1}}"]))
        lines = ["x0: &x0 {k: lol}"] + [
            f"x{n}: &x{n} " + shape.format(", ".join([f"*x{n - 1}"] * (fan if "[" in shape else 1)))
            for n in range(1, levels)
        ]
        return "\n".join(lines) + "\n" + "\n".join(emit(tree)) + "\n", kind
    path = draw(st.sampled_from(places(tree)[1:] or [()]))
    if path:
        parent, index = _parent(tree, path)
        mapping = isinstance(parent, Pairs)
        if kind == "replace":
            value = draw(structures)
            parent[index] = (parent[index][0], value) if mapping else value
        elif kind == "drop":
            del parent[index]
        elif kind == "duplicate":
            parent.insert(index + 1, parent[index])
            kind = "duplicate-key" if mapping else "duplicate-item"
        elif kind == "rename" and mapping:
            parent[index] = (draw(st.text(max_size=12) | scalars), parent[index][1])
        elif kind == "nest":
            depth = draw(st.integers(1, 1100))  # libyaml itself stops at 1000
            opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
            value = Raw(opener * depth + "1" + closer * depth)
            parent[index] = (parent[index][0], value) if mapping else value
    return "\n".join(emit(tree)) + "\n", kind


def yaml_outcome(vendors: Path, maintenance: Path) -> Config | ConfigError:
    """Load the pair; a ``ConfigError`` is returned after checking it is one clear line naming
    one of the files (any other exception propagates: a crash)."""
    try:
        config = load_config(vendors, maintenance)
    except ConfigError as error:
        TALLY["yaml refused"] += 1
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith((f"{vendors}", f"{maintenance}")), message
        assert error.file in (str(vendors), str(maintenance))
        assert error.line is None or error.line >= 1
        return error
    TALLY["yaml loaded"] += 1
    return config


# --------------------------------------------------------------------------------------------
# CSV: rows whose validity the generator knows


CSV_VENDORS = """\
regions:
  chicago: {name: Chicago}
  atlanta: {name: Atlanta}
  dallas: {name: Dallas}
vendors:
  acme:
    name: Acme
    timezone: America/Chicago
    monitors:
      - {id: app, functional_area: App, url: "https://acme.example.invalid/", interval: 60s,
         timeout: 10s, critical: true, regions: [chicago, atlanta]}
    sla: {target_pct: 99.9, maintenance: counts}
  beta:
    name: Beta
    timezone: UTC
    monitors:
      - {id: app, functional_area: App, url: "https://beta.example.invalid/", interval: 60s,
         timeout: 10s, critical: true, regions: [dallas]}
    sla: {target_pct: 99.9, maintenance: counts}
"""
#: Which (vendor, region) rows count: a region that probes none of the vendor's monitors does not.
PROBED = {("acme", "chicago"), ("acme", "atlanta"), ("beta", "dallas")}
#: Rows already in the database before each import.
EXISTING = [("acme", "chicago", "2025-01-05T10:00:00+00:00", "2025-01-05T11:00:00+00:00", "old")]
OUTAGES_SQL = 'select vendor, region, start, "end", note from outages order by 1, 2, 3, 4, 5'


@dataclass(frozen=True)
class Cell:
    """A cell as written, and what it means: ``value`` None when the importer must refuse it."""

    text: str
    value: object


vendor_cells = st.sampled_from(
    [
        Cell("acme", "acme"),
        Cell(" beta ", "beta"),
        Cell("nosuch", None),
        Cell("", None),
        Cell("ACME", None),
    ]
)
region_cells = st.sampled_from(
    [
        Cell("chicago", "chicago"),
        Cell("atlanta ", "atlanta"),
        Cell("dallas", "dallas"),
        Cell("mars", None),
        Cell("", None),
    ]
)
_PAST_START = datetime(2020, 1, 1, tzinfo=UTC)


@st.composite
def time_cells(draw: st.DrawFn) -> Cell:
    kind = draw(st.sampled_from(["offset", "offset", "offset", "naive", "future", "junk", "old"]))
    if kind == "junk":
        return Cell(
            draw(
                st.sampled_from(
                    [
                        "yesterday",
                        "",
                        "2025-02-30T00:00:00Z",
                        "2025-02-10 10:00",
                        "٢٠٢٥-٠٢-١٠T10:00:00Z",
                        "2025-02-10T10:00:00+25:00",
                    ]
                )
            ),
            None,
        )
    if kind == "old":
        return Cell("0001-01-01T00:00:00+05:00", None)
    seconds = draw(st.integers(0, 5 * 365 * 86_400))
    instant = _PAST_START + timedelta(seconds=seconds)
    if kind == "future":
        later = instant + timedelta(days=70 * 365)
        return Cell(later.isoformat().replace("+00:00", "Z"), "future")
    if kind == "naive":  # a local time without offset, DST-ambiguous on 2025-11-02 in Chicago
        text = draw(
            st.sampled_from(["2025-11-02T01:30:00", instant.replace(tzinfo=None).isoformat()])
        )
        return Cell(text, None)
    offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
    local = instant.astimezone(timezone(offset))
    return Cell(" " + local.isoformat() + " ", instant)


note_cells = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=30,
)


@dataclass(frozen=True)
class CsvRow:
    vendor: Cell
    region: Cell
    start: Cell
    end: Cell
    note: str
    extra: bool  # one field too many

    def problem(self, now: datetime) -> bool:
        """True when the importer must refuse this row."""
        if self.extra or None in (self.vendor.value, self.region.value):
            return True
        if (self.vendor.value, self.region.value) not in PROBED:
            return True
        start, end = self.start.value, self.end.value
        if start is None or end is None or start == "future":
            return True
        return end == "future" or not end > start or end > now  # type: ignore[operator]

    def stored(self) -> tuple[str, str, str, str, str]:
        return (
            str(self.vendor.value),
            str(self.region.value),
            to_db_time(self.start.value),  # type: ignore[arg-type]
            to_db_time(self.end.value),  # type: ignore[arg-type]
            self.note.strip(),
        )


csv_rows = st.builds(
    CsvRow,
    vendor_cells,
    region_cells,
    time_cells(),
    time_cells(),
    note_cells,
    st.sampled_from([False] * 9 + [True]),
)


@st.composite
def clean_rows(draw: st.DrawFn) -> CsvRow:
    """A row the importer must take: a probed vendor and region, a past outage."""
    vendor, region = draw(st.sampled_from(sorted(PROBED)))
    start = _PAST_START + timedelta(seconds=draw(st.integers(0, 5 * 365 * 86_400)))
    end = start + timedelta(seconds=draw(st.integers(1, 30 * 86_400)))
    zone = timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60))))
    return CsvRow(
        Cell(vendor, vendor),
        Cell(region, region),
        Cell(start.astimezone(zone).isoformat(), start),
        Cell(end.astimezone(zone).isoformat(), end),
        draw(note_cells),
        False,
    )


#: Half the files all clean (each must import exactly), half with rows of every kind.
csv_files = st.lists(clean_rows(), max_size=6) | st.lists(csv_rows, max_size=6)


def write_rows(rows: list[CsvRow], quoting: int, terminator: str, bom: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=quoting, lineterminator=terminator)
    writer.writerow(["vendor", "region", "start", "end", "note"])
    for row in rows:
        cells = [row.vendor.text, row.region.text, row.start.text, row.end.text, row.note]
        writer.writerow(cells + (["surplus"] if row.extra else []))
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def encode_table(table: tuple[str, list[list[str]], str]) -> bytes:
    """A header and rows written with ``csv``, in an encoding (errors replaced)."""
    encoding, rows, header = table
    out = io.StringIO(newline="")
    out.write(header + "\n")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding, "replace")


class CsvWorld:
    """A configuration and a database template; each import runs on a fresh copy of it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.vendors = base / "vendors.yaml"
        self.maintenance = base / "maintenance_windows.yaml"
        self.vendors.write_text(CSV_VENDORS, encoding="utf-8")
        self.maintenance.write_text("{}\n", encoding="utf-8")
        self.template = base / "template.db"
        seed = base / "seed.csv"
        seed.write_text(
            "vendor,region,start,end,note\n" + "".join(",".join(r) + "\n" for r in EXISTING),
            encoding="utf-8",
        )
        code, _ = self.run_import(seed, self.template)
        assert code == 0
        self.before = self.rows(self.template)

    def run_import(self, csv_path: Path, db: Path) -> tuple[int, UptimeLedgerError | None]:
        """``uptime-ledger import-outages`` in this process: its exit status and its error."""
        args = build_parser().parse_args(
            [
                "--vendors",
                str(self.vendors),
                "--maintenance",
                str(self.maintenance),
                "--db",
                str(db),
                "import-outages",
                str(csv_path),
            ]
        )
        try:
            code = args.handler(args)
        except UptimeLedgerError as error:
            TALLY["csv refused"] += 1
            return error.exit_code, error
        TALLY["csv imported"] += 1
        return code, None

    def fresh_db(self) -> Path:
        db = self.base / "fuzz.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template, db)
        return db

    @staticmethod
    def rows(db: Path) -> list[tuple[str, ...]]:
        with sqlite3.connect(db) as conn:
            return conn.execute(OUTAGES_SQL).fetchall()

    def check_error(self, error: UptimeLedgerError, csv_path: Path, db: Path) -> list[int]:
        """One line per problem, each naming the file and a line; nothing imported. Returns
        the lines named."""
        lines = error.lines()
        assert lines, error
        named = []
        for line in lines:
            assert "\n" not in line and "\r" not in line, line
            assert line.startswith(f"{csv_path}:"), line
            number = line[len(f"{csv_path}:") :].split(":", 1)[0]
            assert number.isdigit(), line
            named.append(int(number))
        assert self.rows(db) == self.before, "an import that failed changed the database"
        return named
