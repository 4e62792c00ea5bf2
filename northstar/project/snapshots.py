"""Snapshots as a project declares them, and their config, validated once.

Two spellings, as dbt 1.11 reads them:

- ``{% snapshot name %} {{ config(...) }} select ... {% endsnapshot %}`` blocks in ``.sql`` files under the snapshot
  paths (``snapshots/`` by default); a YAML ``snapshots:`` entry of the same name adds docs, columns, tests, config;
- dbt 1.9+'s YAML snapshots: a ``snapshots:`` entry with ``relation: ref(...)`` or ``source(...)`` and ``config:``,
  in any property file (under the model or snapshot paths).

>>> config = snapshot_config({"unique_key": "id", "strategy": "timestamp", "updated_at": "at"}, "Snapshot 's'", None)
>>> config.strategy, config.unique_key, config.hard_deletes, config.columns.valid_to
('timestamp', ('id',), 'ignore', 'dbt_valid_to')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from northstar.errors import ProjectError, did_you_mean
from northstar.project.config import NodeConfig, hooks_of
from northstar.project.settings import ProjectConfig
from northstar.project.yamlfile import YamlDict, check_keys, expect_list, expect_mapping

STRATEGIES = ("timestamp", "check")
HARD_DELETES = ("ignore", "invalidate", "new_record")
# The columns dbt adds to a snapshot, and the names snapshot_meta_column_names may give them.
META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted")
# Config a snapshot may have: dbt 1.11's snapshot configs, legacy ones included, and the general ones that apply.
SNAPSHOT_CONFIG_KEYS = frozenset(
    {
        "target_schema",
        "target_database",
        "schema",
        "database",
        "alias",
        "unique_key",
        "strategy",
        "updated_at",
        "check_cols",
        "invalidate_hard_deletes",
        "hard_deletes",
        "dbt_valid_to_current",
        "snapshot_meta_column_names",
        "enabled",
        "tags",
        "meta",
        "docs",
        "persist_docs",
        "group",
        "materialized",
        "description",
    }
)
SNAPSHOT_PROPERTY_KEYS = {"name", "description", "relation", "config", "columns", "data_tests", "tests", "docs", "meta"}


@dataclass(frozen=True)
class SnapshotColumns:
    """The names of the columns a snapshot adds (``snapshot_meta_column_names`` renames them)."""

    scd_id: str = "dbt_scd_id"
    updated_at: str = "dbt_updated_at"
    valid_from: str = "dbt_valid_from"
    valid_to: str = "dbt_valid_to"
    is_deleted: str = "dbt_is_deleted"


@dataclass(frozen=True)
class SnapshotConfig:
    """How a snapshot records changes: its key, its strategy and what a deleted row becomes."""

    unique_key: tuple[str, ...]  # column names, or SQL expressions over the query's columns
    strategy: str  # timestamp | check
    updated_at: str | None = None  # timestamp: the column saying when a row changed; check: optional
    check_cols: tuple[str, ...] | None = None  # check: the columns compared; None: all of them
    hard_deletes: str = "ignore"  # ignore | invalidate | new_record
    valid_to_current: str | None = None  # SQL for dbt_valid_to of current rows, instead of null
    columns: SnapshotColumns = field(default_factory=SnapshotColumns)


@dataclass(frozen=True)
class SnapshotProperties:
    """A YAML ``snapshots:`` entry: docs, columns, tests and config (and ``relation``, for a YAML snapshot)."""

    path: str
    line: int | None
    entry: YamlDict


@dataclass(frozen=True)
class SnapshotFile:
    """One snapshot before rendering: its name, where it is declared, and its SELECT as a Jinja template."""

    name: str
    path: str  # the .sql file of a block, or the YAML file of a YAML snapshot
    line: int | None
    sql: str  # a block's body, after as many newlines as lines precede it (errors keep the file's lines)
    folders: tuple[str, ...]  # folders below the snapshot (or model) path, for the project's `snapshots:` config
    relation: str | None = None  # a YAML snapshot's ref()/source() as written
    properties: SnapshotProperties | None = None
    package: str | None = None


_BLOCK = re.compile(r"{%-?\s*snapshot\s+(?P<name>\w+)\s*-?%}(?P<body>.*?){%-?\s*endsnapshot\s*-?%}", re.DOTALL)
_OPEN = re.compile(r"{%-?\s*snapshot\b")


def snapshot_blocks(text: str, path: str, folders: tuple[str, ...]) -> list[SnapshotFile]:
    """The ``{% snapshot %}`` blocks of one .sql file (dbt ignores the text between blocks).

    >>> [(s.name, s.line) for s in snapshot_blocks("\\n{% snapshot a %}select 1{% endsnapshot %}", "s.sql", ())]
    [('a', 2)]
    """
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        padding = "\n" * text.count("\n", 0, match.start("body"))
        found.append(SnapshotFile(match.group("name"), path, line, padding + match.group("body"), folders))
    opened = len(_OPEN.findall(text))
    if opened != len(found):
        last = list(_OPEN.finditer(text))[len(found) :]
        raise ProjectError(
            "A {% snapshot name %} block is not closed, or has no name. Write {% snapshot name %} ... "
            "{% endsnapshot %}.",
            path,
            text.count("\n", 0, last[0].start()) + 1 if last else None,
        )
    return found


def snapshot_entries(path: str, data: YamlDict) -> list[SnapshotProperties]:
    """The ``snapshots:`` entries of one property file, their keys checked."""
    entries = []
    for entry in expect_list(data.get("snapshots"), "snapshots", path, data.line_of("snapshots")):
        entry = expect_mapping(entry, "An entry of snapshots", path, data.line_of("snapshots"))
        check_keys(entry, SNAPSHOT_PROPERTY_KEYS, f"snapshot '{entry.get('name', '?')}'")
        if not isinstance(entry.get("name"), str):
            raise ProjectError("An entry of snapshots has no 'name'.", path, entry.line)
        entries.append(SnapshotProperties(path, entry.line, entry))
    return entries


def discover_snapshots(
    config: ProjectConfig, entries: list[SnapshotProperties], read: Callable[[str], str]
) -> tuple[SnapshotFile, ...]:
    """Every snapshot of a project: its blocks and its YAML snapshots, each with its YAML properties. ``read`` reads
    a project file by its relative path."""
    snapshots: dict[str, SnapshotFile] = {}
    for base in config.snapshot_paths:
        folder = config.root / base
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.sql")):
            rel = file.relative_to(config.root).as_posix()
            for block in snapshot_blocks(read(rel), rel, file.parent.relative_to(folder).parts):
                _add(snapshots, block)
    properties: dict[str, SnapshotProperties] = {}
    for props in entries:
        name = str(props.entry["name"])
        if "relation" in props.entry:
            relation = props.entry["relation"]
            if not isinstance(relation, str) or not re.match(r"\s*(\{\{\s*)?(ref|source)\s*\(", relation):
                raise ProjectError(
                    f"Snapshot '{name}' has relation: {relation!r}; write ref('model') or source('source', 'table').",
                    props.path,
                    props.entry.line_of("relation"),
                )
            folders = tuple(props.path.split("/")[1:-1])
            _add(snapshots, SnapshotFile(name, props.path, props.line, "", folders, relation, props))
            continue
        if name in properties:
            other = properties[name]
            raise ProjectError(
                f"Snapshot '{name}' is described twice: here and in {other.path}:{other.line}. Keep one entry.",
                props.path,
                props.line,
            )
        properties[name] = props
    for name, props in properties.items():
        if name not in snapshots:
            raise ProjectError(
                f"Properties are given for snapshot '{name}', but no snapshot has that name. Fix the name, or give "
                "it `relation: ref(...)` to declare a YAML snapshot.",
                props.path,
                props.line,
            )
        snapshots[name] = replace(snapshots[name], properties=props)
    return tuple(snapshots.values())


def _add(snapshots: dict[str, SnapshotFile], snapshot: SnapshotFile) -> None:
    if snapshot.name in snapshots:
        other = snapshots[snapshot.name]
        raise ProjectError(
            f"Two snapshots are named '{snapshot.name}': here and in {other.path}:{other.line}. Rename one.",
            snapshot.path,
            snapshot.line,
        )
    snapshots[snapshot.name] = snapshot


def _text(value: Any, key: str, where: str, path: str | None, line: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProjectError(f"{where} has {key}={value!r}; it must be a name.", path, line)
    return value


def _unique_key(value: Any, where: str, path: str | None, line: int | None) -> tuple[str, ...]:
    keys = value if isinstance(value, list | tuple) else [value]
    if value is None or not keys or not all(isinstance(k, str) and k.strip() for k in keys):
        raise ProjectError(
            f"{where} needs unique_key: the column (or list of columns) identifying a row, e.g. unique_key='id' "
            "or unique_key=['order_id', 'line'].",
            path,
            line,
        )
    return tuple(str(k) for k in keys)


def _strategy(raw: Mapping[str, Any], where: str, path: str | None, line: int | None) -> tuple[str, str | None]:
    strategy = raw.get("strategy")
    if strategy is None:
        raise ProjectError(
            f"{where} needs a strategy: strategy='timestamp' with updated_at='column', or strategy='check' with "
            "check_cols=['column', ...] (or 'all').",
            path,
            line,
        )
    if strategy not in STRATEGIES:
        raise ProjectError(
            f"{where} has strategy={strategy!r}.{did_you_mean(str(strategy), STRATEGIES)} Use one of: "
            f"{', '.join(STRATEGIES)}.",
            path,
            line,
        )
    updated_at = _text(raw.get("updated_at"), "updated_at", where, path, line)
    if strategy == "timestamp" and updated_at is None:
        raise ProjectError(
            f"{where} uses strategy='timestamp', which needs updated_at: the column saying when a row last "
            "changed, e.g. updated_at='updated_at'.",
            path,
            line,
        )
    return str(strategy), updated_at


def _check_cols(raw: Mapping[str, Any], strategy: str, where: str, path: str | None, line: int | None) -> Any:
    value = raw.get("check_cols")
    if strategy != "check":
        if value is not None:
            raise ProjectError(
                f"{where} sets check_cols, which only strategy='check' uses. Remove it, or use strategy='check'.",
                path,
                line,
            )
        return None
    if value == "all":
        return None
    if not (isinstance(value, list | tuple) and value and all(isinstance(c, str) and c.strip() for c in value)):
        raise ProjectError(
            f"{where} uses strategy='check', which needs check_cols: a list of columns to compare, e.g. "
            f"check_cols=['status', 'amount'], or check_cols='all' (got {value!r}).",
            path,
            line,
        )
    return tuple(value)


def _hard_deletes(raw: Mapping[str, Any], where: str, path: str | None, line: int | None) -> str:
    legacy, mode = raw.get("invalidate_hard_deletes"), raw.get("hard_deletes")
    if legacy is not None and not isinstance(legacy, bool):
        raise ProjectError(f"{where} has invalidate_hard_deletes={legacy!r}; use true or false.", path, line)
    if legacy and mode is not None:
        raise ProjectError(
            f"{where} sets both invalidate_hard_deletes and hard_deletes; keep hard_deletes='invalidate' (dbt 1.9+).",
            path,
            line,
        )
    if mode is None:
        return "invalidate" if legacy else "ignore"
    if mode not in HARD_DELETES:
        raise ProjectError(f"{where} has hard_deletes={mode!r}. Use one of: {', '.join(HARD_DELETES)}.", path, line)
    return str(mode)


def _meta_columns(value: Any, where: str, path: str | None, line: int | None) -> SnapshotColumns:
    names = expect_mapping(value, f"{where}: snapshot_meta_column_names", path, line)
    names = YamlDict(names)
    names.path, names.line = path, line
    check_keys(names, META_COLUMNS, f"snapshot_meta_column_names of {where}")
    for key, name in names.items():
        if not isinstance(name, str) or not name.strip():
            raise ProjectError(f"{where}: snapshot_meta_column_names gives {key} the name {name!r}.", path, line)
    return SnapshotColumns(**{str(k).removeprefix("dbt_"): str(v) for k, v in names.items()})


def snapshot_config(raw: Mapping[str, Any], where: str, path: str | None, line: int | None = None) -> SnapshotConfig:
    """Validate a snapshot's merged config; ``where`` names it (``Snapshot 'orders'``) in messages."""
    unique_key = _unique_key(raw.get("unique_key"), where, path, line)
    strategy, updated_at = _strategy(raw, where, path, line)
    current = raw.get("dbt_valid_to_current")
    if current is not None and not (isinstance(current, str) and current.strip()):
        raise ProjectError(
            f"{where} has dbt_valid_to_current={current!r}; it is SQL, e.g. \"'9999-12-31'::timestamp\".", path, line
        )
    return SnapshotConfig(
        unique_key=unique_key,
        strategy=strategy,
        updated_at=updated_at,
        check_cols=_check_cols(raw, strategy, where, path, line),
        hard_deletes=_hard_deletes(raw, where, path, line),
        valid_to_current=current,
        columns=_meta_columns(raw.get("snapshot_meta_column_names"), where, path, line),
    )


def check_keys_of(layer: Mapping[str, Any], where: str, path: str | None, line_of: Callable[[str], int | None]) -> None:
    """Refuse, at its own line, a config key snapshots do not take (or a hook, not supported on snapshots yet)."""
    for key in layer:
        name = str(key).lstrip("+").replace("-", "_")
        _check_key(name, layer[key], where, path, line_of(str(key)))


def _check_key(key: str, value: Any, where: str, path: str | None, line: int | None) -> None:
    if key in ("pre_hook", "post_hook") and hooks_of(value, where, path, line):
        raise ProjectError(
            f"{where} has a {key}; hooks on snapshots are not supported yet. Move the statement to a model's "
            "hook or an on-run-end hook.",
            path,
            line,
        )
    if key not in SNAPSHOT_CONFIG_KEYS and key not in ("pre_hook", "post_hook"):
        raise ProjectError(
            f"{where} has config '{key}', which snapshots do not take.{did_you_mean(key, SNAPSHOT_CONFIG_KEYS)} "
            f"Snapshot config: {', '.join(sorted(SNAPSHOT_CONFIG_KEYS))}.",
            path,
            line,
        )


def node_config(raw: Mapping[str, Any], where: str, path: str | None, line: int | None = None) -> NodeConfig:
    """The general part of a snapshot's config (schema, alias, tags, meta...); unknown keys are refused by name."""
    for key in raw:
        _check_key(key, raw[key], where, path, line)
    if raw.get("materialized", "snapshot") != "snapshot":
        raise ProjectError(f"{where} has materialized={raw['materialized']!r}; a snapshot is a snapshot.", path, line)
    for legacy, current in (("target_schema", "schema"), ("target_database", "database")):
        if raw.get(legacy) is not None and raw.get(current) is not None:
            raise ProjectError(
                f"{where} sets both {legacy} and {current}; keep one ({current} follows generate_schema_name, "
                f"{legacy} is used as written).",
                path,
                line,
            )
    for key in ("schema", "alias", "target_schema", "database", "target_database"):
        _text(raw.get(key), key, where, path, line)
    tags = raw.get("tags") or []
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ProjectError(f"{where} has enabled={enabled!r}; use true or false.", path, line)
    meta = raw.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise ProjectError(f"{where} has meta={meta!r}; meta must be a mapping of key: value.", path, line)
    general = ("schema", "alias", "tags", "enabled", "meta", "materialized", "pre_hook", "post_hook")
    return NodeConfig(
        materialized="snapshot",
        schema=raw.get("schema"),
        alias=raw.get("alias"),
        tags=tuple(str(t) for t in (tags if isinstance(tags, list | tuple) else [tags])),
        enabled=enabled,
        unique_key=_unique_key(raw.get("unique_key"), where, path, line) if raw.get("unique_key") else (),
        meta=dict(meta),
        extra={k: v for k, v in raw.items() if k not in general and k != "unique_key"},
    )
