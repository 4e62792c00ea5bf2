"""Column lineage through the CLI (`metrics lineage`) and the Python API, on small projects and the example one."""

from __future__ import annotations

import json

import duckdb
import pytest

from northstar.engine.manifest import load_manifest
from northstar.lineage import ColumnRef, build_lineage, project_lineage
from northstar.project.loader import load_project

SHOP = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        models:
          +materialized: table
          staging:
            +materialized: view
        seeds:
          +schema: raw
    """,
    "seeds/orders.csv": (
        "order_id,user_id,status,amount,ordered_at\n"
        "1,1,completed,10.5,2025-01-03 10:00:00\n"
        "2,1,cancelled,20,2025-01-04 10:00:00\n"
        "3,2,completed,7.25,2025-02-01 09:00:00\n"
    ),
    "seeds/sessions.csv": (
        "session_id,user_id,started_at,channel\n"
        "1,1,2025-01-01 08:00:00,seo\n"
        "2,1,2025-01-02 08:00:00,email\n"
        "3,2,2025-01-20 08:00:00,paid_search\n"
    ),
    "models/staging/sources.yml": """
        sources:
          - name: raw
            tables:
              - name: orders
              - name: sessions
    """,
    # select * over a source: the star is expanded with the seed's columns.
    "models/staging/stg_orders.sql": """
        select * from {{ source('raw', 'orders') }} where status <> 'cancelled'
    """,
    "models/staging/stg_sessions.sql": """
        select session_id, user_id, started_at, lower(channel) as channel from {{ source('raw', 'sessions') }}
    """,
    # An ephemeral model with a window function: inlined as a CTE, yet a node of its own in the lineage.
    "models/intermediate/int_first_touch.sql": """
        {{ config(materialized='ephemeral') }}
        select user_id, started_at as first_touch_at, channel as first_channel
        from (
            select *, row_number() over (partition by user_id order by started_at) as n
            from {{ ref('stg_sessions') }}
        ) as ranked
        where n = 1
    """,
    # CTEs, an inner and a left join, count(*) and a union.
    "models/marts/fct_cohorts.sql": """
        with completed as (
            select user_id, amount from {{ ref('stg_orders') }} where status = 'completed'
        ),
        revenue as (
            select user_id, sum(amount) as revenue, count(*) as orders from completed group by user_id
        )
        select
            date_trunc('month', t.first_touch_at) as cohort_month,
            t.first_channel,
            coalesce(r.revenue, 0) as revenue,
            r.orders
        from {{ ref('int_first_touch') }} as t
        left join revenue as r on r.user_id = t.user_id
    """,
    "models/marts/channels.sql": """
        select channel from {{ ref('stg_sessions') }}
        union all
        select 'offline' as channel
    """,
}


@pytest.fixture
def shop(make_project):
    return make_project(SHOP, base={})


def lineage_of(root):
    return build_lineage(load_manifest(load_project(root), metrics=False))


def raw(lineage, node, column=None):
    return sorted(lineage.label(r) for r in lineage.raw_columns(lineage.resolve(node)[0], column))


def test_star_over_a_source_is_expanded_with_the_seed_columns(shop):
    lineage = lineage_of(shop)
    uid = "model.shop.stg_orders"
    assert lineage.columns_of(uid) == ["order_id", "user_id", "status", "amount", "ordered_at"]
    assert raw(lineage, "stg_orders", "amount") == ["raw.orders.amount", "raw.orders.status"]
    assert lineage.parents(ColumnRef(uid, "amount")) == [
        ("value", ColumnRef("source.shop.raw.orders", "amount")),
        ("filter", ColumnRef("source.shop.raw.orders", "status")),
    ]


def test_through_ctes_joins_ephemeral_models_and_windows(shop):
    lineage = lineage_of(shop)
    # Written by reading the models: revenue sums stg_orders.amount of completed orders (status, twice filtered),
    # grouped by user_id and left-joined on the first touch's user_id, whose rows are the first session per user
    # (row_number over user_id ordered by started_at).
    assert raw(lineage, "fct_cohorts", "revenue") == [
        "raw.orders.amount",
        "raw.orders.status",
        "raw.orders.user_id",
        "raw.sessions.started_at",
        "raw.sessions.user_id",
    ]
    # count(*) reads no column, but it counts rows that the status filters decide.
    assert raw(lineage, "fct_cohorts", "orders") == [
        "raw.orders.status",
        "raw.orders.user_id",
        "raw.sessions.started_at",
        "raw.sessions.user_id",
    ]
    assert raw(lineage, "fct_cohorts", "first_channel") == [
        "raw.sessions.channel",
        "raw.sessions.started_at",
        "raw.sessions.user_id",
    ]
    # The ephemeral model stays a node between the mart and staging.
    assert lineage.parents(ColumnRef("model.shop.fct_cohorts", "first_channel")) == [
        ("value", ColumnRef("model.shop.int_first_touch", "first_channel")),
        ("rows", ColumnRef("model.shop.int_first_touch", "*")),
    ]


def test_union_branches_are_both_read(shop):
    lineage = lineage_of(shop)
    assert raw(lineage, "channels", "channel") == ["raw.sessions.channel"]


def test_cli_tree_upstream_of_a_column(shop, run_cli):
    result = run_cli(shop, "lineage", "fct_cohorts.first_channel")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "fct_cohorts.first_channel\n"
        "├── int_first_touch.first_channel\n"
        "│   ├── stg_sessions.channel\n"
        "│   │   └── raw.sessions.channel\n"
        "│   │       └── sessions.channel\n"
        "│   ├── stg_sessions.started_at [filter]\n"
        "│   │   └── raw.sessions.started_at\n"
        "│   │       └── sessions.started_at\n"
        "│   └── stg_sessions.user_id [filter]\n"
        "│       └── raw.sessions.user_id\n"
        "│           └── sessions.user_id\n"
        "└── int_first_touch (rows)\n"
        "    ├── stg_sessions.started_at [filter] (see above)\n"
        "    └── stg_sessions.user_id [filter] (see above)\n"
        "\n"
        "Reads 3 raw columns:\n"
        "  raw.sessions.channel\n"
        "  raw.sessions.started_at\n"
        "  raw.sessions.user_id\n"
    )


def test_cli_downstream_of_a_raw_column_lists_everything_it_feeds(shop, run_cli):
    result = run_cli(shop, "lineage", "raw.orders.amount", "--downstream")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "raw.orders.amount\n"
        "└── stg_orders.amount\n"
        "    └── fct_cohorts.revenue\n"
        "\n"
        "Feeds 2 columns:\n"
        "  fct_cohorts.revenue\n"
        "  stg_orders.amount\n"
    )
    # A filter column decides the rows of everything below it.
    result = run_cli(shop, "lineage", "raw.orders.status", "--downstream", "--depth", "1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:7] == [
        "raw.orders.status",
        "├── stg_orders (rows) [as a filter]",
        "├── stg_orders.amount [as a filter]",
        "├── stg_orders.order_id [as a filter]",
        "├── stg_orders.ordered_at [as a filter]",
        "├── stg_orders.status",
        "└── stg_orders.user_id [as a filter]",
    ]
    assert "  fct_cohorts.orders\n  fct_cohorts.revenue\n" in result.output


def test_cli_json_mermaid_and_dot(shop, run_cli):
    result = run_cli(shop, "lineage", "stg_sessions", "--column", "channel", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "node": "model.shop.stg_sessions",
        "name": "stg_sessions",
        "resource_type": "model",
        "column": "channel",
        "direction": "upstream",
        "edges": [
            {"from": "raw.sessions.channel", "to": "stg_sessions.channel", "kind": "value"},
            {"from": "sessions.channel", "to": "raw.sessions.channel", "kind": "value"},
        ],
        "columns": ["raw.sessions.channel", "sessions.channel", "stg_sessions.channel"],
        "raw_columns": ["raw.sessions.channel"],
        "unresolved": {},
    }
    result = run_cli(shop, "lineage", "stg_sessions.channel", "--format", "mermaid")
    assert result.output == (
        "graph LR\n"
        '    raw_sessions_channel["raw.sessions.channel"]\n'
        '    sessions_channel["sessions.channel"]\n'
        '    stg_sessions_channel["stg_sessions.channel"]\n'
        "    raw_sessions_channel --> stg_sessions_channel\n"
        "    sessions_channel --> raw_sessions_channel\n"
    )
    result = run_cli(shop, "lineage", "stg_orders.amount", "--format", "dot", "--depth", "1")
    assert result.output == (
        "digraph lineage {\n"
        "    rankdir=LR;\n"
        '    node [shape=box, fontname="Helvetica"];\n'
        '    "raw.orders.amount";\n'
        '    "raw.orders.status";\n'
        '    "stg_orders.amount";\n'
        '    "raw.orders.amount" -> "stg_orders.amount";\n'
        '    "raw.orders.status" -> "stg_orders.amount" [style=dashed, label="filter"];\n'
        "}\n"
    )


def test_cli_names_a_missing_node_or_column(shop, run_cli):
    result = run_cli(shop, "lineage", "fct_cohort")
    assert result.exit_code == 2
    assert result.output == (
        "Error: No model, seed, source or metric named 'fct_cohort'. Did you mean 'fct_cohorts'? "
        "Run 'metrics ls' to list them; a column is written NODE.COLUMN, e.g. raw.orders.status.\n"
    )
    result = run_cli(shop, "lineage", "fct_cohorts", "--column", "revenu")
    assert result.exit_code == 2
    assert result.output == (
        "Error: Model 'fct_cohorts' has no column 'revenu'. Did you mean 'revenue'? "
        "Its columns: cohort_month, first_channel, revenue, orders.\n"
    )


def test_unknown_tables_are_reported_per_column_not_fatal(make_project, run_cli):
    root = make_project(
        {
            "models/marts/mixed.sql": """
                select c.customer_id, e.score
                from {{ ref('customers') }} as c
                join analytics.external_scores as e on e.customer_id = c.customer_id
            """,
        }
    )
    lineage = lineage_of(root)
    node = lineage.nodes["model.shop.mixed"]
    assert node.unresolved == {
        "customer_id": "'analytics.external_scores' is not a seed, source or model",
        "score": "'analytics.external_scores' is not a seed, source or model",
        "*": "'analytics.external_scores' is not a seed, source or model",
    }
    assert raw(lineage, "mixed", "customer_id") == ["orders.customer_id"]
    result = run_cli(root, "lineage", "mixed.score")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "Reads 1 raw column:\n"
        "  orders.customer_id\n"
        "Unresolved:\n"
        "  mixed: 'analytics.external_scores' is not a seed, source or model\n"
        "  mixed.customer_id: 'analytics.external_scores' is not a seed, source or model\n"
        "  mixed.score: 'analytics.external_scores' is not a seed, source or model\n"
    )


def test_sql_that_does_not_parse_is_unresolved_and_the_rest_stands(make_project):
    root = make_project({"models/marts/broken.sql": "select ((( from {{ ref('customers') }}\n"})
    lineage = lineage_of(root)
    assert list(lineage.nodes["model.shop.broken"].unresolved) == ["*"]
    assert raw(lineage, "customers", "revenue") == ["orders.amount", "orders.customer_id"]


def test_external_parquet_source_columns_are_read_from_the_file(make_project, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    duckdb.sql(f"copy (select 1 as visit_id, 'seo' as channel) to '{data}/visits.parquet' (format parquet)")
    root = make_project(
        {
            "models/staging/sources.yml": f"""
                sources:
                  - name: lake
                    tables:
                      - name: visits
                        external_location: "{data}/visits.parquet"
            """,
            "models/marts/visits_by_channel.sql": (
                "select channel, count(*) as visits from {{ source('lake', 'visits') }} group by all\n"
            ),
        }
    )
    lineage = lineage_of(root)
    assert raw(lineage, "visits_by_channel", "visits") == ["lake.visits.channel"]
    assert lineage.nodes["source.shop.lake.visits"].types == {"visit_id": "INTEGER", "channel": "VARCHAR"}


def test_built_warehouse_gives_types_and_the_cache_is_reused(shop, run_cli):
    assert run_cli(shop, "build").exit_code == 0
    manifest = load_manifest(load_project(shop), metrics=False)
    first = project_lineage(manifest)
    assert first.nodes["model.shop.fct_cohorts"].types == {
        "cohort_month": "TIMESTAMP",
        "first_channel": "VARCHAR",
        "revenue": "DOUBLE",
        "orders": "BIGINT",
    }
    cache = json.loads((shop / "target" / "lineage_cache.json").read_text())
    assert len(cache["entries"]) == 6  # five models and the warehouse's columns
    second = project_lineage(manifest)
    assert second.nodes["model.shop.fct_cohorts"].columns == first.nodes["model.shop.fct_cohorts"].columns


METRICS = {
    "models/marts/fct_orders.sql": """
        select order_id, user_id, amount, ordered_at from {{ ref('stg_orders') }} where status = 'completed'
    """,
    "metrics/orders.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities: [{name: order, type: primary, expr: order_id}]
            dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: revenue, agg: sum, expr: amount}]
        metrics:
          - name: revenue
            type: simple
            type_params: {measure: revenue}
            defaults: {grain: month}
    """,
}


def test_metric_lineage_reaches_raw_columns_through_its_semantic_model(make_project, run_cli):
    root = make_project({**SHOP, **METRICS}, base={})
    lineage = lineage_of(root)
    # revenue = sum(amount) of completed orders (status twice: stg_orders and fct_orders), per month of ordered_at.
    assert raw(lineage, "revenue") == ["raw.orders.amount", "raw.orders.ordered_at", "raw.orders.status"]
    assert raw(lineage, "revenue", "revenue") == ["raw.orders.amount", "raw.orders.ordered_at", "raw.orders.status"]
    assert lineage.graph["metric.shop.revenue"].parents == ("semantic_model.shop.orders",)
    assert lineage.columns_of("semantic_model.shop.orders") == ["order", "ordered_at", "revenue"]
    # The metric reads its measure and its time dimension, which read the model's columns.
    assert lineage.parents(ColumnRef("metric.shop.revenue", "revenue")) == [
        ("value", ColumnRef("semantic_model.shop.orders", "revenue")),
        ("filter", ColumnRef("semantic_model.shop.orders", "ordered_at")),
        ("rows", ColumnRef("semantic_model.shop.orders", "*")),
    ]
    assert lineage.parents(ColumnRef("semantic_model.shop.orders", "revenue")) == [
        ("value", ColumnRef("model.shop.fct_orders", "amount")),
        ("rows", ColumnRef("model.shop.fct_orders", "*")),
    ]
    result = run_cli(root, "lineage", "raw.orders.amount", "--downstream")
    assert result.exit_code == 0, result.output
    assert result.output.split("Feeds")[1] == (
        " 5 columns:\n"
        "  fct_cohorts.revenue\n"
        "  fct_orders.amount\n"
        "  revenue.revenue\n"
        "  semantic_model:orders.revenue\n"
        "  stg_orders.amount\n"
    )


def test_manifest_has_column_lineage_semantic_models_and_metrics(make_project, run_cli):
    root = make_project({**SHOP, **METRICS}, base={})
    assert run_cli(root, "build").exit_code == 0
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    extras = json.loads((root / "target" / "northstar_manifest.json").read_text())
    assert extras["metadata"]["northstar_manifest_version"] == 2
    assert extras["column_lineage"]["model.shop.fct_orders"]["columns"]["amount"] == {
        "value": [["model.shop.stg_orders", "amount"]],
        "filter": [["model.shop.stg_orders", "status"]],
        "rows": ["model.shop.stg_orders"],
    }
    assert manifest["nodes"]["model.shop.fct_orders"]["columns"]["amount"] == {
        "name": "amount",
        "description": "",
        "meta": {},
        "constraints": [],
        "quote": None,
        "tags": [],
        "data_type": "DOUBLE",
    }
    metric = manifest["metrics"]["metric.shop.revenue"]
    # The semantic model it is defined on, and the models its SQL reads (the build runs it after them).
    assert metric["depends_on"] == {"macros": [], "nodes": ["model.shop.fct_orders", "semantic_model.shop.orders"]}
    assert extras["metrics"]["metric.shop.revenue"]["compiled_code"].startswith("WITH orders AS")
    assert manifest["semantic_models"]["semantic_model.shop.orders"]["depends_on"] == {
        "macros": [],
        "nodes": ["model.shop.fct_orders"],
    }
    assert manifest["parent_map"]["metric.shop.revenue"] == ["model.shop.fct_orders", "semantic_model.shop.orders"]
    assert "metric.shop.revenue" in manifest["child_map"]["semantic_model.shop.orders"]
    assert set(extras["column_lineage"]["metric.shop.revenue"]["columns"]) == {"metric_time__month", "revenue", "*"}


# -- the example project: expected sets written by reading its models and metric YAML, not by running the code ------

EXAMPLE_METRICS = {
    # sum(payment_total of completed orders) of a cohort / cohort size. Cohorts: the month of each user's first
    # session in fct_sessions (user_id, min(started_at), where session_id is not null), whose rows are stg_sessions
    # inner-joined with int_user_first_touch (row_number over user_id by started_at, session_id). Outcomes:
    # fct_orders' user_id and ordered_at within 3 months, is_completed (lower(status)) and payment_total; fct_orders'
    # rows are stg_orders inner-joined with int_order_crm_attribution on order_id.
    "sarpu": {
        "raw.orders.order_id",
        "raw.orders.ordered_at",
        "raw.orders.payment_total",
        "raw.orders.status",
        "raw.orders.user_id",
        "raw.sessions.session_id",
        "raw.sessions.started_at",
        "raw.sessions.user_id",
    },
    # sum(case when is_completed then payment_total end) by month of ordered_at, over fct_orders' rows.
    "revenue": {"raw.orders.order_id", "raw.orders.ordered_at", "raw.orders.payment_total", "raw.orders.status"},
    # count(case when is_completed then order_id end) where is_crm_attributed: the last click of the same user on a
    # message of a CRM channel (clicked_at not null, channel in the list) within 7 days before ordered_at.
    "north_star": {
        "raw.communications.channel",
        "raw.communications.clicked_at",
        "raw.communications.message_id",
        "raw.communications.user_id",
        "raw.orders.order_id",
        "raw.orders.ordered_at",
        "raw.orders.status",
        "raw.orders.user_id",
    },
    # sum(spend_gross) by month of spend_date and channel, spend_gross = spend x VAT x (1 + agency_fee_rate of the
    # channel, a left join on channel); / paid sessions by month of started_at and channel where is_paid, over
    # fct_sessions' rows (see sarpu); the two joined on month and channel.
    "cpc": {
        "raw.ad_spend.channel",
        "raw.ad_spend.spend",
        "raw.ad_spend.spend_date",
        "raw.channel_fees.agency_fee_rate",
        "raw.channel_fees.channel",
        "raw.sessions.channel",
        "raw.sessions.is_paid",
        "raw.sessions.session_id",
        "raw.sessions.started_at",
        "raw.sessions.user_id",
    },
}


@pytest.fixture(scope="module")
def example_lineage(example_project):
    return build_lineage(load_manifest(load_project(example_project), metrics=False))


@pytest.mark.parametrize("metric", sorted(EXAMPLE_METRICS))
def test_example_metrics_read_exactly_these_raw_columns(example_lineage, metric):
    assert set(raw(example_lineage, metric)) == EXAMPLE_METRICS[metric]


def test_every_example_metric_reaches_raw_columns_and_nothing_is_unresolved(example_lineage):
    metrics = [uid for uid, node in example_lineage.graph.items() if node.kind == "metric"]
    assert len(metrics) >= 20
    for uid in metrics:
        assert raw(example_lineage, uid), uid
    assert {uid: n.unresolved for uid, n in example_lineage.nodes.items() if n.unresolved} == {}


def test_example_downstream_of_a_raw_column_reaches_the_metrics(example_project, run_cli):
    result = run_cli(example_project, "lineage", "raw.orders.payment_total", "--downstream")
    assert result.exit_code == 0, result.output
    fed = result.output.split("Feeds ")[1].splitlines()[1:]
    assert {"  fct_orders.payment_total", "  revenue.revenue", "  sarpu.sarpu", "  ltv.ltv"} <= set(fed)
    assert "  cpc.cpc" not in fed


@pytest.mark.parametrize("name", ["northstar.lineage.graph", "northstar.docs.site"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_subqueries_qualify_distinct_on_exclude_and_generated_tables(make_project):
    root = make_project(
        {
            "models/marts/m_in.sql": (
                "select customer_id from {{ ref('stg_orders') }}\n"
                "where order_id in (select order_id from {{ ref('stg_orders') }} where amount > 5)\n"
            ),
            "models/marts/m_correlated.sql": (
                "select o.order_id, (select count(*) from {{ ref('stg_orders') }} as i\n"
                "  where i.customer_id = o.customer_id) as n\nfrom {{ ref('stg_orders') }} as o\n"
            ),
            "models/marts/m_qualify.sql": (
                "select order_id, row_number() over (partition by customer_id order by amount) as rn\n"
                "from {{ ref('stg_orders') }} qualify rn = 1\n"
            ),
            "models/marts/m_distinct_on.sql": (
                "select distinct on (customer_id) customer_id, amount from {{ ref('stg_orders') }}\n"
                "order by customer_id, amount desc\n"
            ),
            "models/marts/m_exclude.sql": "select * exclude (amount) from {{ ref('stg_orders') }}\n",
            "models/marts/m_spine.sql": (
                "select d.day, count(o.order_id) as orders\n"
                "from generate_series(date '2025-01-01', date '2025-01-31', interval 1 day) as d(day)\n"
                "left join {{ ref('stg_orders') }} as o on o.order_id = extract(day from d.day)\ngroup by 1\n"
            ),
        }
    )
    lineage = lineage_of(root)
    assert raw(lineage, "m_in", "customer_id") == ["orders.amount", "orders.customer_id", "orders.order_id"]
    assert raw(lineage, "m_correlated", "n") == ["orders.customer_id"]
    assert raw(lineage, "m_qualify", "order_id") == ["orders.amount", "orders.customer_id", "orders.order_id"]
    assert raw(lineage, "m_distinct_on", "amount") == ["orders.amount", "orders.customer_id"]
    assert lineage.columns_of("model.shop.m_exclude") == ["order_id", "customer_id"]
    assert raw(lineage, "m_spine", "day") == []
    assert raw(lineage, "m_spine", "orders") == ["orders.order_id"]
    assert {uid: n.unresolved for uid, n in lineage.nodes.items() if n.unresolved} == {}


def test_a_broken_metric_yaml_fails_metric_lineage_but_not_model_lineage(make_project, run_cli):
    broken = METRICS["metrics/orders.yml"].replace("measure: revenue}", "measure: revenu}")
    root = make_project({**SHOP, **METRICS, "metrics/orders.yml": broken}, base={})
    result = run_cli(root, "lineage", "revenue")
    assert result.exit_code == 2
    assert result.output.startswith("Error: metrics/orders.yml:")
    result = run_cli(root, "lineage", "stg_orders.amount", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["raw_columns"] == ["raw.orders.amount", "raw.orders.status"]
    assert result.stderr.startswith("Warning: Metrics are left out of this lineage: metrics/orders.yml:")


def test_manifest_column_types_follow_each_build(make_project, run_cli):
    root = make_project()

    def amount_type():
        manifest = json.loads((root / "target" / "manifest.json").read_text())
        return manifest["nodes"]["model.shop.stg_orders"]["columns"]["amount"]["data_type"]

    assert run_cli(root, "build").exit_code == 0
    assert amount_type() == "DOUBLE"
    assert run_cli(root, "build").exit_code == 0  # nothing changed: the types of the file read while planning
    assert amount_type() == "DOUBLE"
    (root / "models/staging/stg_orders.sql").write_text(
        "select order_id, customer_id, cast(amount as decimal(10, 2)) as amount from {{ ref('orders') }}\n"
    )
    assert run_cli(root, "build").exit_code == 0  # the types of the file the build published
    assert amount_type() == "DECIMAL(10,2)"
