"""The Prometheus text exposition format (version 0.0.4), written for a large district.

A district of 1,000 vendors × 2 monitors × 3 regions exposes about 110,000 lines, most of them
the probe histogram. prometheus_client's ``Counter``/``Histogram`` and its writer take about a
second to collect and write that many (0.6 s to collect, 1.8 s to write on the benchmark VM,
docs/benchmarks.md): longer than Prometheus's scrape timeout allows for, and all of it holding
the GIL the probes need. So this module writes the format itself, in the way that costs least:
each series' label text is escaped once and kept, a series' lines are kept as one block until
its values change, and a scrape joins blocks. The output is checked against the client's own
parser and ``promtool check metrics`` in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

Kind = Literal["gauge", "counter", "histogram"]


def value_text(value: float) -> str:
    """A sample value as Prometheus writes it (``1.0``, ``2.5e-05``, ``+Inf``, ``NaN``)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escaped(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def labels_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``{a="x",b="y"}`` with each value escaped (backslash, double quote, newline)."""
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escaped(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def header(name: str, kind: Kind, help_text: str) -> str:
    """A family's ``# HELP`` and ``# TYPE`` lines."""
    doc = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


class Family:
    """One gauge family: its header, then a line per series. Label texts are kept between
    scrapes (a district's series are the same from one scrape to the next)."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.header = header(name, "gauge", help_text)
        self.label_names = tuple(label_names)
        self._prefixes: dict[tuple[str, ...], str] = {}
        self._lines: dict[tuple[str, ...], tuple[float, bytes]] = {}

    def prefix(self, labels: tuple[str, ...]) -> str:
        """``name{labels} `` of one series."""
        found = self._prefixes.get(labels)
        if found is None:
            found = self._prefixes[labels] = f"{self.name}{labels_text(self.label_names, labels)} "
        return found

    def line(self, labels: tuple[str, ...], value: float) -> str:
        """One series' sample line."""
        return f"{self.prefix(labels)}{value_text(value)}\n"

    def text(self, samples: Iterable[tuple[tuple[str, ...], float]]) -> bytes:
        """The family with these ``(labels, value)`` samples, UTF-8 (a series' line is kept
        while its value stays the same)."""
        kept = self._lines
        lines = [self.header.encode()]
        for labels, value in samples:
            line = kept.get(labels)
            if line is None or line[0] != value:
                line = kept[labels] = (value, self.line(labels, value).encode())
            lines.append(line[1])
        return b"".join(lines)
