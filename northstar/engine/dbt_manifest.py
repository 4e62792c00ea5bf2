"""``target/manifest.json`` in dbt's manifest schema v12, exactly: nothing dbt's schema does not define.

Readers of dbt manifests (DataHub's dbt source, ``dbt-artifacts-parser``, state comparison) refuse or drop keys
they do not know, so Northstar's own data (fingerprints, column lineage, growth metrics' definitions) is written
beside it, in ``target/northstar_manifest.json`` (:mod:`northstar.engine.northstar_manifest`).

>>> quoted_relation("warehouse", Relation("marts", "fct_orders"))
'"warehouse"."marts"."fct_orders"'
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from northstar.checks.datatests import FAILURES_SCHEMA
from northstar.nodes import (
    AnalysisNode,
    DataTestNode,
    ExposureNode,
    Fixture,
    GenericTestNode,
    ModelNode,
    Node,
    NodeId,
    SeedNode,
    SnapshotNode,
    SourceNode,
    TestNode,
    UnitTestNode,
)
from northstar.render.jinja import External, Relation, quote_always
from northstar.render.manifest import Manifest

MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
# The dbt release whose artifact schemas (manifest v12, run results v6, catalog v1) these files follow: readers such
# as DataHub read `metadata.dbt_version` to know which fields to expect.
DBT_VERSION = "1.9.0"
ADAPTER_TYPE = "duckdb"


def metadata(invocation_id: str, schema: str, project_name: str | None = None) -> dict[str, Any]:
    """The ``metadata`` of a dbt artifact (manifest, run results, catalog)."""
    data: dict[str, Any] = {
        "dbt_schema_version": schema,
        "dbt_version": DBT_VERSION,
        "generated_at": generated_at(),
        "invocation_id": invocation_id,
    }
    if project_name is not None:
        data["project_name"] = project_name
        data["adapter_type"] = ADAPTER_TYPE
    return data


def generated_at() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def database_name(manifest: Manifest) -> str:
    """DuckDB's catalog name for the warehouse file (``warehouse`` for ``warehouse.duckdb``), dbt's ``database``."""
    return manifest.project.config.target.path.stem


def quoted_relation(database: str, relation: Relation) -> str:
    """``"database"."schema"."identifier"``, as dbt-duckdb writes ``relation_name``."""
    return ".".join(quote_always(part) for part in (database, relation.schema, relation.identifier))


def relation_name(database: str, relation: object) -> str | None:
    """A relation's ``relation_name``; files read in place are named by the expression reading them, as
    dbt-duckdb names a source with an ``external_location``; an ephemeral model has none."""
    if isinstance(relation, Relation):
        return quoted_relation(database, relation)
    if isinstance(relation, External):
        return str(relation)
    return None


def within_folder(path: str) -> str:
    """dbt's ``path``: the file's path inside its resource folder (``models/marts/x.sql`` -> ``marts/x.sql``)."""
    parts = PurePosixPath(path).parts
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else path


def columns(node: Node) -> dict[str, Any]:
    """The documented columns, in dbt's shape (lineage later adds the ones it finds)."""
    return {
        c.name: {
            "name": c.name,
            "description": c.description,
            "data_type": c.data_type,
            "meta": dict(c.meta),
            "constraints": [dict(x) for x in c.constraints if isinstance(x, Mapping)],
            "quote": None,
            "tags": list(c.tags),
        }
        for c in node.columns
    }


def dbt_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """A node's config as dbt writes it: hooks under ``pre-hook``/``post-hook`` as ``{sql, transaction, index}``."""
    config = {k: v for k, v in values.items() if k not in ("pre_hook", "post_hook")}
    for key in ("pre_hook", "post_hook"):
        if key in values:
            hooks = values[key]
            config[key.replace("_", "-")] = [
                {"sql": hook, "transaction": True, "index": index}
                if isinstance(hook, str)
                else {"sql": hook["sql"], "transaction": hook["transaction"], "index": index}
                for index, hook in enumerate(hooks)
            ]
    return config


def _fqn(project: str, path: str, name: str) -> list[str]:
    folders = PurePosixPath(within_folder(path)).parent.parts
    return [project, *folders, name]


def node_entries(manifest: Manifest) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The ``nodes``, ``sources`` and ``unit_tests`` sections."""
    database = database_name(manifest)
    default_schema = manifest.project.config.target.schema
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    unit_tests: dict[str, Any] = {}
    for uid, node in manifest.nodes.items():
        package = uid.package  # the project's, or an installed dbt package's
        if isinstance(node, SourceNode):
            sources[uid] = _source(node, package, database)
        elif isinstance(node, ModelNode | SeedNode | SnapshotNode):
            nodes[uid] = _built(node, package, database, default_schema)
            if isinstance(node, ModelNode):
                nodes[uid].update(_model_keys(node, manifest.nodes))
                nodes[uid]["config"].setdefault("access", "protected")
        elif isinstance(node, AnalysisNode):
            nodes[uid] = _analysis(node, package, database, default_schema)
        elif isinstance(node, UnitTestNode):
            unit_tests[uid] = _unit_test(node, package, default_schema)
        elif isinstance(node, TestNode):
            nodes[uid] = _test(node, package, database)
    return nodes, sources, unit_tests


def _source(node: SourceNode, project: str, database: str) -> dict[str, Any]:
    relation = node.relation
    # A source over files has no table: its schema and identifier are the names `source()` takes.
    schema = relation.schema if isinstance(relation, Relation) else node.source_name
    identifier = relation.identifier if isinstance(relation, Relation) else node.name
    return {
        "unique_id": node.unique_id,
        "resource_type": "source",
        "package_name": project,
        "path": node.path,
        "original_file_path": node.path,
        "fqn": [*_fqn(project, node.path, node.source_name), node.name],
        "source_name": node.source_name,
        "source_description": "",
        "loader": "",
        "name": node.name,
        "database": database,
        "schema": schema,
        "identifier": identifier,
        "relation_name": relation_name(database, relation),
        "description": node.description,
        "columns": columns(node),
        "meta": {},
        "source_meta": {},
        "tags": [],
        "config": {"enabled": True},
        "patch_path": None,
        "unrendered_config": {},
    }


def _built(node: ModelNode | SeedNode | SnapshotNode, project: str, database: str, schema: str) -> dict[str, Any]:
    config = node.config.as_dict()
    built = node.built
    entry: dict[str, Any] = {
        "unique_id": node.unique_id,
        "resource_type": node.kind,
        "package_name": project,
        "name": node.name,
        "path": within_folder(node.path),
        "original_file_path": node.path,
        "patch_path": f"{project}://{node.yaml_path}" if node.yaml_path else None,
        "database": database,
        # An ephemeral model is no relation: dbt still names the schema and alias it would have.
        "schema": built.schema if built else node.config.schema or schema,
        "alias": built.identifier if built else node.name,
        "relation_name": relation_name(database, built),
        "fqn": _fqn(project, node.path, node.name),
        "config": dbt_config(config),
        "tags": list(node.config.tags),
        "meta": dict(node.config.meta),
        "description": node.description,
        "columns": columns(node),
        "depends_on": {"macros": [], "nodes": list(node.depends_on)},
        "unrendered_config": {},
    }
    if isinstance(node, SeedNode):
        entry["depends_on"] = {"macros": []}  # dbt's seeds read no nodes; neither do Northstar's
        entry["checksum"] = {"name": "sha256", "checksum": node.checksum}
        entry["root_path"] = None
    else:
        entry["checksum"] = {"name": "sha256", "checksum": hashlib.sha256(node.raw_sql.encode()).hexdigest()}
        entry["raw_code"] = node.raw_sql
        entry["compiled_code"] = node.sql
        entry["compiled"] = True
        entry["language"] = "sql"
        entry["refs"] = [{"name": p.name, "package": None, "version": None} for p in _parents(node, "source", False)]
        entry["sources"] = [p.name.split(".", 1) for p in _parents(node, "source", True)]
        entry["metrics"] = []
    return entry


def _analysis(node: AnalysisNode, project: str, database: str, schema: str) -> dict[str, Any]:
    """An analysis as dbt lists it: compiled, never built (its schema and alias are where a model would go; its path
    and fqn under `analysis/`, as dbt writes them)."""
    inside = PurePosixPath("analysis", within_folder(node.path))
    return {
        "unique_id": node.unique_id,
        "resource_type": "analysis",
        "package_name": project,
        "name": node.name,
        "path": str(inside),
        "original_file_path": node.path,
        "patch_path": f"{project}://{node.yaml_path}" if node.yaml_path else None,
        "database": database,
        "schema": schema,
        "alias": node.name,
        "relation_name": None,
        "fqn": [project, *inside.parent.parts, node.name],
        "config": dbt_config(node.config.as_dict()),
        "tags": list(node.config.tags),
        "meta": dict(node.config.meta),
        "description": node.description,
        "columns": columns(node),
        "depends_on": {"macros": [], "nodes": list(node.depends_on)},
        "unrendered_config": {},
        "checksum": {"name": "sha256", "checksum": hashlib.sha256(node.raw_sql.encode()).hexdigest()},
        "raw_code": node.raw_sql,
        "compiled_code": node.sql,
        "compiled": True,
        "language": "sql",
        "refs": [{"name": p.name, "package": None, "version": None} for p in _parents(node, "source", False)],
        "sources": [p.name.split(".", 1) for p in _parents(node, "source", True)],
        "metrics": [],
    }


def _model_keys(node: ModelNode, nodes: Mapping[NodeId, Node]) -> dict[str, Any]:
    """What only models have: model-level constraints, the version and its model's latest, refs with versions."""
    version = node.version
    keys: dict[str, Any] = {
        "group": node.config.extra.get("group"),
        "access": node.config.extra.get("access", "protected"),
        "deprecation_date": node.deprecation_date.isoformat() if node.deprecation_date else None,
        "constraints": [dict(c) for c in node.constraints],  # model-level, as dbt lists them
        "version": version.v if version else None,
        "latest_version": version.latest if version else None,
        "refs": [_ref(nodes[p]) for p in _parents(node, "source", False) if p in nodes],
    }
    if version:
        keys["name"] = version.model
        keys["fqn"] = [*_fqn(node.unique_id.package, node.path, version.model), version.suffix]
    return keys


def _ref(parent: Node) -> dict[str, Any]:
    """A ref as dbt lists it: a version's model by its name and version (an unpinned ref reads as its latest's)."""
    version = parent.version if isinstance(parent, ModelNode) else None
    if version is None:
        return {"name": parent.name, "package": None, "version": None}
    return {"name": version.model, "package": None, "version": None if version.kind == "latest" else version.v}


def _resource(kind: str, name: str, package: str, original_file_path: str) -> dict[str, Any]:
    """The keys every resource of dbt's manifest starts with, in dbt's order."""
    return {
        "name": name,
        "resource_type": kind,
        "package_name": package,
        "path": within_folder(original_file_path),
        "original_file_path": original_file_path,
        "unique_id": f"{kind}.{package}.{name}",
    }


def group_entries(manifest: Manifest) -> dict[str, Any]:
    """The ``groups`` section, as dbt writes it."""
    entries: dict[str, Any] = {}
    for group in manifest.project.groups:
        package = group.package or manifest.project.config.name
        entry = _resource("group", group.name, package, group.path)
        entries[entry["unique_id"]] = {
            **entry,
            "owner": dict(group.owner),
            "description": group.description,
            "config": {"meta": dict(group.meta)},
        }
    return entries


def group_map(manifest: Manifest) -> dict[str, list[str]]:
    """``group_map``: each group's name -> the ids of the nodes in it."""
    found: dict[str, list[str]] = {}
    names = {group.name for group in manifest.project.groups}
    for uid, node in manifest.nodes.items():
        group = node.config.extra.get("group") if isinstance(node, ModelNode | SeedNode) else None
        if group in names:
            found.setdefault(group, []).append(uid)
    return found


def doc_entries(manifest: Manifest) -> dict[str, Any]:
    """The ``docs`` section: every ``{% docs %}`` block, as dbt lists them."""
    entries: dict[str, Any] = {}
    for block in manifest.project.doc_blocks:
        package = block.package or manifest.project.config.name
        entry = _resource("doc", block.name, package, block.in_project)
        entries[entry["unique_id"]] = {**entry, "block_contents": block.contents}
    return entries


def exposure_entries(manifest: Manifest) -> dict[str, Any]:
    """The ``exposures`` section, as dbt writes it: depends_on, and the refs, sources and metrics it names."""
    entries: dict[str, Any] = {}
    for uid, node in manifest.nodes.items():
        if not isinstance(node, ExposureNode):
            continue
        entries[uid] = {
            "name": node.name,
            "resource_type": "exposure",
            "package_name": uid.package,
            "path": within_folder(node.path),
            "original_file_path": node.path,
            "unique_id": uid,
            "fqn": [*_fqn(uid.package, node.path, node.name)],
            "type": node.exposure_type,
            "owner": dict(node.owner),
            "description": node.description,
            "label": node.label,
            "maturity": node.maturity,
            "meta": dict(node.meta),
            "tags": list(node.tags),
            "config": {"enabled": True, "tags": list(node.tags), "meta": dict(node.meta)},
            "unrendered_config": {},
            "url": node.url,
            "depends_on": {"macros": [], "nodes": list(node.depends_on)},
            "refs": [
                _ref(manifest.nodes[p])
                for p in node.depends_on
                if p.resource_type in ("model", "seed", "snapshot") and p in manifest.nodes
            ],
            "sources": [p.name.split(".", 1) for p in _parents(node, "source", True)],
            "metrics": [[p.name] for p in _parents(node, "metric", True)],
        }
    return entries


def _parents(node: Node, resource_type: str, wanted: bool) -> list[NodeId]:
    return [p for p in node.depends_on if (p.resource_type == resource_type) == wanted]


def _test(node: TestNode, project: str, database: str) -> dict[str, Any]:
    stored = isinstance(node, DataTestNode) and node.config.store_failures
    entry: dict[str, Any] = {
        "unique_id": node.unique_id,
        "resource_type": "test",
        "package_name": project,
        "name": node.name,
        "path": f"{node.name}.sql" if isinstance(node, GenericTestNode) else within_folder(node.path),
        "original_file_path": node.path,
        "fqn": [project, *PurePosixPath(within_folder(node.path)).parent.parts, node.name],
        "database": database,
        "schema": FAILURES_SCHEMA,
        "alias": node.name,
        "relation_name": quoted_relation(database, Relation(FAILURES_SCHEMA, node.name)) if stored else None,
        "checksum": {"name": "none", "checksum": ""},
        "config": {**node.config.as_dict(), "materialized": "test"},
        "tags": list(node.config.tags),
        "meta": dict(node.config.meta),
        "description": node.description,
        "columns": {},
        "depends_on": {"macros": [], "nodes": list(node.depends_on)},
        "compiled_code": node.sql,
        "compiled": True,
        "language": "sql",
    }
    if isinstance(node, DataTestNode) and node.raw_sql is not None:
        entry["raw_code"] = node.raw_sql
    if isinstance(node, DataTestNode) and not isinstance(node, GenericTestNode) and node.test_type == "singular":
        return entry
    entry["attached_node"] = node.attached_node
    entry["column_name"] = node.column_name if isinstance(node, DataTestNode) else None
    if isinstance(node, DataTestNode):
        entry["test_metadata"] = {"name": node.test_name, "kwargs": dict(node.args), "namespace": None}
    return entry


def _unit_test(node: UnitTestNode, project: str, schema: str) -> dict[str, Any]:
    return {
        "unique_id": node.unique_id,
        "resource_type": "unit_test",
        "package_name": project,
        "name": node.name,
        "path": within_folder(node.path),
        "original_file_path": node.path,
        "fqn": [project, *PurePosixPath(within_folder(node.path)).parent.parts, node.model_name, node.name],
        "model": node.model_name,
        "given": [{"input": g.input, **_fixture(g.fixture)} for g in node.given],
        "expect": _fixture(node.expect),
        "description": node.description,
        "depends_on": {"macros": [], "nodes": list(node.depends_on)},
        "config": {"tags": list(node.config.tags), "meta": dict(node.config.meta), "enabled": node.config.enabled},
        "schema": schema,
    }


def _fixture(fixture: Fixture) -> dict[str, Any]:
    if fixture.sql is not None:
        return {"rows": fixture.sql, "format": "sql", "fixture": None}
    return {
        "rows": [dict(zip(fixture.columns, row, strict=False)) for row in fixture.rows],
        "format": "dict",
        "fixture": None,
    }


def graph_maps(sections: Iterable[Mapping[str, Any]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``parent_map`` and ``child_map`` from every entry's ``depends_on.nodes``, as dbt builds them: a key for
    every node, source, metric, semantic model and unit test, and an entry's parents are exactly its depends_on."""
    parents: dict[str, list[str]] = {}
    for section in sections:
        for uid, entry in section.items():
            parents[uid] = sorted(set(entry.get("depends_on", {}).get("nodes", [])))
    children: dict[str, set[str]] = {uid: set() for uid in parents}
    for uid, ups in parents.items():
        for parent in ups:
            children.setdefault(parent, set()).add(uid)
            parents.setdefault(parent, [])
    return dict(sorted(parents.items())), {uid: sorted(c) for uid, c in sorted(children.items())}


def empty_sections() -> dict[str, Any]:
    """The sections dbt's schema requires that Northstar has nothing for."""
    return {
        "macros": {},
        "selectors": {},
        "disabled": {},
    }
