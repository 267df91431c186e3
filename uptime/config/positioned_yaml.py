"""YAML loaded with the line and column of every mapping key and sequence item."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml

from uptime.config.errors import ConfigError

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# YAML with positions


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where each of its keys and values start."""

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[object, int] = {}
        self.value_lines: dict[object, int] = {}
        self.duplicates: list[tuple[object, int, int]] = []  # (key, line, first line)


class _Seq(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers where each item starts."""

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader keeping line numbers; booleans are only true/false (``NO`` stays Norway).

    libyaml's parser when PyYAML has it: ten times faster on a district with many vendors."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


_STR_TAG = "tag:yaml.org,2002:str"


def _construct(loader: _Loader, node: yaml.Node) -> object:
    # Most nodes are plain strings; taking their text directly (what PyYAML's str constructor
    # does) skips its generic dispatch, a third of the load time for a thousand vendors.
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        key_line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, key_line, result.key_lines[key]))
            continue
        result[key] = _construct(loader, value_node)
        result.key_lines[key] = key_line
        result.value_lines[key] = value_node.start_mark.line + 1
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq()
    for item in node.value:
        result.append(_construct(loader, item))
        result.item_lines.append(item.start_mark.line + 1)
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _load_yaml(path: Path, label: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, None, "", "file not found", "an existing YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(label, None, "", f"not UTF-8 text ({exc.reason})", "UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            label, None, "", f"cannot read the file ({exc.strerror})", "a readable YAML file"
        ) from None
    loader = _Loader(text)
    try:
        return loader.get_single_data()
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
    except yaml.YAMLError as exc:
        raise ConfigError(label, None, "", f"YAML error: {exc}", "valid YAML") from None
    finally:
        loader.dispose()
