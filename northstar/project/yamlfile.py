"""Read YAML files keeping line numbers, so every config error can point at its line.

Mappings load as :class:`YamlDict`, a plain dict that also knows the line of itself and of each key:

>>> data = loads("models:\\n  - name: orders\\n    bogus: 1\\n", "schema.yml")
>>> data["models"][0].line, data["models"][0].key_lines["bogus"]
(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from northstar.errors import ProjectError, did_you_mean

try:
    from yaml import CSafeLoader as _BaseLoader  # libyaml's C parser: several times faster
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]  # the same API, in Python


class YamlDict(dict[Any, Any]):
    """A dict loaded from YAML: ``line`` is where it starts, ``key_lines`` where each key is."""

    line: int | None = None
    path: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


class _Loader(_BaseLoader):
    path: str = ""  # the file being read, for error messages and YamlDict.path


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlDict:
    loader.flatten_mapping(node)
    mapping = YamlDict()
    mapping.line = node.start_mark.line + 1
    mapping.path = loader.path
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise ProjectError(
                f"Key '{key}' appears twice in the same mapping; remove one of them.",
                loader.path,
                key_node.start_mark.line + 1,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def loads(text: str, path: str | Path) -> Any:
    """Parse YAML text; syntax errors become a :class:`ProjectError` naming the file and line."""
    loader = _Loader(text)
    loader.path = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise ProjectError(f"Invalid YAML: {problem}. Check indentation and quoting.", path, line) from None
    except yaml.YAMLError as error:
        raise ProjectError(f"Invalid YAML: {error}", path) from None
    finally:
        loader.dispose()


def load(path: Path, display_path: str | Path | None = None) -> Any:
    """Read and parse a YAML file; an empty file is an empty mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(
            f"The file is not UTF-8 text ({error.reason}). Save it as UTF-8.", display_path or path
        ) from None
    data = loads(text, display_path or path)
    return YamlDict() if data is None else data


def check_keys(mapping: Mapping[Any, Any], allowed: Iterable[str], what: str) -> None:
    """Reject keys outside ``allowed``, naming the file, the line, the key and the allowed keys."""
    allowed = set(allowed)
    for key in mapping:
        if key not in allowed:
            path = getattr(mapping, "path", None)
            line = mapping.line_of(key) if isinstance(mapping, YamlDict) else None
            choices = ", ".join(sorted(allowed))
            hint = did_you_mean(str(key), allowed)
            raise ProjectError(f"Unknown key '{key}' in {what}.{hint} Allowed keys: {choices}.", path, line)


def expect_mapping(value: Any, what: str, path: str | Path | None, line: int | None = None) -> YamlDict:
    if value is None:
        return YamlDict()
    if not isinstance(value, dict):
        raise ProjectError(f"{what} must be a mapping (key: value), got {type(value).__name__}.", path, line)
    return value if isinstance(value, YamlDict) else YamlDict(value)


def expect_list(value: Any, what: str, path: str | Path | None, line: int | None = None) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectError(f"{what} must be a list (- item), got {type(value).__name__}.", path, line)
    return value
