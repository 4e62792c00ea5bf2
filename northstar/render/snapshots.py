"""Compile a project's snapshots: their config (project, YAML, ``config()``) merged and validated, their relation
named, their SELECT rendered once, as :class:`SnapshotNode`.

Naming comes first (models may ``ref()`` a snapshot), rendering with the models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from northstar.errors import CompileError, ProjectError
from northstar.nodes import NodeId, SnapshotNode
from northstar.project.config import NodeConfig, merge_config, resolve_folder_config
from northstar.project.loader import Project, Properties, properties_of
from northstar.project.snapshots import SnapshotFile, check_keys_of, node_config, snapshot_config
from northstar.project.yamlfile import YamlDict
from northstar.render.jinja import (
    Relation,
    RenderEnv,
    SimpleTemplate,
    config_literals,
    parse_template,
    prepare_template,
    render,
)
from northstar.render.naming import Namer
from northstar.render.refs import parse_relation_call

# Config that decides where a snapshot builds: known before any model renders, so it must be a literal.
_STRUCTURAL = ("schema", "alias", "database", "target_schema", "target_database", "enabled")


@dataclass(frozen=True)
class ParsedSnapshot:
    """A snapshot named and configured, ready to render."""

    snapshot: SnapshotFile
    uid: NodeId
    template: jinja2.Template | SimpleTemplate
    source: str  # the template's text
    raw: Mapping[str, Any]  # its merged config, before validation
    config: NodeConfig
    relation: Relation
    literals: Mapping[str, Any] = field(default_factory=dict)
    properties: Properties | None = None


def _sql_of(snapshot: SnapshotFile) -> str:
    """A block's body; a YAML snapshot's ``relation:`` as the SELECT dbt makes of it."""
    if snapshot.relation is None:
        return snapshot.sql
    line = snapshot.properties.entry.line_of("relation") if snapshot.properties else snapshot.line
    call = parse_relation_call(snapshot.relation, snapshot.path, line)
    if call is None:
        raise ProjectError(
            f"Snapshot '{snapshot.name}' has relation: {snapshot.relation!r}; write ref('model') or "
            "source('source', 'table').",
            snapshot.path,
            line,
        )
    args = ", ".join(repr(arg) for arg in call.args)
    return f"select * from {{{{ {call.function}({args}) }}}}"


def _key_line(source: str, key: str, default: int | None) -> int | None:
    """The line of ``key=`` in a block's text (its ``config()`` call), else the block's."""
    match = re.search(rf"\b{re.escape(key)}\s*=", source)
    return source.count("\n", 0, match.start()) + 1 if match else default


def _tree_line(tree: Any, key: str) -> int | None:
    """The line of ``+key`` (or ``key``) in the project's ``snapshots:`` tree."""
    if not isinstance(tree, Mapping):
        return None
    for name, value in tree.items():
        if str(name).lstrip("+").replace("-", "_") == key and isinstance(tree, YamlDict):
            return tree.line_of(str(name))
        found = _tree_line(value, key)
        if found:
            return found
    return None


def _check_layers(
    project: Project, snapshot: SnapshotFile, folder: Mapping[str, Any], props: Properties | None, literals: Any
) -> None:
    """Refuse unknown config keys at their own file and line: project file, YAML ``config:``, ``config()``."""
    where = f"Snapshot '{snapshot.name}'"
    config_file = project.config.config_file.name
    check_keys_of(folder, where, config_file, lambda key: _tree_line(project.config.snapshots, key))
    if props is not None:
        yaml_config = props.config
        line_of = yaml_config.line_of if isinstance(yaml_config, YamlDict) else (lambda key: props.line)
        check_keys_of(yaml_config, where, props.path, line_of)
    check_keys_of(literals, where, snapshot.path, lambda key: _key_line(snapshot.sql, key, snapshot.line))


def parse_snapshot(
    env: jinja2.Environment, project: Project, snapshot: SnapshotFile, namer: Namer, prefix: str
) -> ParsedSnapshot:
    """Read a snapshot's config and name its relation (before anything renders)."""
    source = _sql_of(snapshot)
    tree = parse_template(env, source, snapshot.path)
    literals, dynamic = config_literals(tree)
    for key, line in dynamic.items():
        if key in _STRUCTURAL:
            raise CompileError(
                f"config({key}=...) must be a literal value, because other nodes need this snapshot's relation "
                "before it renders.",
                snapshot.path,
                line,
            )
    props = properties_of(snapshot.properties.entry, snapshot.properties.path) if snapshot.properties else None
    folder = resolve_folder_config(project.config.snapshots, (*snapshot.folders, snapshot.name))
    _check_layers(project, snapshot, folder, props, literals)
    raw = merge_config(folder, props.config if props else {}, literals)
    where = f"Snapshot '{snapshot.name}'"
    config = node_config(raw, where, snapshot.path, snapshot.line)
    relation = _relation(project, snapshot, raw, config, namer)
    uid = NodeId("snapshot", snapshot.package or prefix, snapshot.name)
    template = prepare_template(env, tree, snapshot.path)
    return ParsedSnapshot(snapshot, uid, template, source, raw, config, relation, literals, props)


def _relation(
    project: Project, snapshot: SnapshotFile, raw: Mapping[str, Any], config: NodeConfig, namer: Namer
) -> Relation:
    """dbt's rule: a legacy ``target_schema`` is used as written; ``schema`` (dbt 1.9+) goes through
    ``generate_schema_name``, like a model's; neither: the target's schema."""
    database = raw.get("target_database") or raw.get("database")
    target_database = namer.renv.target["database"]
    if database is not None and database != target_database:
        raise CompileError(
            f"Snapshot '{snapshot.name}' builds into database '{database}', but Northstar builds into one database, "
            f"the target's ('{target_database}'). Remove the setting.",
            snapshot.path,
            snapshot.line,
        )
    if raw.get("target_schema"):
        return Relation(str(raw["target_schema"]), config.alias or snapshot.name)
    folders = snapshot.folders if project.config.schema_naming == "dbt" else ()
    return namer.relation("snapshot", snapshot.name, snapshot.path, folders, config, snapshot.package)


def snapshot_node(renv: RenderEnv, parsed: ParsedSnapshot, by_name: Mapping[str, NodeId]) -> SnapshotNode:
    """Render a snapshot's SELECT once, recording its parents, and validate its config as rendered."""
    snapshot = parsed.snapshot
    result = render(renv, parsed.template, parsed.source, snapshot.path, this=parsed.relation, materialized="snapshot")
    where = f"Snapshot '{snapshot.name}'"
    raw = dict(parsed.raw)
    extra = {k: v for k, v in result.config.items() if not (k in parsed.literals and parsed.literals[k] == v)}
    if extra:
        check_keys_of(extra, where, snapshot.path, lambda key: _key_line(snapshot.sql, key, snapshot.line))
        for key in _STRUCTURAL:
            if key in extra and raw.get(key) != extra[key]:
                raise CompileError(f"config({key}=...) must be a literal value.", snapshot.path, snapshot.line)
        raw = merge_config(raw, extra)
    sql = result.sql.strip().rstrip(";").strip()
    if not sql:
        what = f"Snapshot '{snapshot.name}' is empty: write the SELECT whose rows it records."
        raise CompileError(what, snapshot.path, snapshot.line)
    props = parsed.properties
    deps = [by_name[name] for name in result.refs] + [by_name[f"{s}.{t}"] for s, t in result.sources]
    return SnapshotNode(
        unique_id=parsed.uid,
        name=snapshot.name,
        path=snapshot.path,
        line=snapshot.line,
        raw_sql=parsed.source,
        sql=sql,
        config=node_config(raw, where, snapshot.path, snapshot.line),
        snapshot=snapshot_config(raw, where, snapshot.path, snapshot.line),
        relation=parsed.relation,
        depends_on=tuple(dict.fromkeys(deps)),
        description=props.description if props else "",
        columns=props.columns if props else (),
        tests=props.tests if props else (),
        yaml_path=props.path if props else None,
        yaml_line=props.line if props else None,
    )
