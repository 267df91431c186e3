"""YAML loaded with the line and column of every mapping key and sequence item.

Hostile files are refused before they can cost much: a file over ``MOST_BYTES``, nesting deeper
than ``MOST_DEPTH``, or anchors and aliases that expand to more than ``MOST_VALUES`` values (the
"billion laughs": a few lines whose aliases stand for millions of values) each give one
``ConfigError`` naming the line. Merge keys (``<<: *base``) follow YAML 1.1: keys written in the
mapping override merged ones, and of several merged mappings (``<<: [*a, *b]``) the earlier wins.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from uptime.config.errors import ConfigError

#: The largest file read: a thousand vendors of ten monitors each take 1.5 MB.
MOST_BYTES = 32 * 1024 * 1024
#: Mappings and lists inside each other; vendors.yaml needs 6.
MOST_DEPTH = 64
#: Values (keys, scalars, mappings, lists) once every alias is expanded: more than ten times
#: those of a thousand vendors of ten monitors each (144,000).
MOST_VALUES = 2_000_000
#: Keys copied in by merge keys (``<<``), all mappings together: each of 10,000 monitors
#: merging a template of 20 keys. Copying is what costs (chained merges, each mapping merging
#: the one before, would take quadratic time), so it has its own, smaller budget.
MOST_MERGED = 200_000


# --------------------------------------------------------------------------------------------
# YAML with positions


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where each of its keys and values start."""

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[object, int] = {}
        self.value_lines: dict[object, int] = {}
        self.duplicates: list[tuple[object, int, int]] = []  # (key, line, first line)
        self.size = 1  # values it stands for, its own included, aliases expanded


class _Seq(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers where each item starts."""

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []
        self.size = 1


class _Refused(Exception):
    """A file the loader will not build (too deep, too many values, a bad merge), at a mark."""

    def __init__(self, mark: yaml.Mark | None, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.line = mark.line + 1 if mark is not None else None
        self.problem = problem
        self.expected = expected


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader keeping line numbers; booleans are only true/false (``NO`` stays Norway).

    libyaml's parser when PyYAML has it: ten times faster on a district with many vendors."""

    depth = 0  # collections being built, one inside the other
    merged = 0  # keys looked at by merge keys so far


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"


def _size(value: object) -> int:
    return value.size if isinstance(value, _Map | _Seq) else 1


def _construct(loader: _Loader, node: yaml.Node) -> object:
    # Most nodes are plain strings; taking their text directly (what PyYAML's str constructor
    # does) skips its generic dispatch, a third of the load time for a thousand vendors.
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return loader.construct_object(node, deep=True)


def _enter(loader: _Loader, node: yaml.Node) -> None:
    if loader.depth >= MOST_DEPTH:
        raise _Refused(
            node.start_mark,
            f"mappings and lists nested more than {MOST_DEPTH} deep",
            f"at most {MOST_DEPTH} levels (a configuration needs a handful)",
        )
    loader.depth += 1


def _sized(node: yaml.Node, collection: _Map | _Seq, values: int) -> None:
    """Record how many values ``collection`` stands for (what a reader walking the result
    visits), refusing past ``MOST_VALUES``. An aliased collection is built once and shared,
    so the count costs nothing however often it is used."""
    collection.size = 1 + values
    if collection.size > MOST_VALUES:
        raise _Refused(
            node.start_mark,
            f"anchors and aliases here expand to more than {MOST_VALUES:,} values",
            "a file that writes its values out, using each alias a few times",
        )


def _merged(loader: _Loader, key_node: yaml.Node, value_node: yaml.Node) -> list[_Map]:
    """The mappings a merge key (``<<``) brings in, the one that wins first."""
    sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
    merged = []
    for source in sources:
        if not isinstance(source, yaml.MappingNode):
            given = "a list" if isinstance(source, yaml.SequenceNode) else "a plain value"
            raise _Refused(
                source.start_mark,
                f"a merge key (<<) given {given}",
                "an alias of a mapping (<<: *name) or a list of them (<<: [*a, *b])",
            )
        merged.append(loader.construct_object(source, deep=True))
    return merged


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    _enter(loader, node)
    entries = []  # (key or None for a merge, key node, value node), in file order
    merge_line = None
    written = set()
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            entries.append((None, key_node, value_node))
            continue
        if key_node.tag == _VALUE_TAG:  # the "=" key, a plain string since YAML 1.2
            key_node.tag = _STR_TAG
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise _Refused(
                key_node.start_mark, "a mapping key that is a list or a mapping", "a plain key"
            ) from None
        entries.append((key, key_node, value_node))
        written.add(key)
    result = _Map()
    values = 0
    for key, key_node, value_node in entries:
        key_line = key_node.start_mark.line + 1
        if key_node.tag == _MERGE_TAG:
            if merge_line is not None:
                result.duplicates.append(("<<", key_line, merge_line))
                continue
            merge_line = key_line
            for source in _merged(loader, key_node, value_node):
                loader.merged += len(source)
                if loader.merged > MOST_MERGED:
                    raise _Refused(
                        key_node.start_mark,
                        f"merge keys (<<) copy more than {MOST_MERGED:,} keys in all",
                        "merge keys used for a handful of settings each",
                    )
                result.duplicates.extend(source.duplicates)
                for name, value in source.items():
                    if name in written or name in result:
                        continue  # a key written here, or in an earlier merged mapping, wins
                    result[name] = value
                    result.key_lines[name] = source.key_lines[name]
                    result.value_lines[name] = source.value_lines[name]
                    values += 1 + _size(value)
            continue
        if key in result:
            result.duplicates.append((key, key_line, result.key_lines[key]))
            continue
        result[key] = value = _construct(loader, value_node)
        result.key_lines[key] = key_line
        result.value_lines[key] = value_node.start_mark.line + 1
        values += _size(key) + _size(value)
    _sized(node, result, values)
    loader.depth -= 1
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    _enter(loader, node)
    result = _Seq()
    values = 0
    for item in node.value:
        result.append(value := _construct(loader, item))
        result.item_lines.append(item.start_mark.line + 1)
        values += _size(value)
    _sized(node, result, values)
    loader.depth -= 1
    return result


def _unused_tag(loader: _Loader, node: yaml.Node) -> object:
    raise _Refused(node.start_mark, f"the tag {node.tag!r}", "plain mappings, lists and values")


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# Collections no setting takes, which would hide their aliases from the count above.
for _tag in ("omap", "pairs", "set"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _unused_tag)


def _load_yaml(path: Path, label: str) -> object:
    try:
        with path.open("rb") as file:
            data = file.read(MOST_BYTES + 1)
        if len(data) > MOST_BYTES:
            raise ConfigError(
                label, None, "", f"larger than {MOST_BYTES // 2**20} MiB", "a configuration file"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(label, None, "", "file not found", "an existing YAML file") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(label, line, "", f"not UTF-8 text ({exc.reason})", "UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            label, None, "", f"cannot read the file ({exc.strerror})", "a readable YAML file"
        ) from None
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise ConfigError(label, exc.line, "", exc.problem, exc.expected) from None
    except RecursionError:  # PyYAML's own composer, without libyaml, recurses per level
        raise ConfigError(
            label, None, "", "mappings and lists nested too deep", "a handful of levels"
        ) from None
    except yaml.constructor.ConstructorError as exc:  # an unknown tag, a recursive alias
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "unreadable"
        if "recursive" in problem:
            problem = "an alias used inside the mapping or list it names"
        raise ConfigError(
            label, line, "", f"YAML error: {problem}", "plain mappings, lists and values"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            label,
            line,
            "",
            f"YAML syntax error: {problem}",
            "valid YAML (check indentation, quotes)",
        ) from None
    except yaml.reader.ReaderError as exc:  # a control character: located by its offset
        line = text[: exc.position].count("\n") + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a byte"
        raise ConfigError(
            label, line, "", f"the control character {character}", "printable text"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, None, "", f"YAML error: {exc}", "valid YAML") from None
    finally:
        loader.dispose()


def key_place(path: Path, keys: tuple[str, ...]) -> str:
    """``path:line`` of the key at ``keys`` (e.g. ``("regions", "atlanta", "token_file")``) in
    a file that loaded before, for a message about its value found wrong later (a token file
    read at start); ``path`` alone if the file changed since and the key is gone."""
    try:
        node = _load_yaml(path, str(path))
    except ConfigError:
        return str(path)
    line = None
    for key in keys:
        if not isinstance(node, _Map) or key not in node:
            return str(path)
        line, node = node.key_lines.get(key), node[key]
    return f"{path}:{line}" if line is not None else str(path)
