"""MetricFlow parity: small semantic projects written as dbt users write them, each query with the exact table
MetricFlow's documented semantics give (worked out by hand in the comments), on real DuckDB files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import query

BALANCES = {
    "project.yml": """
        name: bank
        warehouse: warehouse.duckdb
        models:
          +materialized: table
        seeds:
          +schema: raw
    """,
    # account 1 is a checking account, 2 and 3 savings accounts; one row per balance snapshot
    "seeds/balances.csv": (
        "account_id,account_type,balance_date,balance\n"
        "1,checking,2025-01-01,100\n"
        "1,checking,2025-01-15,150\n"
        "1,checking,2025-01-31,120\n"
        "1,checking,2025-02-10,200\n"
        "2,savings,2025-01-01,50\n"
        "2,savings,2025-01-20,80\n"
        "2,savings,2025-02-28,90\n"
        "3,savings,2025-02-05,30\n"
    ),
    "models/fct_balances.sql": "select * from {{ ref('balances') }}\n",
    # Enum values in capitals, as MetricFlow accepts them.
    "metrics/bank.yml": """
        semantic_models:
          - name: balances
            model: ref('fct_balances')
            defaults: {agg_time_dimension: balance_date}
            entities:
              - {name: account, type: FOREIGN, expr: account_id}
            dimensions:
              - {name: balance_date, type: TIME, type_params: {time_granularity: DAY}}
              - {name: account_type, type: CATEGORICAL}
            measures:
              - name: total_balance
                agg: SUM
                expr: balance
                non_additive_dimension: {name: balance_date, window_choice: MAX, window_groupings: [account]}
              - name: opening_balance
                agg: sum
                expr: balance
                non_additive_dimension: {name: balance_date, window_choice: min, window_groupings: [account]}
              - name: snapshot_balance
                agg: sum
                expr: balance
                non_additive_dimension: {name: balance_date}
              - {name: balance_rows, agg: count, expr: balance}
        metrics:
          - {name: total_balance, type: SIMPLE, type_params: {measure: total_balance}}
          - {name: opening_balance, type: simple, type_params: {measure: opening_balance}}
          - {name: snapshot_balance, type: simple, type_params: {measure: snapshot_balance}}
          - {name: balance_rows, type: simple, type_params: {measure: balance_rows}}
          - name: balance_growth
            type: derived
            type_params:
              expr: total_balance - last_month
              metrics:
                - total_balance
                - {name: total_balance, alias: last_month, offset_window: 1 month}
    """,
}


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(tmp_path_factory.mktemp("parity") / "bank", BALANCES)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def ask(root: Path, *args: str) -> list[tuple]:
    from click.testing import CliRunner

    from northstar.cli import main

    result = CliRunner().invoke(main, ["query", *args, "--format", "json", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return [tuple(row.values()) for row in json.loads(result.output)]


def test_semi_additive_last_balance_per_account_per_month(bank):
    # Jan: account 1 ends at 120 (01-31), account 2 at 80 (01-20); Feb: 200 + 90 + 30. Not the sum of every row.
    assert ask(bank, "total_balance", "--by", "month") == [("2025-01-01", 200), ("2025-02-01", 320)]
    # No time grain: each account's last balance ever.
    assert ask(bank, "total_balance") == [(320,)]


def test_semi_additive_by_dimension(bank):
    rows = ask(bank, "total_balance", "--by", "month", "--by", "account_type")
    assert sorted(rows) == [
        ("2025-01-01", "checking", 120),
        ("2025-01-01", "savings", 80),
        ("2025-02-01", "checking", 200),
        ("2025-02-01", "savings", 120),
    ]


def test_semi_additive_first_value(bank):
    # window_choice min: each account's first balance of the month. Jan: 100 + 50; Feb: 200 + 90 + 30.
    assert ask(bank, "opening_balance", "--by", "month") == [("2025-01-01", 150), ("2025-02-01", 320)]


def test_semi_additive_without_groupings_takes_the_last_day_of_each_period(bank):
    # Without window_groupings, only rows on the period's last balance_date count (MetricFlow partitions by the
    # queried time grain and the window groupings, not by other group-bys): Jan 31 -> 120, Feb 28 -> 90.
    assert ask(bank, "snapshot_balance", "--by", "month") == [("2025-01-01", 120), ("2025-02-01", 90)]
    assert sorted(ask(bank, "snapshot_balance", "--by", "month", "--by", "account_type")) == [
        ("2025-01-01", "checking", 120),
        ("2025-02-01", "savings", 90),
    ]
    # Additive measures beside it are unaffected.
    assert ask(bank, "balance_rows", "snapshot_balance", "--by", "month") == [
        ("2025-01-01", 5, 120),
        ("2025-02-01", 3, 90),
    ]


def test_a_derived_offset_metric_without_defaults_is_built_at_its_offset_grain(bank):
    # No `defaults:` (MetricFlow has none): the table is at the offset's grain, month. Jan has no previous month
    # (NULL, as MetricFlow); Feb: 320 - 200.
    rows = query(bank / "warehouse.duckdb", "select * from metrics.balance_growth order by 1")
    assert [(str(month), value) for month, value in rows] == [("2025-01-01", None), ("2025-02-01", 120)]


DBT_STYLE = {
    "project.yml": BALANCES["project.yml"],
    "seeds/orders.csv": (
        "order_id,ordered_at,is_completed,amount\n1,2025-01-05,true,10\n2,2025-01-06,false,99\n3,2025-02-01,true,5\n"
    ),
    "models/fct_orders.sql": "select * from {{ ref('orders') }}\n",
    "models/metricflow_time_spine.sql": (
        "select cast(range as date) as date_day, date_trunc('quarter', range)::date as fiscal_quarter\n"
        "from range(date '2025-01-01', date '2025-12-31', interval 1 day)\n"
    ),
    # dbt 1.9+: the time spine is declared on the model, with granularity on its columns.
    "models/schema.yml": """
        models:
          - name: metricflow_time_spine
            time_spine:
              standard_granularity_column: date_day
              custom_granularities:
                - {name: fiscal_quarter, column_name: fiscal_quarter}
            columns:
              - {name: date_day, granularity: day}
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            primary_entity: order
            defaults: {agg_time_dimension: ordered_at}
            dimensions:
              - {name: ordered_at, type: time, type_params: {time_granularity: day}}
              - {name: is_completed, type: categorical}
            measures:
              - {name: amount, agg: SUM}
        metrics:
          - name: completed_amount
            type: simple
            type_params: {measure: amount}
            filter: "{{ Dimension('order__is_completed') }}"
    """,
}


def test_a_dbt_semantic_project_loads_time_spine_primary_entity_and_model_path_yaml(make_project, run_cli):
    # Semantic models and metrics in a property file under models/, a time_spine: model, a filter through the
    # primary_entity prefix (order__is_completed on a model without a primary entity).
    root = make_project(DBT_STYLE, base={})
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    assert ask(root, "completed_amount", "--by", "month") == [("2025-01-01", 10), ("2025-02-01", 5)]
    assert ask(root, "completed_amount", "--by", "order__is_completed") == [(True, 15)]


def test_a_time_spine_with_an_unknown_key_is_refused_by_name(make_project, run_cli):
    files = {**DBT_STYLE, "models/schema.yml": DBT_STYLE["models/schema.yml"].replace("custom_granularities", "grains")}
    result = run_cli(make_project(files, base={}), "build")
    assert result.exit_code == 2
    assert "Unknown key 'grains'" in result.output and "time_spine of model 'metricflow_time_spine'" in result.output
