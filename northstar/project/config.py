"""Node configuration: the merged result of project folder config, YAML ``config:`` and ``{{ config(...) }}``.

dbt's precedence applies: the most specific wins, so a model's own ``config()`` call beats its YAML, which beats the
project's folder config, which beats the project default.

>>> resolve_folder_config({"+materialized": "table", "staging": {"+materialized": "view"}}, ("staging",))
{'materialized': 'view'}
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from northstar.errors import ProjectError

MATERIALIZATIONS = ("view", "table", "ephemeral", "incremental")
INCREMENTAL_STRATEGIES = ("append", "merge", "delete+insert")
SCHEMA_CHANGE_POLICIES = ("ignore", "fail", "append_new_columns", "sync_all_columns")

# Config keys Northstar understands. dbt projects carry many more (grants, contracts, docs...); those are kept in
# ``extra`` and ignored, so an existing dbt project still loads.
MODEL_CONFIG_KEYS = frozenset(
    {
        "materialized",
        "schema",
        "alias",
        "database",
        "tags",
        "enabled",
        "unique_key",
        "incremental_strategy",
        "on_schema_change",
        "meta",
        "pre_hook",
        "post_hook",
        "description",
        "column_types",
        "delimiter",
        "quote_columns",
        "full_refresh",
        "docs",
        "persist_docs",
        "severity",
        "store_failures",
        "where",
        "limit",
        "warn_if",
        "error_if",
        "group",
        "access",
    }
)


@dataclass(frozen=True)
class Hook:
    """A ``pre_hook``/``post_hook`` statement, Jinja rendered when it runs. ``transaction: false`` (dbt's
    ``before_begin``/``after_commit``) runs it before the other pre-hooks or after the other post-hooks: DuckDB builds
    every model in the build's working copy, so the flag decides only the order."""

    sql: str
    transaction: bool = True

    def as_config(self) -> str | dict[str, Any]:
        return self.sql if self.transaction else {"sql": self.sql, "transaction": False}


def refreshes(setting: bool | None, flag: bool) -> bool:
    """Whether a model is made again from scratch: its ``full_refresh`` config when set (dbt's: ``false`` keeps an
    incremental model's table even under ``--full-refresh``, ``true`` rebuilds it on every run), else the
    ``--full-refresh`` flag."""
    return flag if setting is None else setting


def in_run_order(hooks: tuple[Hook, ...], pre: bool) -> tuple[Hook, ...]:
    """Hooks in the order dbt runs them: ``before_begin`` pre-hooks before the others, ``after_commit`` post-hooks
    after the others, each group in its written order.

    >>> [h.sql for h in in_run_order((Hook("a"), Hook("b", transaction=False)), pre=True)]
    ['b', 'a']
    """
    outside = tuple(hook for hook in hooks if not hook.transaction)
    inside = tuple(hook for hook in hooks if hook.transaction)
    return outside + inside if pre else inside + outside


def hooks_of(value: Any, where: str, path: str | None, line: int | None) -> tuple[Hook, ...]:
    """A hook config value: one statement or a list, each text or ``{sql: ..., transaction: ...}`` (also as the
    JSON text ``before_begin(...)``/``after_commit(...)`` give).

    >>> hooks_of(["select 1", {"sql": "select 2", "transaction": False}], "Model 'm'", None, None)
    (Hook(sql='select 1', transaction=True), Hook(sql='select 2', transaction=False))
    """
    items = value if isinstance(value, list | tuple) else [] if value is None else [value]
    hooks = []
    for item in items:
        if isinstance(item, str) and item.lstrip().startswith("{") and '"sql"' in item:
            with contextlib.suppress(json.JSONDecodeError):
                item = json.loads(item)
        if isinstance(item, Mapping):
            unknown = sorted(set(item) - {"sql", "transaction", "index"})
            if unknown or not isinstance(item.get("sql"), str) or not isinstance(item.get("transaction", True), bool):
                raise ProjectError(
                    f"{where} has a hook {dict(item)!r}; a hook is a SQL statement, or {{sql: '...', transaction: "
                    "true|false}}.",
                    path,
                    line,
                )
            hooks.append(Hook(item["sql"], item.get("transaction", True)))
        elif isinstance(item, str | int | float):
            hooks.append(Hook(str(item)))
        else:
            raise ProjectError(f"{where} has a hook {item!r}; a hook is a SQL statement.", path, line)
    return tuple(hooks)


@dataclass(frozen=True)
class NodeConfig:
    """The configuration of one model or seed after all layers are merged."""

    materialized: str = "view"
    schema: str | None = None
    alias: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    unique_key: tuple[str, ...] = ()
    incremental_strategy: str | None = None
    on_schema_change: str = "ignore"
    column_types: Mapping[str, str] = field(default_factory=dict)
    pre_hook: tuple[Hook, ...] = ()
    post_hook: tuple[Hook, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    full_refresh: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def refreshes(self, flag: bool) -> bool:
        """Whether the node is made again from scratch (:func:`refreshes`, with its ``full_refresh`` config).

        >>> NodeConfig("incremental", full_refresh=False).refreshes(True), NodeConfig("incremental").refreshes(True)
        (False, True)
        """
        return refreshes(self.full_refresh, flag)

    def as_dict(self) -> dict[str, Any]:
        return {
            "materialized": self.materialized,
            "schema": self.schema,
            "alias": self.alias,
            "tags": list(self.tags),
            "enabled": self.enabled,
            "unique_key": list(self.unique_key),
            "incremental_strategy": self.incremental_strategy,
            "on_schema_change": self.on_schema_change,
            "column_types": dict(self.column_types),
            "pre_hook": [hook.as_config() for hook in self.pre_hook],
            "post_hook": [hook.as_config() for hook in self.post_hook],
            "meta": dict(self.meta),
            **({"full_refresh": self.full_refresh} if self.full_refresh is not None else {}),
            **dict(self.extra),
        }


def _as_tuple(value: Any) -> tuple[str, ...]:
    """A config value that may be one string or a list of them (tags, unique_key, hooks)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return (str(value),)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def merge_config(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge raw config layers, later ones winning; tags and meta accumulate like dbt's."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            key = key.lstrip("+").replace("-", "_")
            if key == "tags":
                merged["tags"] = list(dict.fromkeys([*_as_tuple(merged.get("tags")), *_as_tuple(value)]))
            elif key in ("pre_hook", "post_hook"):  # dbt runs every layer's hooks, the project's first
                merged[key] = [*_as_list(merged.get(key)), *_as_list(value)]
            elif key == "meta" and isinstance(value, Mapping):
                merged["meta"] = {**merged.get("meta", {}), **value}
            else:
                merged[key] = value
    return merged


def resolve_folder_config(tree: Mapping[str, Any], parts: Sequence[str]) -> dict[str, Any]:
    """Walk a dbt-style folder config tree (``+key`` values apply to the folder and below) down ``parts``."""
    layers = [{k: v for k, v in tree.items() if k.startswith("+") or not isinstance(v, Mapping)}]
    node: Mapping[str, Any] = tree
    for part in parts:
        child = node.get(part)
        if not isinstance(child, Mapping):
            break
        layers.append({k: v for k, v in child.items() if k.startswith("+") or not isinstance(v, Mapping)})
        node = child
    return merge_config(*layers)


def unused_config_paths(tree: Mapping[str, Any], node_paths: Iterable[Sequence[str]]) -> list[tuple[str, int | None]]:
    """Folder paths of a config tree that match no node (a typo such as ``stagin:``), with their YAML lines.

    >>> unused_config_paths({"staging": {"+materialized": "view"}}, [("stagin", "stg_orders")])
    [('staging', None)]
    """
    used = {tuple(path[:n]) for path in node_paths for n in range(1, len(path) + 1)}
    found: list[tuple[str, int | None]] = []

    def walk(node: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in node.items():
            name = str(key)
            if name.startswith("+") or not isinstance(value, Mapping) or name.replace("-", "_") in MODEL_CONFIG_KEYS:
                continue
            path = (*prefix, name)
            if path in used:
                walk(value, path)
            else:
                line = node.line_of(key) if hasattr(node, "line_of") else None
                found.append((".".join(path), line))

    walk(tree, ())
    return found


def misspelt_config_keys(tree: Mapping[str, Any]) -> list[tuple[str, str, int | None]]:
    """``+key`` settings of a config tree that are no known config but close to one (``+materialised``).

    dbt accepts any key as a custom config, so these are not errors; but a typo would silently change nothing.

    >>> misspelt_config_keys({"staging": {"+materialised": "view"}})
    [('+materialised', 'materialized', None)]
    """
    import difflib

    found: list[tuple[str, str, int | None]] = []
    for key, value in tree.items():
        name = str(key)
        if name.startswith("+"):
            bare = name[1:].replace("-", "_")
            close = difflib.get_close_matches(bare, sorted(MODEL_CONFIG_KEYS), n=1, cutoff=0.8)
            if bare not in MODEL_CONFIG_KEYS and close:
                found.append((name, close[0], tree.line_of(key) if hasattr(tree, "line_of") else None))
        elif isinstance(value, Mapping):
            found.extend(misspelt_config_keys(value))
    return found


def build_config(
    raw: Mapping[str, Any], default_materialized: str, where: str, path: str | None, line: int | None
) -> NodeConfig:
    """Validate a merged raw config and freeze it; ``where`` names the node for error messages."""
    raw = dict(raw)
    materialized = raw.pop("materialized", default_materialized)
    if materialized not in MATERIALIZATIONS and materialized != "seed":
        raise ProjectError(
            f"{where} has materialized='{materialized}'. Use one of: {', '.join(MATERIALIZATIONS)}.",
            path,
            line,
        )
    # As in dbt-duckdb, the strategy only matters on an incremental run: an unknown one is warned about when the
    # project compiles (unknown_strategy) and fails the model when an incremental run would use it.
    strategy = raw.pop("incremental_strategy", None)
    if strategy is not None and not (isinstance(strategy, str) and strategy.strip()):
        raise ProjectError(
            f"{where} has incremental_strategy={strategy!r}; it must be a name. "
            f"Use one of: {', '.join(INCREMENTAL_STRATEGIES)}.",
            path,
            line,
        )
    on_schema_change = raw.pop("on_schema_change", "ignore")
    if on_schema_change not in SCHEMA_CHANGE_POLICIES:
        raise ProjectError(
            f"{where} has on_schema_change='{on_schema_change}'. Use one of: {', '.join(SCHEMA_CHANGE_POLICIES)}.",
            path,
            line,
        )
    column_types = raw.pop("column_types", None) or {}
    if not isinstance(column_types, Mapping):
        raise ProjectError(f"{where}: column_types must be a mapping of column: TYPE.", path, line)
    known = {key: raw.pop(key) for key in list(raw) if key in MODEL_CONFIG_KEYS}
    _check_types(known, where, path, line)
    return NodeConfig(
        materialized=materialized,
        schema=known.get("schema"),
        alias=known.get("alias"),
        tags=_as_tuple(known.get("tags")),
        enabled=bool(known.get("enabled", True)),
        unique_key=_as_tuple(known.get("unique_key")),
        incremental_strategy=strategy,
        on_schema_change=on_schema_change,
        column_types={str(k): str(v) for k, v in column_types.items()},
        pre_hook=hooks_of(known.get("pre_hook"), where, path, line),
        post_hook=hooks_of(known.get("post_hook"), where, path, line),
        meta=dict(known.get("meta") or {}),
        full_refresh=known.get("full_refresh"),
        extra={k: v for k, v in {**known, **raw}.items() if k not in _FIELDS},
    )


_FIELDS = {"schema", "alias", "tags", "enabled", "unique_key", "pre_hook", "post_hook", "meta", "full_refresh"}


def unknown_strategy(config: NodeConfig, where: str) -> str | None:
    """Why an incremental model's strategy cannot run, or None; dbt-duckdb checks this only on incremental runs.

    >>> unknown_strategy(NodeConfig("incremental", incremental_strategy="by_day"), "Model 'm'")
    "Model 'm' has incremental_strategy='by_day', which Northstar cannot run. Use one of: append, merge, delete+insert."
    """
    strategy = config.incremental_strategy
    if config.materialized != "incremental" or strategy is None or strategy in INCREMENTAL_STRATEGIES:
        return None
    return f"{where} has incremental_strategy='{strategy}', which Northstar cannot run. " + (
        f"Use one of: {', '.join(INCREMENTAL_STRATEGIES)}."
    )


def _check_types(known: Mapping[str, Any], where: str, path: str | None, line: int | None) -> None:
    """The config values whose type matters downstream; a wrong one is the user's mistake, named as such."""
    for key in ("schema", "alias"):
        value = known.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            example = "marts" if key == "schema" else "orders"
            raise ProjectError(f"{where} has {key}={value!r}; it must be a name, e.g. {key}='{example}'.", path, line)
    for key in ("enabled", "full_refresh"):
        if known.get(key) is not None and not isinstance(known[key], bool):
            raise ProjectError(f"{where} has {key}={known[key]!r}; use true or false.", path, line)
    if not isinstance(known.get("meta") or {}, Mapping):
        raise ProjectError(f"{where} has meta={known['meta']!r}; meta must be a mapping of key: value.", path, line)
