"""target/ artifacts as dbt's readers take them: manifest.json (schema v12), run_results.json (v6) and catalog.json
(v1) parse strictly with dbt-artifacts-parser; every node and source names its database, schema, alias or identifier
and relation (the keys DataHub's dbt source reads); Northstar's extras are in target/northstar_manifest.json."""

from __future__ import annotations

import json

import duckdb
import pytest
from metrics_fixture import SHOP
from reader_envs import reader_env, run_python

from northstar.engine.dbt_catalog import write_catalog
from northstar.engine.manifest import load_manifest
from northstar.nodes import DataTestNode, ModelNode, SeedNode, SourceNode, UnitTestNode
from northstar.project.loader import load_project

parser = pytest.importorskip("dbt_artifacts_parser.parser", reason="dbt-artifacts-parser is in the dev extra")
MANIFEST_SECTIONS = ("nodes", "sources", "semantic_models", "metrics", "unit_tests")


def test_run_results_parse_as_dbt_schema_v6(example_warehouse):
    data = json.loads((example_warehouse / "target/run_results.json").read_text())
    parsed = parser.parse_run_results(data)
    assert type(parsed).__name__ == "RunResultsV6"
    assert parsed.metadata.dbt_version == "1.9.0"
    assert parsed.metadata.dbt_schema_version == "https://schemas.getdbt.com/dbt/run-results/v6.json"
    assert len(parsed.results) == len(data["results"]) > 300
    statuses = {r.status.value for r in parsed.results}
    assert statuses == {"success", "pass"}


def test_run_results_of_a_failed_build_parse_too(make_project, run_cli):
    root = make_project(
        {
            "models/marts/schema.yml": """
                models:
                  - name: customers
                    columns:
                      - name: revenue
                        data_tests: [{accepted_values: {values: [1]}}]
            """,
        }
    )
    assert run_cli(root, "build").exit_code == 1
    parsed = parser.parse_run_results(json.loads((root / "target/run_results.json").read_text()))
    assert sorted((r.unique_id.split(".")[0], r.status.value) for r in parsed.results) == [
        ("model", "success"),
        ("model", "success"),
        ("seed", "success"),
        ("test", "fail"),
    ]
    rows = {r.unique_id: r.adapter_response.get("rows_affected") for r in parsed.results}
    assert rows["seed.shop.orders"] == 3


def test_every_manifest_node_and_source_names_its_relation(example_warehouse):
    manifest = json.loads((example_warehouse / "target/manifest.json").read_text())
    assert manifest["metadata"]["dbt_version"] == "1.9.0"
    assert manifest["metadata"]["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/manifest/v12.json"
    assert manifest["metadata"]["adapter_type"] == "duckdb"
    # dbt names a model's or seed's table by `alias`, a source's by `identifier`.
    located = {
        uid: (entry["database"], entry["schema"], entry.get("alias") or entry["identifier"], entry["relation_name"])
        for section in ("nodes", "sources")
        for uid, entry in manifest[section].items()
        if entry["resource_type"] in ("model", "seed", "source")
    }
    assert located["model.growth.fct_orders"] == (
        "warehouse",
        "marts",
        "fct_orders",
        '"warehouse"."marts"."fct_orders"',
    )
    assert located["seed.growth.orders"] == ("warehouse", "raw", "orders", '"warehouse"."raw"."orders"')
    assert located["source.growth.raw.orders"] == ("warehouse", "raw", "orders", '"warehouse"."raw"."orders"')
    assert all(
        database == "warehouse" and relation == f'"warehouse"."{schema}"."{name}"'
        for database, schema, name, relation in located.values()
    )


def test_the_example_manifest_parses_as_dbt_schema_v12(example_warehouse):
    data = json.loads((example_warehouse / "target/manifest.json").read_text())
    parsed = parser.parse_manifest(data)
    assert type(parsed).__name__ == "ManifestV12"
    kinds: dict[str, int] = {}
    for entry in parsed.nodes.values():
        kinds[entry.resource_type] = kinds.get(entry.resource_type, 0) + 1
    # Every model, seed and data test of the build's manifest, sources and unit tests in their sections.
    built = load_manifest(load_project(example_warehouse)).nodes.values()
    expected = {
        "model": sum(isinstance(n, ModelNode) for n in built),
        "seed": sum(isinstance(n, SeedNode) for n in built),
        "test": sum(isinstance(n, DataTestNode) for n in built),
    }
    assert kinds == expected and expected["test"] > 300
    assert (len(parsed.sources), len(parsed.unit_tests)) == (
        sum(isinstance(n, SourceNode) for n in built),
        sum(isinstance(n, UnitTestNode) for n in built),
    )
    assert len(parsed.semantic_models) == 8
    # dbt's metric types as they are; Northstar's growth types as a conversion over the same entity and measures,
    # config.meta naming the real type (its definition is in northstar_manifest.json).
    shown = {}
    for metric in parsed.metrics.values():
        northstar_type = (metric.config.meta or {}).get("northstar_type")
        calculation = metric.type_params.conversion_type_params
        shown[northstar_type or metric.type.value] = (
            metric.type.value,
            calculation.calculation.value if calculation and northstar_type else None,
        )
    assert shown == {
        "simple": ("simple", None),
        "ratio": ("ratio", None),
        "derived": ("derived", None),
        "cumulative": ("cumulative", None),
        "conversion": ("conversion", None),
        "cohort": ("conversion", "conversions"),
        "retention": ("conversion", "conversion_rate"),
        "funnel": ("conversion", "conversion_rate"),
        "uplift": ("conversion", "conversions"),
        "coverage": ("conversion", "conversion_rate"),
        "pyramid": ("conversion", "conversions"),
    }


def test_parent_and_child_maps_cover_every_entry_both_ways(example_warehouse):
    manifest = json.loads((example_warehouse / "target/manifest.json").read_text())
    entries = {uid: entry for section in MANIFEST_SECTIONS for uid, entry in manifest[section].items()}
    assert set(manifest["parent_map"]) == set(manifest["child_map"]) == set(entries)
    for uid, entry in entries.items():
        assert manifest["parent_map"][uid] == sorted(entry.get("depends_on", {}).get("nodes", [])), uid
    children = {uid: sorted(c for c, parents in manifest["parent_map"].items() if uid in parents) for uid in entries}
    assert manifest["child_map"] == children
    assert manifest["parent_map"]["metric.growth.top_customer_share"] == [
        "metric.growth.revenue",
        "model.growth.dim_users",
        "model.growth.fct_orders",
        "semantic_model.growth.orders",
        "semantic_model.growth.users",
    ]


def test_a_growth_metric_is_a_conversion_in_dbts_manifest_and_itself_in_northstars(example_warehouse):
    manifest = json.loads((example_warehouse / "target/manifest.json").read_text())
    extras = json.loads((example_warehouse / "target/northstar_manifest.json").read_text())
    attempted = "{{ Dimension('session__checkout_attempts') }} > 0"
    succeeded = "{{ Dimension('session__checkout_attempts') }} > {{ Dimension('session__checkout_failures') }}"

    def measure(where):
        filter_ = {"where_filters": [{"where_sql_template": where}]}
        return {
            "name": "sessions",
            "filter": filter_,
            "alias": None,
            "join_to_timespine": False,
            "fill_nulls_with": None,
        }

    entry = manifest["metrics"]["metric.growth.checkout_funnel"]
    assert (entry["type"], entry["config"]["meta"], entry["type_params"]["conversion_type_params"]) == (
        "conversion",
        {"northstar_type": "funnel"},
        {
            "entity": "session",
            "base_measure": measure(attempted),
            "conversion_measure": measure(succeeded),
            "calculation": "conversion_rate",
            "window": {"count": 1, "granularity": "day"},
            "constant_properties": None,
        },
    )
    own = extras["metrics"]["metric.growth.checkout_funnel"]
    step = {"name": "sessions", "alias": None, "fill_nulls_with": None, "join_to_timespine": False}
    assert {k: v for k, v in own.items() if k != "compiled_code"} == {
        "type": "funnel",
        "type_params": {
            "entity": "session",
            "steps": [
                {"name": "attempted", "measure": {**step, "filter": attempted}, "window": None},
                {"name": "succeeded", "measure": {**step, "filter": succeeded}, "window": {"count": 1, "unit": "day"}},
            ],
            "grain": "day",
        },
        "filter": None,
        "owner": "product@northstar.example",
        "measures": ["sessions"],
        "dimensions": ["sessions.started_at", "session__checkout_attempts", "session__checkout_failures"],
        "models": ["fct_sessions"],
        "relation_name": '"warehouse"."metrics"."checkout_funnel"',
    }
    assert own["compiled_code"].startswith("WITH checkout_funnel_attempted AS (")
    assert extras["metadata"]["northstar_manifest_version"] == 2
    assert set(extras) == {"metadata", "fingerprints", "metrics", "column_lineage"}


def test_a_small_projects_manifest_parses_after_compile_and_after_build(make_project, run_cli):
    root = make_project(SHOP, base={})
    metrics = []
    for command in ("compile", "build"):
        assert run_cli(root, command).exit_code == 0
        parsed = parser.parse_manifest(json.loads((root / "target/manifest.json").read_text()))
        metrics.append(sorted(parsed.metrics))
    # Without metric nodes (compile) or with them (build), the same metrics, read from the YAML.
    assert metrics[0] == metrics[1] and "metric.shop.revenue" in metrics[0]
    entry = parsed.nodes["model.shop.fct_orders"]
    assert (entry.database, entry.schema_, entry.alias, entry.relation_name) == (
        "warehouse",
        "marts",
        "fct_orders",
        '"warehouse"."marts"."fct_orders"',
    )
    semantic = parsed.semantic_models["semantic_model.shop.orders"]
    assert semantic.node_relation.relation_name == '"warehouse"."marts"."fct_orders"'
    assert [(m.name, m.agg.value, m.expr) for m in semantic.measures] == [
        ("revenue", "sum", "case when status = 'completed' then amount end"),
        ("order_count", "count", "order_id"),
        ("buyers", "count_distinct", "user_id"),
    ]


def test_docs_generate_writes_a_catalog_of_the_published_warehouse(make_project, run_cli):
    root = make_project(
        {
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    description: One row per order.
                    columns:
                      - {name: amount, description: What was paid.}
            """
        }
    )
    assert run_cli(root, "build").exit_code == 0
    result = run_cli(root, "docs", "generate")
    assert result.exit_code == 0, result.output
    data = json.loads((root / "target/catalog.json").read_text())
    parsed = parser.parse_catalog(data)
    assert type(parsed).__name__ == "CatalogV1"
    assert data["metadata"]["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/catalog/v1.json"
    has_stats = {"id": "has_stats", "label": "Has Stats?", "include": False}
    has_stats["description"] = "Indicates whether there are statistics for this table"
    assert data["nodes"]["model.shop.stg_orders"] == {
        "metadata": {
            "type": "VIEW",
            "schema": "staging",
            "name": "stg_orders",
            "database": "warehouse",
            "comment": "One row per order.",
        },
        "columns": {
            "order_id": {"type": "BIGINT", "index": 1, "name": "order_id", "comment": None},
            "customer_id": {"type": "BIGINT", "index": 2, "name": "customer_id", "comment": None},
            "amount": {"type": "DOUBLE", "index": 3, "name": "amount", "comment": "What was paid."},
        },
        "stats": {"has_stats": {**has_stats, "value": False}},
        "unique_id": "model.shop.stg_orders",
    }
    assert data["nodes"]["seed.shop.orders"]["stats"] == {
        "has_stats": {**has_stats, "value": True},
        "num_rows": {
            "id": "num_rows",
            "label": "# Rows",
            "value": 3,
            "include": True,
            "description": "Rows in the table when the catalog was written",
        },
    }
    assert sorted(data["nodes"]) == ["model.shop.customers", "model.shop.stg_orders", "seed.shop.orders"]
    assert (data["sources"], data["errors"]) == ({}, None)


def test_the_catalog_says_when_the_warehouse_cannot_be_read(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    with duckdb.connect(str(root / "warehouse.duckdb")):  # a writer holds the file
        assert run_cli(root, "docs").exit_code == 0
    data = json.loads((root / "target/catalog.json").read_text())
    assert (data["nodes"], data["sources"], len(data["errors"])) == ({}, {}, 1)
    assert data["errors"][0].startswith(f"{root / 'warehouse.duckdb'} could not be opened read-only: ")
    parser.parse_catalog(data)


def test_the_example_catalog_lists_every_built_model_seed_and_source(example_warehouse, tmp_path):
    manifest = load_manifest(load_project(example_warehouse), metrics=False)
    data = json.loads(write_catalog(manifest, tmp_path).read_text())
    parser.parse_catalog(data)
    dbt_manifest = json.loads((example_warehouse / "target/manifest.json").read_text())
    built = {
        uid
        for section in ("nodes", "sources")
        for uid, entry in dbt_manifest[section].items()
        if entry["resource_type"] in ("model", "seed", "source") and entry["relation_name"]
    }
    assert set(data["nodes"]) | set(data["sources"]) == built
    orders = data["nodes"]["model.growth.fct_orders"]
    assert orders["columns"]["payment_total"] == {
        "type": "DECIMAL(12,2)",
        "index": orders["columns"]["payment_total"]["index"],
        "name": "payment_total",
        "comment": orders["columns"]["payment_total"]["comment"],
    }
    assert orders["columns"]["payment_total"]["comment"]
    assert data["sources"]["source.growth.raw.orders"]["metadata"]["name"] == "orders"


def test_the_keys_datahubs_dbt_source_reads_are_there(example_warehouse, tmp_path):
    """DataHub's dbt source (metadata-ingestion, dbt_core.py) reads these keys with [] (a missing one drops the node
    or the file) or .get(); it was not run here, its reads are checked key by key."""
    manifest = json.loads((example_warehouse / "target/manifest.json").read_text())
    loaded = load_manifest(load_project(example_warehouse), metrics=False)
    catalog = json.loads(write_catalog(loaded, tmp_path).read_text())
    assert {"dbt_schema_version", "dbt_version", "adapter_type", "project_name", "generated_at"} <= set(
        manifest["metadata"]
    )
    for uid, node in {**manifest["nodes"], **manifest["sources"]}.items():
        assert {"name", "database", "schema", "original_file_path", "resource_type", "package_name"} <= set(node), uid
        assert isinstance(node["depends_on"].get("nodes", []) if "depends_on" in node else [], list)
        if node["resource_type"] == "test":
            assert "kwargs" in node.get("test_metadata", {"kwargs": {}}), uid
    tables = {**catalog["nodes"], **catalog["sources"]}
    for uid, table in tables.items():
        assert table["metadata"]["type"] in ("BASE TABLE", "VIEW"), uid
        assert all({"name", "type", "index"} <= set(c) for c in table["columns"].values()), uid
    for metric in manifest["metrics"].values():
        assert isinstance(metric["type_params"], dict) and isinstance(metric["depends_on"]["nodes"], list)
    for semantic in manifest["semantic_models"].values():
        assert semantic["node_relation"]["alias"] and semantic["depends_on"]["nodes"]


# The oldest dbt-artifacts-parser with manifest schema v12 (as dbt 1.8 wrote it: no `time_granularity` or
# `cumulative_type_params`, which its models refuse).
OLDEST_PARSER = "dbt-artifacts-parser==0.6.0"
PARSE_ALL = """
import json, sys
from dbt_artifacts_parser import parser
for name in ("manifest", "run_results", "catalog"):
    parsed = getattr(parser, "parse_" + name)(json.load(open(sys.argv[1] + "/" + name + ".json")))
    print(name, type(parsed).__name__)
"""


def test_the_artifacts_parse_with_the_oldest_parser_of_schema_v12_too(example_warehouse, tmp_path):
    env = reader_env(OLDEST_PARSER, "pydantic==1.10.27")  # what pip resolves it to
    for name in ("manifest", "run_results"):
        (tmp_path / f"{name}.json").write_bytes((example_warehouse / f"target/{name}.json").read_bytes())
    write_catalog(load_manifest(load_project(example_warehouse), metrics=False), tmp_path)
    assert (
        run_python(env, PARSE_ALL, str(tmp_path))
        == "manifest ManifestV12\nrun_results RunResultsV6\ncatalog CatalogV1\n"
    )


def test_saved_queries_are_in_the_manifest_as_dbt_writes_them(make_project, run_cli):
    from test_metricflow_parity import SHOP as PARITY_SHOP

    root = make_project(PARITY_SHOP, base={})
    assert run_cli(root, "build").exit_code == 0
    data = json.loads((root / "target/manifest.json").read_text())
    parsed = parser.parse_manifest(data)
    assert sorted(parsed.saved_queries) == [
        "saved_query.shop.monthly_revenue",
        "saved_query.shop.revenue_by_weekday",
        "saved_query.shop.top_cities",
    ]
    top = data["saved_queries"]["saved_query.shop.top_cities"]
    assert top["query_params"] == {
        "metrics": ["revenue", "order_count"],
        "group_by": ["Dimension('customer__city')"],
        "where": {"where_filters": [{"where_sql_template": "{{ Dimension('order__status') }} = 'completed'"}]},
        "order_by": ["Metric('revenue').descending(True)"],
        "limit": 2,
    }
    assert top["depends_on"] == {"macros": [], "nodes": ["metric.shop.order_count", "metric.shop.revenue"]}
    assert (top["description"], top["path"], top["original_file_path"]) == (
        "Completed revenue by city, the two largest.",
        "shop.yml",
        "metrics/shop.yml",
    )
    monthly = parsed.saved_queries["saved_query.shop.monthly_revenue"]
    assert [(e.name, e.config.export_as.value, e.config.schema_name, e.config.alias) for e in monthly.exports] == [
        ("monthly_revenue", "table", "exports", "monthly_revenue"),
        ("monthly_revenue_view", "view", "metrics", "revenue_by_month"),
    ]
    assert monthly.query_params.group_by == ["TimeDimension('metric_time', 'month')"]
    assert data["child_map"]["metric.shop.revenue"] == [
        "metric.shop.repeat_share",
        "metric.shop.revenue_month_start",
        "metric.shop.revenue_over_month_start",
        "metric.shop.revenue_quarter_start",
        "saved_query.shop.monthly_revenue",
        "saved_query.shop.revenue_by_weekday",
        "saved_query.shop.top_cities",
    ]
    assert data["parent_map"]["saved_query.shop.revenue_by_weekday"] == ["metric.shop.revenue"]
