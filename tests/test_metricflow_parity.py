"""MetricFlow parity: small semantic projects written as dbt users write them, each query with the exact table
MetricFlow's documented semantics give (worked out by hand in the comments), on real DuckDB files.
"""

from __future__ import annotations

import json
import textwrap
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
            primary_entity: balance
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
                non_additive_dimension: {name: balance_date, window_choice: max}
              - name: first_snapshot_balance
                agg: sum
                expr: balance
                non_additive_dimension: {name: balance_date}
              - {name: balance_rows, agg: count, expr: balance}
        metrics:
          - {name: total_balance, label: Balance, type: SIMPLE, type_params: {measure: total_balance}}
          - {name: opening_balance, label: Opening balance, type: simple, type_params: {measure: opening_balance}}
          - {name: snapshot_balance, label: Snapshot balance, type: simple, type_params: {measure: snapshot_balance}}
          - name: first_snapshot_balance
            label: First snapshot
            type: simple
            type_params: {measure: first_snapshot_balance}
          - {name: balance_rows, label: Balance rows, type: simple, type_params: {measure: balance_rows}}
          - name: balance_growth
            label: Balance growth
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


def test_semi_additive_period_of_the_non_additive_dimension_itself(bank):
    # Grouped by the non-additive dimension at a grain (not named metric_time), the last balance of each month
    # still counts, as MetricFlow partitions by it; by its quarter and by month, the quarter's last day (Feb 28,
    # Feb 10 for account 1, Feb 5 for account 3) decides which rows count, and they fall in February.
    assert ask(bank, "total_balance", "--by", "balance__balance_date__month") == [
        ("2025-01-01", 200),
        ("2025-02-01", 320),
    ]
    assert ask(bank, "total_balance", "--by", "balance__balance_date__quarter", "--by", "month") == [
        ("2025-01-01", "2025-02-01", 320)
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
    # window_choice defaults to min, as in MetricFlow: the period's first balance_date (Jan 1: 100 + 50; Feb 5: 30).
    assert ask(bank, "first_snapshot_balance", "--by", "month") == [("2025-01-01", 150), ("2025-02-01", 30)]
    # Additive measures beside it are unaffected.
    assert ask(bank, "balance_rows", "snapshot_balance", "--by", "month") == [
        ("2025-01-01", 5, 120),
        ("2025-02-01", 3, 90),
    ]


def test_a_derived_offset_metric_without_defaults_is_built_at_its_offset_grain(bank):
    # No `defaults:` (MetricFlow has none): the table is at the offset's grain, month. Jan has no previous month
    # (NULL, as MetricFlow); Feb: 320 - 200; Mar, reached by February's balance only, has no value of its own (NULL;
    # MetricFlow joins the inputs full outer).
    rows = query(bank / "warehouse.duckdb", "select * from metrics.balance_growth order by 1")
    assert [(str(month), value) for month, value in rows] == [
        ("2025-01-01", None),
        ("2025-02-01", 120),
        ("2025-03-01", None),
    ]


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
              - {name: fiscal_quarter}
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            primary_entity: order
            defaults: {agg_time_dimension: ordered_at}
            dimensions:
              - {name: ordered_at, type: time, type_params: {time_granularity: day}}
              - {name: is_completed, type: categorical}
            measures:
              - {name: amount, agg: SUM, create_metric: true}
              - name: approx_median_amount
                agg: percentile
                expr: amount
                agg_params: {percentile: 0.5, use_approximate_percentile: true}
                create_metric: true
        metrics:
          - name: completed_amount
            label: Completed amount
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
    # use_approximate_percentile: DuckDB's approx_quantile, exact on so few rows (10, 99, 5 -> 10).
    assert ask(root, "approx_median_amount") == [(10,)]


def test_agg_params_only_on_percentiles_as_metricflow_checks_them(make_project, run_cli):
    def refused(old: str, new: str) -> str:
        files = {**DBT_STYLE, "models/schema.yml": DBT_STYLE["models/schema.yml"].replace(old, new)}
        result = run_cli(make_project(files, base={}), "query", "approx_median_amount")
        assert result.exit_code == 2
        return result.output.strip()

    assert refused(
        "use_approximate_percentile: true", "use_approximate_percentile: true, use_discrete_percentile: true"
    ) == (
        "Error: models/schema.yml:23: Metric 'approx_median_amount' reads measure 'approx_median_amount' of semantic "
        "model 'orders', which has a mistake: The measure 'approx_median_amount' of the semantic model 'orders' sets "
        "use_discrete_percentile and use_approximate_percentile: DuckDB has no approximate discrete percentile "
        "(MetricFlow refuses it too). Set one of them to false. Other metrics are not affected."
    )
    assert "is a sum with agg_params percentile, use_approximate_percentile, which only a percentile takes" in (
        refused("agg: percentile\n", "agg: sum\n")
    )
    assert (
        "'use_approximate_percentile' of the measure 'approx_median_amount' of the semantic model 'orders' must be "
        in (refused("use_approximate_percentile: true", "use_approximate_percentile: 'yes'"))
    )


def test_a_time_spine_with_an_unknown_key_is_refused_by_name(make_project, run_cli):
    files = {**DBT_STYLE, "models/schema.yml": DBT_STYLE["models/schema.yml"].replace("custom_granularities", "grains")}
    result = run_cli(make_project(files, base={}), "build")
    assert result.exit_code == 2
    assert "Unknown key 'grains'" in result.output and "time_spine of model 'metricflow_time_spine'" in result.output


# A shop whose orders join customers, customers regions, regions countries (a three-hop chain); one order has no
# customer and one customer no city, so NULL dimension values show up.
SHOP = {
    "project.yml": BALANCES["project.yml"].replace("bank", "shop"),
    "seeds/customers.csv": (
        "customer_id,city,region_id,signup_date\n"
        "1,Paris,10,2025-01-01\n"
        "2,Lyon,10,2025-01-02\n"
        "3,,20,2025-01-03\n"
        "4,Berlin,,2025-02-05\n"
    ),
    "seeds/regions.csv": "region_id,country_id,region_name\n10,100,Ile-de-France\n20,200,Bavaria\n",
    "seeds/countries.csv": "country_id,country_name\n100,France\n200,Germany\n",
    "seeds/orders.csv": (
        "order_id,customer_id,ordered_at,amount,status\n"
        "1,1,2025-01-05,10,completed\n"
        "2,1,2025-01-20,20,completed\n"
        "3,2,2025-02-03,5,returned\n"
        "4,3,2025-02-10,7,completed\n"
        "5,4,2025-02-11,3,completed\n"
        "6,,2025-03-01,100,completed\n"
        "7,2,2025-03-15,8,completed\n"
    ),
    "models/fct_orders.sql": "select * from {{ ref('orders') }}\n",
    "models/dim_customers.sql": "select * from {{ ref('customers') }}\n",
    "models/dim_regions.sql": "select * from {{ ref('regions') }}\n",
    "models/dim_countries.sql": "select * from {{ ref('countries') }}\n",
    # Visits to the second, for sub-daily grains; visit 5 has no customer.
    "seeds/visits.csv": (
        "visit_id,customer_id,visited_at\n"
        "1,1,2025-01-05 08:15:30\n"
        "2,1,2025-01-05 08:45:10\n"
        "3,2,2025-01-05 09:05:00\n"
        "4,3,2025-02-10 23:59:59\n"
        "5,,2025-02-11 00:00:01\n"
    ),
    "models/fct_visits.sql": "select visit_id, customer_id, cast(visited_at as timestamp) as visited_at "
    "from {{ ref('visits') }}\n",
    # MetricFlow's time spine, one row per day from Dec 2024 to May 2025, declared as dbt 1.9+ does, with a 4-5-4
    # fiscal calendar from Sunday 2024-12-01: quarters of 13 weeks (Dec 1, Mar 2), months of 4, 5 and 4 weeks
    # (Dec 1, Dec 29, Feb 2, Mar 2, Mar 30, May 4).
    "models/metricflow_time_spine.sql": """
        with days as (
          select cast(range as date) as date_day, (cast(range as date) - date '2024-12-01') // 7 as week_index
          from range(date '2024-12-01', date '2025-06-01', interval 1 day)
        )
        select
          date_day,
          date '2024-12-01' + cast(week_index // 13 * 91 as integer) as fiscal_quarter,
          date '2024-12-01' + cast(week_index // 13 * 91
            + case when week_index % 13 < 4 then 0 when week_index % 13 < 9 then 28 else 63 end as integer)
            as fiscal_month
        from days
    """,
    "models/time_spine.yml": """
        models:
          - name: metricflow_time_spine
            time_spine:
              standard_granularity_column: date_day
              custom_granularities:
                - {name: fiscal_quarter}
                - {name: fiscal_month, column_name: fiscal_month}
            columns:
              - {name: date_day, granularity: day}
              - {name: fiscal_quarter}
              - {name: fiscal_month}
    """,
    "metrics/shop.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities:
              - {name: order, type: primary, expr: order_id}
              - {name: customer, type: foreign, expr: customer_id}
            dimensions:
              - {name: ordered_at, type: time, type_params: {time_granularity: day}}
              - {name: status, type: categorical}
            measures:
              - {name: revenue, agg: sum, expr: amount}
              - {name: order_count, agg: count, expr: order_id}
          - name: customers
            model: ref('dim_customers')
            defaults: {agg_time_dimension: signup_date}
            entities:
              - {name: customer, type: primary, expr: customer_id}
              - {name: region, type: foreign, expr: region_id}
            dimensions:
              - {name: city, type: categorical}
              - {name: signup_date, type: time, type_params: {time_granularity: day}}
            measures:
              - {name: customers, agg: count_distinct, expr: customer_id}
          - name: regions
            model: ref('dim_regions')
            entities:
              - {name: region, type: primary, expr: region_id}
              - {name: country, type: foreign, expr: country_id}
            dimensions:
              - {name: region_name, type: categorical}
          - name: visits
            model: ref('fct_visits')
            defaults: {agg_time_dimension: visited_at}
            entities:
              - {name: visit, type: primary, expr: visit_id}
              - {name: customer, type: foreign, expr: customer_id}
            dimensions:
              - {name: visited_at, type: time, type_params: {time_granularity: second}}
            measures:
              - {name: visits, agg: count, expr: visit_id}
          - name: countries
            model: ref('dim_countries')
            entities:
              - {name: country, type: primary, expr: country_id}
            dimensions:
              - {name: country_name, type: categorical}
        metrics:
          - {name: revenue, label: Revenue, type: simple, type_params: {measure: revenue}}
          - {name: order_count, label: Orders, type: simple, type_params: {measure: order_count}}
          - {name: customers, label: Customers, type: simple, type_params: {measure: customers}}
          - {name: visits, label: Visits, type: simple, type_params: {measure: visits}}
          - name: march_revenue
            label: March revenue
            type: simple
            type_params: {measure: revenue}
            filter: "{{ TimeDimension('metric_time', date_part_name='month') }} = 3"
          - name: big_customer_revenue
            label: Revenue of customers with more than 20 in all
            type: simple
            type_params: {measure: revenue}
            filter: "{{ Metric('revenue', group_by=['customer']) }} > 20"
          - name: repeat_share
            label: Share of revenue from customers with two orders or more
            type: ratio
            type_params:
              numerator:
                name: revenue
                alias: repeat_revenue
                filter: "{{ Metric('order_count', group_by=['customer']) }} >= 2"
              denominator: revenue
          - name: revenue_7d
            label: Revenue 7d
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {window: 7 days}}
          - name: revenue_7d_last
            label: Revenue 7d (last)
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {window: 7 days, period_agg: LAST}}
          - name: revenue_7d_avg
            label: Revenue 7d (average)
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {window: 7 days, period_agg: average}}
          - name: revenue_mtd
            label: Revenue MTD
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {grain_to_date: month}}
          - name: revenue_mtd_last
            label: Revenue MTD (last)
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {grain_to_date: month, period_agg: last}}
          - name: revenue_all_time
            label: Revenue all time
            type: cumulative
            type_params: {measure: revenue}
          - name: revenue_all_time_last
            label: Revenue all time (last)
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {period_agg: last}}
          - name: revenue_filled
            label: Revenue, every period
            type: simple
            type_params: {measure: {name: revenue, join_to_timespine: true, fill_nulls_with: 0}}
          - name: revenue_month_start
            label: Revenue on the month's first day
            type: derived
            type_params:
              expr: month_start
              metrics:
                - {name: revenue, alias: month_start, offset_to_grain: month}
          - name: revenue_over_month_start
            label: Revenue beyond the month's first day
            type: derived
            type_params:
              expr: revenue - month_start
              metrics:
                - revenue
                - {name: revenue, alias: month_start, offset_to_grain: month}
          - name: revenue_quarter_start
            label: Revenue of the quarter's first month
            type: derived
            type_params:
              expr: quarter_start
              metrics:
                - {name: revenue, alias: quarter_start, offset_to_grain: quarter}
        saved_queries:
          - name: top_cities
            description: Completed revenue by city, the two largest.
            query_params:
              metrics: [revenue, order_count]
              group_by: ["Dimension('customer__city')"]
              where: ["{{ Dimension('order__status') }} = 'completed'"]
              order_by: ["Metric('revenue').descending(True)"]
              limit: 2
          - name: monthly_revenue
            query_params:
              metrics: [revenue]
              group_by: ["TimeDimension('metric_time', 'month')"]
              where: "{{ TimeDimension('metric_time', 'day') }} >= '2025-02-01'"
            exports:
              - {name: monthly_revenue, config: {export_as: table, schema: exports}}
              - {name: monthly_revenue_view, config: {export_as: view, alias: revenue_by_month}}
          - name: revenue_by_weekday
            query_params:
              metrics: [revenue]
              group_by: ["TimeDimension('metric_time', date_part_name='dow')"]
    """,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(tmp_path_factory.mktemp("parity") / "shop", SHOP)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_saved_query_metrics_group_by_where_order_and_limit(shop):
    # Completed orders by the customer's city: NULL (customer 3 without a city, 7, and order 6 without a customer,
    # 100) 107 over 2 orders; Paris 30 over 2; Lyon 8; Berlin 3. Ordered by revenue descending, the first two.
    assert ask(shop, "--saved-query", "top_cities") == [(None, 107, 2), ("Paris", 30, 2)]
    # --order and --limit replace the saved query's own; --where adds a filter to its filters.
    assert ask(shop, "--saved-query", "top_cities", "--order", "customer__city", "--limit", "3") == [
        ("Berlin", 3, 1),
        ("Lyon", 8, 1),
        ("Paris", 30, 2),
    ]
    assert ask(shop, "--saved-query", "top_cities", "--where", "customer__city = 'Paris'") == [("Paris", 30, 2)]


def test_saved_query_time_group_by_and_time_filter(shop):
    assert ask(shop, "--saved-query", "monthly_revenue") == [("2025-02-01", 15), ("2025-03-01", 108)]


def test_saved_query_exports_are_written_by_build(shop):
    expected = [("2025-02-01", 15), ("2025-03-01", 108)]
    for relation in ("exports.monthly_revenue", "metrics.revenue_by_month"):
        rows = query(shop / "warehouse.duckdb", f"select * from {relation} order by 1")
        assert [(str(month), value) for month, value in rows] == expected
    kinds = query(
        shop / "warehouse.duckdb",
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_name in ('monthly_revenue', 'revenue_by_month') order by 1",
    )
    assert kinds == [("exports", "monthly_revenue", "BASE TABLE"), ("metrics", "revenue_by_month", "VIEW")]


def test_saved_query_mistakes_name_the_file_and_line(make_project, run_cli):
    files = {
        **SHOP,
        "metrics/shop.yml": SHOP["metrics/shop.yml"].replace("limit: 2", "limit: 2\n              having: 1"),
    }
    root = make_project(files, base={})
    result = run_cli(root, "query", "--saved-query", "top_cities")
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: metrics/shop.yml:")
    assert (
        "Unknown key 'having' in the query_params of saved query 'top_cities'. Allowed keys: group_by, limit, "
        "metrics, order_by, where." in result.output
    )
    # A saved query that does not read is refused when asked for: the others, the metrics and the build still work.
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    assert "1 saved query cannot be answered" in build.output and "Unknown key 'having'" in build.output
    assert ask(root, "--saved-query", "monthly_revenue") == [("2025-02-01", 15), ("2025-03-01", 108)]
    files = {**SHOP, "metrics/shop.yml": SHOP["metrics/shop.yml"].replace("customer__city", "customer__town")}
    root = make_project(files, base={})
    build = run_cli(root, "build")
    # A saved query that cannot be answered blocks nothing else: the build warns and publishes.
    assert build.exit_code == 0, build.output
    assert "1 saved query cannot be answered" in build.output
    result = run_cli(root, "query", "--saved-query", "top_cities")
    assert result.exit_code == 2
    at = textwrap.dedent(files["metrics/shop.yml"]).lstrip("\n").splitlines().index("  - name: top_cities") + 1
    assert result.output.startswith(
        f"Error: metrics/shop.yml:{at}: Saved query 'top_cities': group_by uses 'customer__town', which is not a "
        "dimension or entity reachable from semantic model 'orders'"
    )
    unknown = run_cli(root, "query", "--saved-query", "top_citie")
    assert (
        unknown.output.strip()
        == "Error: --saved-query top_citie: no saved query has that name. Did you mean 'top_cities'?"
    )
    both = run_cli(root, "query", "revenue", "--saved-query", "top_cities")
    assert both.exit_code == 2 and "leave out the metric names" in both.output


def test_null_dimension_values_are_one_group_across_semantic_models(shop):
    # revenue (orders, joined to customers) and customers (customers itself) by the customer's city: customer 3 has
    # no city, and order 6 no customer, so both sides have a NULL group; they are one row, as in MetricFlow.
    assert ask(shop, "revenue", "customers", "--by", "customer__city") == [
        ("Berlin", 3, 1),
        ("Lyon", 13, 1),
        ("Paris", 30, 1),
        (None, 107, 1),
    ]
    # With a time grain too: the NULL group is one row per month.
    assert ask(shop, "revenue", "customers", "--by", "month", "--by", "customer__city") == [
        ("2025-01-01", "Lyon", None, 1),
        ("2025-01-01", "Paris", 30, 1),
        ("2025-01-01", None, None, 1),
        ("2025-02-01", "Berlin", 3, 1),
        ("2025-02-01", "Lyon", 5, None),
        ("2025-02-01", None, 7, None),
        ("2025-03-01", "Lyon", 8, None),
        ("2025-03-01", None, 100, None),
    ]


def test_dimension_only_queries_list_distinct_values_null_included(shop):
    # From the semantic model holding the dimension (customers), not from orders: every city, NULL included.
    assert ask(shop, "--by", "customer__city") == [("Berlin",), ("Lyon",), ("Paris",), (None,)]
    # Two dimensions: the model reaching both (orders, joined to customers); distinct pairs.
    assert ask(shop, "--by", "customer__city", "--by", "order__status") == [
        ("Berlin", "completed"),
        ("Lyon", "completed"),
        ("Lyon", "returned"),
        ("Paris", "completed"),
        (None, "completed"),
    ]
    assert ask(
        shop, "--by", "customer__city", "--where", "customer__city <> 'Paris'", "--order", "-customer__city"
    ) == [
        ("Lyon",),
        ("Berlin",),
    ]
    assert ask(shop, "--by", "customer__signup_date__month") == [("2025-01-01",), ("2025-02-01",)]


def test_dimension_only_query_mistakes(shop):
    from click.testing import CliRunner

    from northstar.cli import main

    def error(*args: str) -> str:
        result = CliRunner().invoke(main, ["query", *args, "--project-dir", str(shop)])
        assert result.exit_code == 2, result.output
        return result.output.strip().splitlines()[-1]

    assert error("--by", "month") == (
        "Error: A query without metrics has no metric time: group by a time dimension of a semantic model instead "
        "(e.g. --by user__signed_up_at__month), or name a metric."
    )
    assert error("--by", "customer__town").startswith("Error: No semantic model reaches customer__town")
    assert error().startswith("Error: Name a metric")


def test_date_part_group_bys(shop):
    # EXTRACT(month): Jan 10 + 20, Feb 5 + 7 + 3, Mar 100 + 8.
    assert ask(shop, "revenue", "--by", "metric_time__extract_month") == [(1, 30), (2, 15), (3, 108)]
    # ISO day of the week (Monday 1 .. Sunday 7): Jan 20, Feb 3 and Feb 10 are Mondays; Jan 5 a Sunday.
    assert ask(shop, "revenue", "--by", "metric_time__extract_dow") == [(1, 32), (2, 3), (6, 108), (7, 10)]
    assert ask(shop, "--saved-query", "revenue_by_weekday") == [(1, 32), (2, 3), (6, 108), (7, 10)]
    # A date part of another time dimension, through a join; order 6 has no customer.
    assert ask(shop, "revenue", "--by", "customer__signup_date__extract_month") == [(1, 50), (2, 3), (None, 100)]
    # In --where, and in a metric filter written with date_part.
    assert ask(shop, "revenue", "--where", "metric_time__extract_month = 3") == [(108,)]
    assert ask(shop, "march_revenue") == [(108,)]


def test_multi_hop_joins_follow_entities_without_fan_out(shop):
    # orders -> customers (customer) -> regions (region): Ile-de-France holds customers 1 and 2 (30 + 13);
    # Bavaria customer 3 (7); customer 4 has no region and order 6 no customer: NULL (3 + 100).
    assert ask(shop, "revenue", "--by", "customer__region__region_name") == [
        ("Bavaria", 7),
        ("Ile-de-France", 43),
        (None, 103),
    ]
    # Three hops (MetricFlow stops at two): -> countries (country). Totals stay 153: no row is counted twice.
    assert ask(shop, "revenue", "--by", "customer__region__country__country_name") == [
        ("France", 43),
        ("Germany", 7),
        (None, 103),
    ]
    assert ask(shop, "revenue", "--where", "customer__region__country__country_name = 'France'") == [(43,)]
    # Dimension-only, from customers (two joins) rather than orders (three).
    assert ask(shop, "--by", "customer__region__country__country_name", "--by", "customer__city") == [
        ("France", "Lyon"),
        ("France", "Paris"),
        ("Germany", None),
        (None, "Berlin"),
    ]


# Visits (base events) and purchases (conversion events) of six users, laid out so that MetricFlow's pairing shows:
# user 1 visits twice before one purchase (the closest visit, Jan 3, takes it); user 2 buys twice within a week of
# one visit (two conversions) and once 18 days later; user 6 buys exactly 7 days after the visit (outside a 7-day
# window: it ends before visit + 7 days); user 4 buys without a visit; user 1's February purchase is another product.
CONVERSIONS = {
    "project.yml": BALANCES["project.yml"].replace("bank", "visits"),
    "seeds/visits.csv": (
        "visit_id,user_id,visited_at,channel,product\n"
        "1,1,2025-01-01,seo,A\n"
        "2,1,2025-01-03,ads,B\n"
        "3,2,2025-01-02,seo,A\n"
        "4,3,2025-01-10,ads,B\n"
        "5,5,2025-01-15,seo,A\n"
        "6,5,2025-01-16,seo,A\n"
        "7,1,2025-02-01,seo,A\n"
        "8,6,2025-01-20,ads,A\n"
    ),
    "seeds/buys.csv": (
        "buy_id,user_id,bought_at,product\n"
        "1,1,2025-01-04,A\n"
        "2,2,2025-01-05,A\n"
        "3,2,2025-01-06,A\n"
        "4,2,2025-01-20,A\n"
        "5,4,2025-01-11,B\n"
        "6,5,2025-01-17,A\n"
        "7,1,2025-02-03,B\n"
        "8,6,2025-01-27,A\n"
    ),
    "models/fct_visits.sql": "select * from {{ ref('visits') }}\n",
    "models/fct_buys.sql": "select * from {{ ref('buys') }}\n",
    "metrics/visits.yml": """
        semantic_models:
          - name: visits
            model: ref('fct_visits')
            defaults: {agg_time_dimension: visited_at}
            entities:
              - {name: visit, type: primary, expr: visit_id}
              - {name: user, type: foreign, expr: user_id}
            dimensions:
              - {name: visited_at, type: time, type_params: {time_granularity: day}}
              - {name: channel, type: categorical}
              - {name: product, type: categorical}
            measures:
              - {name: visits, agg: count, expr: visit_id}
          - name: buys
            model: ref('fct_buys')
            defaults: {agg_time_dimension: bought_at}
            entities:
              - {name: buy, type: primary, expr: buy_id}
              - {name: user, type: foreign, expr: user_id}
            dimensions:
              - {name: bought_at, type: time, type_params: {time_granularity: day}}
              - {name: product, type: categorical}
            measures:
              - {name: buys, agg: count, expr: buy_id}
        metrics:
          - {name: visits, label: Visits, type: simple, type_params: {measure: visits}}
          - name: visit_to_buy_rate
            label: Visit to buy rate
            type: conversion
            type_params:
              conversion_type_params: {entity: user, base_measure: visits, conversion_measure: buys, window: 7 days}
          - name: visit_to_buy_conversions
            label: Visit to buy conversions
            type: conversion
            type_params:
              conversion_type_params:
                entity: user
                base_measure: visits
                conversion_measure: buys
                window: 7 days
                calculation: conversions
          - name: visit_to_buy_rate_all_time
            label: Visit to buy rate, any time later
            type: conversion
            type_params:
              conversion_type_params: {entity: user, base_measure: visits, conversion_measure: buys}
          - name: same_product_rate
            label: Same product rate
            type: conversion
            type_params:
              conversion_type_params:
                entity: user
                base_measure: visits
                conversion_measure: buys
                window: 7 days
                constant_properties:
                  - {base_property: product, conversion_property: product}
    """,
}


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(tmp_path_factory.mktemp("parity") / "visits", CONVERSIONS)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_conversions_pair_each_purchase_with_the_closest_visit_before_it(visits):
    # Within 7 days: buy 1 -> visit 2 (Jan 3, not Jan 1), buys 2 and 3 -> visit 3 (both count), buy 6 -> visit 6
    # (Jan 16, not 15), buy 7 -> visit 7. Not: buy 4 (18 days), 5 (no visit), 8 (exactly 7 days). 5 of 8 visits.
    assert ask(visits, "visit_to_buy_rate", "visit_to_buy_conversions", "visit_to_buy_rate_all_time", "visits") == [
        (0.625, 5, 0.875, 8)
    ]
    # Each conversion counts in its visit's period and dimensions; a day whose visits converted nothing has no
    # rate (NULL), as in MetricFlow.
    assert ask(visits, "visit_to_buy_rate", "visit_to_buy_conversions", "visits", "--by", "day") == [
        ("2025-01-01", None, None, 1),
        ("2025-01-02", 2.0, 2, 1),
        ("2025-01-03", 1.0, 1, 1),
        ("2025-01-10", None, None, 1),
        ("2025-01-15", None, None, 1),
        ("2025-01-16", 1.0, 1, 1),
        ("2025-01-20", None, None, 1),
        ("2025-02-01", 1.0, 1, 1),
    ]
    assert ask(visits, "visit_to_buy_rate", "visit_to_buy_conversions", "--by", "visit__channel") == [
        ("ads", 1 / 3, 1),
        ("seo", 0.8, 4),
    ]
    # --where filters the visits before pairing: without the ads visit of Jan 3, buy 1 pairs with Jan 1.
    assert ask(visits, "visit_to_buy_conversions", "--by", "day", "--where", "visit__channel = 'seo'") == [
        ("2025-01-01", 1),
        ("2025-01-02", 2),
        ("2025-01-15", None),
        ("2025-01-16", 1),
        ("2025-02-01", 1),
    ]


def test_constant_properties_pair_only_events_with_equal_properties(visits):
    # Same product: buy 1 (A) pairs with visit 1 (A, Jan 1), not visit 2 (B); buy 7 (B) finds no B visit before it.
    assert ask(visits, "same_product_rate", "--by", "month") == [("2025-01-01", 4 / 7), ("2025-02-01", None)]
    assert ask(visits, "same_product_rate", "--by", "day") == [
        ("2025-01-01", 1.0),
        ("2025-01-02", 2.0),
        ("2025-01-03", None),
        ("2025-01-10", None),
        ("2025-01-15", None),
        ("2025-01-16", 1.0),
        ("2025-01-20", None),
        ("2025-02-01", None),
    ]


def test_constant_property_mistakes_name_the_metric_and_line(make_project, run_cli):
    files = {
        **CONVERSIONS,
        "metrics/visits.yml": CONVERSIONS["metrics/visits.yml"].replace(
            "conversion_property: product", "conversion_property: colour"
        ),
    }
    root = make_project(files, base={})
    result = run_cli(root, "query", "same_product_rate")
    assert result.exit_code == 2
    at = textwrap.dedent(files["metrics/visits.yml"]).lstrip("\n").splitlines().index("  - name: same_product_rate") + 1
    assert result.output.startswith(
        f"Error: metrics/visits.yml:{at}: The constant_properties of metric 'same_product_rate' uses 'colour', which "
        "is not a dimension or entity reachable from semantic model 'buys'"
    )
    files["metrics/visits.yml"] = CONVERSIONS["metrics/visits.yml"].replace(
        "- {base_property: product, conversion_property: product}", "- {base_property: product}"
    )
    result = run_cli(make_project(files, base={}), "query", "same_product_rate")
    assert result.exit_code == 2
    assert (
        "Each item of the constant_properties of the metric 'same_product_rate' needs base_property and "
        "conversion_property" in result.output
    )


def test_a_semantic_model_with_a_mistake_refuses_only_the_metrics_reading_it(make_project, run_cli):
    # An unknown key in one semantic model, an agg_time_dimension another lacks: the metrics over orders still work.
    text = (
        SHOP["metrics/shop.yml"]
        .replace("- {name: region_name, type: categorical}", "- {name: region_name, type: categorical, colour: red}")
        .replace("defaults: {agg_time_dimension: signup_date}", "defaults: {agg_time_dimension: signed_up}")
    )
    files = {**SHOP, "metrics/shop.yml": text}
    root = make_project(files, base={})
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    region_at = next(i for i, line in enumerate(lines) if "colour: red" in line) + 1
    customers_at = next(i for i, line in enumerate(lines) if "{name: customers, agg:" in line) + 1
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    assert (
        "2 semantic models with a mistake (the metrics reading them are skipped):\n"
        f"  metrics/shop.yml:{region_at}: Unknown key 'colour' in dimension 'region_name' of the semantic model "
        "'regions'." in build.output
    )
    assert (
        f"  metrics/shop.yml:{customers_at}: Measure 'customers' of semantic model 'customers' is aggregated over "
        "'signed_up', which is not a time dimension of that model. Valid choices: signup_date.\n" in build.output
    )
    assert "1 metric not materialized" in build.output
    assert query(root / "warehouse.duckdb", "select * from metrics.revenue") == [(153,)]
    assert ask(root, "revenue", "order_count", "--by", "order__status") == [("completed", 148, 6), ("returned", 5, 1)]
    refused = run_cli(root, "query", "customers")
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        f"Error: metrics/shop.yml:{customers_at}: Metric 'customers' reads measure 'customers' of semantic model "
        "'customers', which has a mistake: Measure 'customers' of semantic model 'customers' is aggregated over "
        "'signed_up', which is not a time dimension of that model. Valid choices: signup_date. Other metrics are not "
        "affected."
    )


# The shop's orders in dbt 1.12's spelling (the semantic model on the model, simple metrics with agg/expr, metric
# parameters beside `type`), beside its customers in the legacy spelling: both in one project.
LATEST = {
    **{k: v for k, v in SHOP.items() if k != "metrics/shop.yml"},
    "models/orders.yml": """
        models:
          - name: fct_orders
            description: One row per order.
            semantic_model: {enabled: true, name: orders}
            agg_time_dimension: ordered_at
            columns:
              - {name: order_id, entity: {type: primary, name: order}}
              - {name: customer_id, entity: {type: foreign, name: customer}}
              - {name: ordered_at, granularity: day, dimension: {type: time}}
              - {name: status, dimension: {type: categorical}}
            derived_semantics:
              dimensions:
                - {name: is_large, type: categorical, expr: amount >= 10}
            metrics:
              - {name: revenue, label: Revenue, type: simple, agg: sum, expr: amount}
              - {name: order_count, label: Orders, type: simple, agg: count, expr: order_id}
              - name: completed_revenue
                label: Completed revenue
                type: simple
                agg: sum
                expr: amount
                filter: "{{ Dimension('order__status') }} = 'completed'"
              - {name: median_order, label: Median order, type: simple, agg: percentile, expr: amount, percentile: 0.5}
              - name: revenue_per_order
                label: Revenue per order
                type: ratio
                numerator: revenue
                denominator: order_count
    """,
    "metrics/customers.yml": """
        semantic_models:
          - name: customers
            model: ref('dim_customers')
            defaults: {agg_time_dimension: signup_date}
            entities:
              - {name: customer, type: primary, expr: customer_id}
            dimensions:
              - {name: city, type: categorical}
              - {name: signup_date, type: time, type_params: {time_granularity: day}}
            measures:
              - {name: customers, agg: count_distinct, expr: customer_id}
        metrics:
          - {name: customers, label: Customers, type: simple, type_params: {measure: customers}}
          - name: revenue_per_customer
            label: Revenue per customer
            type: derived
            expr: revenue / customers
            input_metrics: [revenue, customers]
          - name: running_completed_revenue
            label: Running completed revenue
            type: cumulative
            input_metric: completed_revenue
    """,
}


def test_dbt_112_spec_and_legacy_spec_in_one_project(make_project, run_cli):
    root = make_project(LATEST, base={})
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    # Orders as in the shop: 153 in all, 148 completed over 6 orders; customers from the legacy semantic model.
    assert ask(root, "revenue", "order_count", "completed_revenue", "median_order") == [(153, 7, 148, 8.0)]
    assert ask(root, "revenue", "customers", "--by", "customer__city") == [
        ("Berlin", 3, 1),
        ("Lyon", 13, 1),
        ("Paris", 30, 1),
        (None, 107, 1),
    ]
    assert ask(root, "revenue_per_order", "--by", "order__is_large") == [(False, 23 / 4), (True, 130 / 3)]
    assert ask(root, "revenue_per_customer", "--by", "month") == [
        ("2025-01-01", 10.0),
        ("2025-02-01", 15.0),
        ("2025-03-01", None),
    ]
    # input_metric names a simple metric: its measure and its filter (completed orders only), running total on the
    # first day of each month with one (MetricFlow's period_agg first), over the time spine to May: Jan 5 10, Feb 1
    # 30, Mar 1 140 (Feb 10, Feb 11 and Mar 1 added), then 148.
    assert ask(root, "running_completed_revenue", "--by", "month") == [
        ("2025-01-01", 10),
        ("2025-02-01", 30),
        ("2025-03-01", 140),
        ("2025-04-01", 148),
        ("2025-05-01", 148),
    ]


def test_dbt_112_spec_mistakes_are_refused_by_name(make_project, run_cli):
    text = LATEST["models/orders.yml"]
    files = {
        **LATEST,
        "models/orders.yml": text.replace("dimension: {type: time}", "dimension: {type: time, grain: 1}"),
    }
    root = make_project(files, base={})
    build = run_cli(root, "build")
    lines = textwrap.dedent(files["models/orders.yml"]).lstrip("\n").splitlines()
    at = next(i for i, line in enumerate(lines) if "grain: 1" in line) + 1
    # The semantic model is set aside, its metrics refused; the legacy one's metrics are built.
    assert build.exit_code == 0, build.output
    assert (
        f"models/orders.yml:{at}: Unknown key 'grain' in the dimension of column 'ordered_at' of the semantic model "
        "of model 'fct_orders'." in build.output
    )
    assert query(root / "warehouse.duckdb", "select * from metrics.customers") == [(4,)]
    refused = run_cli(root, "query", "revenue")
    assert refused.exit_code == 2
    assert refused.output.startswith(
        f"Error: models/orders.yml:{at}: Metric 'revenue' reads measure 'revenue' of semantic model 'fct_orders', "
        "which has a mistake: Unknown key 'grain'"
    )
    no_granularity = {**LATEST, "models/orders.yml": text.replace("granularity: day, ", "")}
    root = make_project(no_granularity, base={})
    assert run_cli(root, "build").exit_code == 0
    result = run_cli(root, "query", "revenue")
    assert result.exit_code == 2
    assert "Column 'ordered_at' of the semantic model of model 'fct_orders' is a time dimension without " in (
        result.output
    )


def test_metric_in_a_filter_is_computed_per_entity_and_joined(shop):
    # revenue per customer: 1 -> 30, 2 -> 13, 3 -> 7, 4 -> 3 (order 6 has none). Only customer 1 passes > 20.
    assert ask(shop, "big_customer_revenue") == [(30,)]
    assert ask(shop, "big_customer_revenue", "--by", "month") == [("2025-01-01", 30)]
    # In --where: customers with two orders or more (1 and 2); the outer query's filters do not touch the inner one.
    where = "{{ Metric('order_count', group_by=['customer']) }} >= 2"
    assert ask(shop, "revenue", "--by", "customer__city", "--where", where) == [("Lyon", 13), ("Paris", 30)]
    assert ask(shop, "revenue", "--where", "customer__order_count >= 2 and customer__city = 'Lyon'") == [(13,)]


def test_metric_in_an_input_filter_and_a_dimension_only_query(shop):
    # Customers 1 and 2 have two orders or more: Jan 30 of 30, Feb 5 of 15, Mar 8 of 108.
    assert ask(shop, "repeat_share", "--by", "month") == [
        ("2025-01-01", 1.0),
        ("2025-02-01", 5 / 15),
        ("2025-03-01", 8 / 108),
    ]
    # Without a metric: the cities of customers whose revenue passes 10 (1 Paris 30, 2 Lyon 13); the statuses of
    # their orders. Orders without a customer (100) pass too but have no city: no NULL row (MetricFlow adds one).
    where = "{{ Metric('revenue', group_by=['customer']) }} > 10"
    assert ask(shop, "--by", "customer__city", "--where", where) == [("Lyon",), ("Paris",)]
    below = "{{ Metric('revenue', group_by=['customer']) }} < 20"
    assert ask(shop, "--by", "customer__city", "--where", below, "--order", "customer__city") == [
        ("Berlin",),
        ("Lyon",),
        (None,),
    ]
    assert ask(shop, "--by", "order__status", "--where", where, "--order", "order__status") == [
        ("completed",),
        ("returned",),
    ]


def test_a_metric_per_entity_is_refused_as_a_group_by(shop, run_cli):
    result = run_cli(shop, "query", "revenue", "--by", "customer__revenue")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --by uses 'customer__revenue', Metric('revenue') per customer, which MetricFlow reads in filters "
        "only: write it in --where or a filter ({{ Metric('revenue', group_by=['customer']) }} > 100).\n"
    )


def test_metric_in_a_filter_mistakes(make_project, run_cli):
    def refused(filter_: str) -> str:
        text = SHOP["metrics/shop.yml"].replace(
            "filter: \"{{ Metric('revenue', group_by=['customer']) }} > 20\"", f'filter: "{filter_}"'
        )
        root = make_project({**SHOP, "metrics/shop.yml": text}, base={})
        result = run_cli(root, "compile", "big_customer_revenue")
        assert result.exit_code == 2, result.output
        return result.output.strip().split(": ", 2)[2]

    assert refused("{{ Metric('revenue') }} > 20") == (
        "Metric 'big_customer_revenue': Metric('revenue') in a filter needs the one entity it is computed per: "
        "Metric('revenue', group_by=['customer'])."
    )
    assert refused("{{ Metric('big_customer_revenue', group_by=['customer']) }} > 20") == (
        "The filter of metric 'big_customer_revenue' uses Metric('big_customer_revenue'), the metric itself. Filter "
        "on another metric."
    )
    assert refused("{{ Metric('revenue', group_by=['city']) }} > 20").startswith(
        "The filter of metric 'big_customer_revenue' uses 'city__revenue', which is not a dimension or entity "
        "reachable from semantic model 'orders'"
    )


def test_create_metric_makes_a_simple_metric_of_the_measure(make_project, run_cli):
    text = SHOP["metrics/shop.yml"].replace(
        "{name: order_count, agg: count, expr: order_id}",
        "{name: order_count, agg: count, expr: order_id}\n"
        "              - {name: largest_order, label: Largest order, agg: max, expr: amount, create_metric: true}",
    )
    root = make_project({**SHOP, "metrics/shop.yml": text}, base={})
    assert run_cli(root, "build").exit_code == 0
    # The largest order per city: Paris 20, Lyon 8, Berlin 3; NULL: order 6 (100, no customer), customer 3's 7.
    assert sorted(ask(root, "largest_order", "--by", "customer__city"), key=str) == [
        ("Berlin", 3),
        ("Lyon", 8),
        ("Paris", 20),
        (None, 100),
    ]
    # A metric of the same name written too is the duplicate dbt refuses.
    twice = text.replace("expr: amount, create_metric: true}", "expr: amount, create_metric: true}").replace(
        "{name: revenue, agg: sum, expr: amount}", "{name: revenue, agg: sum, expr: amount, create_metric: true}"
    )
    result = run_cli(make_project({**SHOP, "metrics/shop.yml": twice}, base={}), "query", "revenue")
    assert result.exit_code == 2
    assert "The metric 'revenue' is defined twice: here and in metrics/shop.yml:" in result.output


# A slowly changing dimension: customer 1 was silver until Jan 15, gold since; customer 2 silver throughout; customers
# 3 and 4 have no tier. Each order reads the version valid on its day.
TIERS = {
    **SHOP,
    "seeds/tiers.csv": "customer_id,tier,valid_from,valid_to\n1,silver,2025-01-01,2025-01-15\n1,gold,2025-01-15,\n"
    "2,silver,2025-01-01,\n",
    "models/dim_tiers.sql": "select * from {{ ref('tiers') }}\n",
    "metrics/tiers.yml": """
        semantic_models:
          - name: tiers
            model: ref('dim_tiers')
            primary_entity: customer_tier
            entities:
              - {name: customer, type: natural, expr: customer_id}
            dimensions:
              - {name: tier, type: categorical}
              - name: valid_from
                type: time
                type_params: {time_granularity: day, validity_params: {is_start: true}}
              - name: valid_to
                type: time
                type_params: {time_granularity: day, validity_params: {is_end: true}}
    """,
}


@pytest.fixture(scope="module")
def tiers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(tmp_path_factory.mktemp("parity") / "tiers", TIERS)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_a_slowly_changing_dimension_is_joined_at_each_rows_time(tiers):
    # Orders 1 (Jan 5, 10) silver, 2 (Jan 20, 20) gold, 3 and 7 (customer 2: 5 + 8) silver; 4, 5, 6 no tier (110).
    assert sorted(ask(tiers, "revenue", "--by", "customer__tier"), key=str) == [
        ("gold", 20),
        ("silver", 23),
        (None, 110),
    ]
    # Customers at their signup date: 1 (Jan 1) and 2 (Jan 2) silver; 3 and 4 none.
    assert sorted(ask(tiers, "customers", "--by", "customer__tier"), key=str) == [("silver", 2), (None, 2)]
    where = "{{ Dimension('customer__tier') }} = 'silver'"
    assert ask(tiers, "revenue", "--by", "month", "--where", where) == [
        ("2025-01-01", 10),
        ("2025-02-01", 5),
        ("2025-03-01", 8),
    ]
    # Without a metric: the tiers themselves.
    assert ask(tiers, "--by", "customer__tier", "--order", "customer__tier") == [("gold",), ("silver",)]


def test_a_slowly_changing_dimension_needs_a_metrics_time(tiers, run_cli):
    result = run_cli(tiers, "query", "--by", "customer__tier", "--by", "order__status")
    assert result.exit_code == 2
    assert result.output == (
        "Error: metrics/tiers.yml:2: Semantic model 'tiers' is a slowly changing dimension, joined at the time of "
        "each row of a metric's semantic model; a query without metrics has no such time. Join it directly from a "
        "metric's semantic model.\n"
    )


def test_slowly_changing_dimension_mistakes(make_project, run_cli):
    def refused(old: str, new: str) -> str:
        root = make_project({**TIERS, "metrics/tiers.yml": TIERS["metrics/tiers.yml"].replace(old, new)}, base={})
        result = run_cli(root, "query", "revenue", "--by", "customer__tier")
        assert result.exit_code == 2
        return result.output.strip().split("Set aside: ", 1)[1]

    # A name the semantic model set aside does not provide is not told about it.
    root = make_project(
        {**TIERS, "metrics/tiers.yml": TIERS["metrics/tiers.yml"].replace("natural", "primary")}, base={}
    )
    result = run_cli(root, "query", "revenue", "--by", "order__colour")
    assert result.exit_code == 2 and "Set aside" not in result.output
    assert refused("{is_end: true}", "{is_start: true}") == (
        "metrics/tiers.yml:2: The semantic model 'tiers' is a slowly changing dimension: give it one time dimension "
        "with validity_params {is_start: true} and one with {is_end: true}."
    )
    assert refused("type: natural", "type: primary") == (
        "metrics/tiers.yml:2: The semantic model 'tiers' is a slowly changing dimension (validity_params): its "
        "entity, which repeats once per version, must be of type natural."
    )
    assert refused("{is_end: true}", "{is_end: true, is_start: true}") == (
        "metrics/tiers.yml:14: The dimension 'valid_to' of the semantic model 'tiers' sets validity_params: a time "
        "dimension with one of is_start: true or is_end: true."
    )


def _chain(hops: int) -> dict[str, str]:
    """Orders joined to h1, h1 to h2, ... each a seed of two rows with a foreign key to the next; the last names
    its rows. Order 1 (10) leads to 'far' through every hop, order 2 (5) to 'near', order 3 (1) has no h1."""
    files = {"project.yml": SHOP["project.yml"], "seeds/orders.csv": "order_id,h1_id,amount\n1,1,10\n2,2,5\n3,,1\n"}
    models = [
        "semantic_models:",
        "  - name: orders",
        "    model: ref('orders')",
        "    entities: [{name: order, type: primary, expr: order_id}, {name: h1, type: foreign, expr: h1_id}]",
        "    measures: [{name: amount, agg: sum, agg_time_dimension: ordered_at}]",
        "    dimensions:",
        "      - {name: ordered_at, type: time, expr: \"date '2025-01-01'\", type_params: {time_granularity: day}}",
    ]
    for n in range(1, hops + 1):
        last = n == hops
        files[f"seeds/h{n}.csv"] = f"h{n}_id,{'label' if last else f'h{n + 1}_id'}\n1,{'far' if last else 1}\n" + (
            f"2,{'near' if last else 2}\n"
        )
        entities = f"[{{name: h{n}, type: primary, expr: h{n}_id}}"
        entities += "]" if last else f", {{name: h{n + 1}, type: foreign, expr: h{n + 1}_id}}]"
        models += [f"  - name: h{n}", f"    model: ref('h{n}')", f"    entities: {entities}"]
        if last:
            models.append("    dimensions: [{name: label, type: categorical}]")
    files["metrics/chain.yml"] = (
        "\n".join(models) + "\nmetrics:\n  - {name: amount, type: simple, type_params: {measure: amount}}\n"
    )
    return files


def test_joins_follow_entities_as_far_as_the_graph_goes(make_project, run_cli):
    root = make_project(_chain(6), base={})
    assert run_cli(root, "build").exit_code == 0
    name = "h1__h2__h3__h4__h5__h6__label"  # six joins: past the four listed among the choices, walked on demand
    assert sorted(ask(root, "amount", "--by", name), key=str) == [("far", 10), ("near", 5), (None, 1)]
    assert ask(root, "amount", "--where", f"{name} = 'far'") == [(10,)]
    # The model's own entity may start the name, as MetricFlow prefixes a model's own dimensions.
    assert ask(root, "amount", "--where", f"order__{name} = 'near'") == [(5,)]
    result = run_cli(root, "query", "amount", "--by", "h1__h2__h3__h4__h6__h5__label")
    assert result.exit_code == 2 and "which is not a dimension or entity reachable" in result.output


def test_a_disabled_semantic_model_or_metric_is_left_out(make_project, run_cli):
    text = (
        SHOP["metrics/shop.yml"]
        .replace("- name: regions\n", "- name: regions\n            config: {enabled: false}\n")
        .replace(
            "- name: march_revenue\n", "- name: march_revenue\n            config: {enabled: false, meta: {a: 1}}\n"
        )
    )
    root = make_project({**SHOP, "metrics/shop.yml": text}, base={})
    assert run_cli(root, "build").exit_code == 0
    assert ask(root, "revenue") == [(153,)]
    result = run_cli(root, "query", "march_revenue")
    assert result.exit_code == 2 and result.output.startswith("Error: No metric named 'march_revenue'.")
    result = run_cli(root, "query", "revenue", "--by", "customer__region__region_name")
    assert result.exit_code == 2 and "'customer__region__region_name', which is not a dimension" in result.output
    wrong = text.replace("config: {enabled: false}", "config: {enabled: 'no'}")
    result = run_cli(make_project({**SHOP, "metrics/shop.yml": wrong}, base={}), "query", "revenue")
    assert result.exit_code == 2
    assert result.output.endswith(
        "'enabled' in the config of the semantic model 'regions' must be true or false, not 'no'.\n"
    )


# The 7-day revenue of each day counts the orders of that day and the 6 before it: Jan 5..11 10, Jan 20..26 20,
# Feb 3..9 5, Feb 10 7, Feb 11..16 7 + 3, Feb 17 3, Mar 1..7 100, Mar 15..21 8 (days without one have no row).


def test_cumulative_by_day_is_the_running_value_of_each_day(shop):
    assert ask(shop, "revenue_7d", "--by", "day", "--start", "2025-02-08", "--end", "2025-02-18") == [
        ("2025-02-08", 5),
        ("2025-02-09", 5),
        ("2025-02-10", 7),
        ("2025-02-11", 10),
        ("2025-02-12", 10),
        ("2025-02-13", 10),
        ("2025-02-14", 10),
        ("2025-02-15", 10),
        ("2025-02-16", 10),
        ("2025-02-17", 3),
    ]


def test_cumulative_period_agg_first_last_average(shop):
    # By month: the value of the month's first day with one (MetricFlow's default, first), its last day (last), or
    # the average over its days (average): Jan (7 x 10 + 7 x 20) / 14; Feb (7 x 5 + 7 + 6 x 10 + 3) / 15;
    # Mar (7 x 100 + 7 x 8) / 14.
    assert ask(shop, "revenue_7d", "revenue_7d_last", "revenue_7d_avg", "--by", "month") == [
        ("2025-01-01", 10, 20, 15.0),
        ("2025-02-01", 5, 3, 7.0),
        ("2025-03-01", 100, 8, 54.0),
    ]
    # Month to date: the first day of each month with an order, or the month's end.
    assert ask(shop, "revenue_mtd", "revenue_mtd_last", "--by", "month") == [
        ("2025-01-01", 10, 30),
        ("2025-02-01", 5, 15),
        ("2025-03-01", 100, 108),
    ]


def test_cumulative_period_agg_per_group(shop):
    # Each group has its own days: completed orders in Feb are the 10th (7), 11th..16th (10) and 17th (3), so the
    # average is 70 / 8; the returned order of Feb 3 counts Feb 3..9.
    assert ask(shop, "revenue_7d", "revenue_7d_avg", "--by", "month", "--by", "order__status") == [
        ("2025-01-01", "completed", 10, 15.0),
        ("2025-02-01", "completed", 7, 8.75),
        ("2025-02-01", "returned", 5, 5.0),
        ("2025-03-01", "completed", 100, 54.0),
    ]


def test_period_agg_mistakes_name_the_metric(make_project, run_cli):
    files = {**SHOP, "metrics/shop.yml": SHOP["metrics/shop.yml"].replace("period_agg: average", "period_agg: mean")}
    result = run_cli(make_project(files, base={}), "query", "revenue")
    assert result.exit_code == 2
    assert "The metric 'revenue_7d_avg' has period_agg 'mean'. Valid choices: first, last, average." in result.output


def test_offset_to_grain_by_day_is_the_value_on_the_first_day_of_the_month(shop):
    # Only March 1 has orders (100) among the months' first days, so each day of March reads 100, and no day of
    # January or February has a value. revenue - month_start: Mar 1 100 - 100; Feb 11 has revenue only; March's
    # other days have the start of month only (rows, as MetricFlow's full outer join of the inputs, without value).
    assert ask(shop, "revenue_month_start", "--by", "day", "--start", "2025-02-27", "--end", "2025-03-03") == [
        ("2025-03-01", 100),
        ("2025-03-02", 100),
        ("2025-03-03", 100),
    ]
    assert ask(
        shop, "revenue", "revenue_over_month_start", "--by", "day", "--start", "2025-02-11", "--end", "2025-03-04"
    ) == [
        ("2025-02-11", 3, None),
        ("2025-03-01", 100, 0),
        ("2025-03-02", None, None),
        ("2025-03-03", None, None),
        ("2025-03-04", None, None),
    ]


def test_offset_to_grain_by_week_reads_the_first_day_of_the_month_each_week_starts_in(shop):
    # A week is no coarser than a month but does not roll up into one (MetricFlow's rule): each week reads the
    # orders of the first day of the month its Monday is in. The weeks starting Mar 3..31 read Mar 1 (100); the
    # week of Feb 24 (holding Mar 1's order, 100) reads Feb 1 (none). Week of Mar 10: revenue 8 - 100.
    assert ask(shop, "revenue_over_month_start", "revenue_month_start", "--by", "week") == [
        ("2024-12-30", None, None),
        ("2025-01-20", None, None),
        ("2025-02-03", None, None),
        ("2025-02-10", None, None),
        ("2025-02-24", None, None),
        ("2025-03-03", None, 100),
        ("2025-03-10", -92, 100),
        ("2025-03-17", None, 100),
        ("2025-03-24", None, 100),
        ("2025-03-31", None, 100),
    ]


def test_offset_to_grain_by_month_and_quarter(shop):
    # By month, the start of the month is the month itself (Jan 30, Feb 15, Mar 108), and the start of the quarter
    # its first month, January (30). By quarter, the quarter itself (153); the start of the month a quarter starts
    # in is its first day, January 1, without orders: no row.
    assert ask(shop, "revenue_month_start", "revenue_over_month_start", "revenue_quarter_start", "--by", "month") == [
        ("2025-01-01", 30, 0, 30),
        ("2025-02-01", 15, 0, 30),
        ("2025-03-01", 108, 0, 30),
    ]
    assert ask(shop, "revenue_quarter_start", "--by", "quarter") == [("2025-01-01", 153)]
    assert ask(shop, "revenue_month_start", "--by", "quarter") == []


def test_offset_to_grain_needs_a_time_grain(shop):
    from click.testing import CliRunner

    from northstar.cli import main

    result = CliRunner().invoke(main, ["query", "revenue_month_start", "--project-dir", str(shop)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: revenue_month_start: a metric here compares periods (offset_window or offset_to_grain), so the query "
        "needs a time grain: add e.g. --by month."
    )


def test_cumulative_days_are_the_time_spine_s(shop):
    # All time, over the spine's days (Dec 2024 to May 2025, as MetricFlow): December has no order up to any of its
    # days, so no row; then the first day of each month (Jan 5: 10; Feb 1: 30; Mar 1: 145, its order included;
    # Apr 1 and May 1: 153) or the last (Jan 31: 30; Feb 28: 45; then 153), through the spine's last month.
    assert ask(shop, "revenue_all_time", "revenue_all_time_last", "--by", "month") == [
        ("2025-01-01", 10, 30),
        ("2025-02-01", 30, 45),
        ("2025-03-01", 145, 153),
        ("2025-04-01", 153, 153),
        ("2025-05-01", 153, 153),
    ]


def test_join_to_timespine_reports_every_period_of_the_spine_filled(shop):
    # Every month of the spine, 0 where no order falls (fill_nulls_with: 0): Dec, Apr, May.
    assert ask(shop, "revenue_filled", "--by", "month") == [
        ("2024-12-01", 0),
        ("2025-01-01", 30),
        ("2025-02-01", 15),
        ("2025-03-01", 108),
        ("2025-04-01", 0),
        ("2025-05-01", 0),
    ]
    # The spine joins on metric time only: a month without rows is one row whose other group-bys are NULL.
    assert ask(shop, "revenue_filled", "--by", "month", "--by", "order__status") == [
        ("2024-12-01", None, 0),
        ("2025-01-01", "completed", 30),
        ("2025-02-01", "completed", 10),
        ("2025-02-01", "returned", 5),
        ("2025-03-01", "completed", 108),
        ("2025-04-01", None, 0),
        ("2025-05-01", None, 0),
    ]
    # --start/--end bound the spine's days; without metric time, nothing is joined.
    assert ask(shop, "revenue_filled", "--by", "day", "--start", "2025-02-09", "--end", "2025-02-12") == [
        ("2025-02-09", 0),
        ("2025-02-10", 7),
        ("2025-02-11", 3),
        ("2025-02-12", 0),
    ]
    assert ask(shop, "revenue_filled") == [(153,)]
    # fill_nulls_with without the spine fills only the rows the query has (revenue has no April row beside
    # order_count either).
    assert ask(shop, "revenue_filled", "order_count", "--by", "month", "--start", "2025-03-01") == [
        ("2025-03-01", 108, 2),
        ("2025-04-01", 0, None),
        ("2025-05-01", 0, None),
    ]


# Month ends, for MetricFlow's issue 1758 (a monthly offset_window drops the 31st): orders on Jan 30, Jan 31, Feb 28,
# Mar 31 and Apr 30.
MONTH_END = {
    "project.yml": BALANCES["project.yml"].replace("bank", "month_end"),
    "seeds/orders.csv": (
        "order_id,ordered_at,amount\n1,2025-01-30,1\n2,2025-01-31,10\n3,2025-02-28,100\n4,2025-03-31,1000\n"
        "5,2025-04-30,10000\n"
    ),
    "models/fct_orders.sql": "select * from {{ ref('orders') }}\n",
    "models/metricflow_time_spine.sql": (
        "select cast(range as date) as date_day from range(date '2024-12-01', date '2025-07-01', interval 1 day)\n"
    ),
    "models/time_spine.yml": """
        models:
          - name: metricflow_time_spine
            time_spine: {standard_granularity_column: date_day}
            columns: [{name: date_day, granularity: day}]
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
          - {name: revenue, label: Revenue, type: simple, type_params: {measure: revenue}}
          - name: revenue_last_month
            label: Revenue a month before
            type: derived
            type_params:
              expr: last_month
              metrics: [{name: revenue, alias: last_month, offset_window: 1 month}]
          # Nested derived metrics: over a derived input with an offset, and an offset of a derived input.
          - name: revenue_growth
            label: Revenue growth
            type: derived
            type_params:
              expr: revenue - revenue_last_month
              metrics: [revenue, revenue_last_month]
          - name: revenue_growth_ratio
            label: Revenue growth ratio
            type: derived
            type_params:
              expr: revenue_growth / revenue_last_month
              metrics: [revenue_growth, revenue_last_month]
          - name: growth_a_month_before
            label: Revenue growth a month before
            type: derived
            type_params:
              expr: before
              metrics: [{name: revenue_growth, alias: before, offset_window: 1 month}]
    """,
}


LEGACY_SPINE = {
    "project.yml": BALANCES["project.yml"].replace("bank", "legacy"),
    "seeds/orders.csv": "order_id,ordered_at,amount\n1,2025-01-05,10\n2,2025-03-02,5\n",
    "models/fct_orders.sql": "select * from {{ ref('orders') }}\n",
    # Before dbt 1.9: a model named metricflow_time_spine with date_day is the spine, nothing declared.
    "models/metricflow_time_spine.sql": (
        "select cast(range as date) as date_day from range(date '2025-01-01', date '2025-04-01', interval 1 day)\n"
    ),
    "metrics/orders.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities: [{name: order, type: primary, expr: order_id}]
            dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: revenue, agg: sum, expr: amount}]
        metrics:
          - name: revenue_filled
            type: simple
            type_params: {measure: {name: revenue, join_to_timespine: true, fill_nulls_with: -1}}
          - name: revenue_gaps
            type: simple
            type_params: {measure: {name: revenue, join_to_timespine: true}}
    """,
}


def test_join_to_timespine_reads_the_legacy_metricflow_time_spine(make_project, run_cli):
    root = make_project(LEGACY_SPINE, base={})
    assert run_cli(root, "build").exit_code == 0
    assert ask(root, "revenue_filled", "revenue_gaps", "--by", "month") == [
        ("2025-01-01", 10, 10),
        ("2025-02-01", -1, None),
        ("2025-03-01", 5, 5),
    ]


def test_join_to_timespine_without_a_spine_is_an_error_naming_the_metric(make_project, run_cli):
    files = {**LEGACY_SPINE, "models/metricflow_time_spine.sql": None}
    root = make_project(files, base={})
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output  # the metric's table is skipped with a warning; the rest is built
    result = run_cli(root, "query", "revenue_filled", "--by", "month")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: metrics/orders.yml:9: Metric 'revenue_filled' sets join_to_timespine, which reports every period of "
        "MetricFlow's time spine, but the project has none. Add a model with one row per day and declare it in its "
        "YAML: `time_spine: {standard_granularity_column: date_day}` (or name it metricflow_time_spine, with a "
        "date_day column)."
    )
    assert ask(root, "revenue_filled") == [(15,)]


def test_sub_daily_grains_of_a_time_dimension_declared_to_the_second(shop):
    assert ask(shop, "visits", "--by", "metric_time__hour") == [
        ("2025-01-05T08:00:00", 2),
        ("2025-01-05T09:00:00", 1),
        ("2025-02-10T23:00:00", 1),
        ("2025-02-11T00:00:00", 1),
    ]
    assert ask(shop, "visits", "--by", "minute") == [
        ("2025-01-05T08:15:00", 1),
        ("2025-01-05T08:45:00", 1),
        ("2025-01-05T09:05:00", 1),
        ("2025-02-10T23:59:00", 1),
        ("2025-02-11T00:00:00", 1),
    ]
    assert ask(shop, "visits", "--by", "metric_time__second", "--where", "metric_time__hour = '2025-01-05 08:00'") == [
        ("2025-01-05T08:15:30", 1),
        ("2025-01-05T08:45:10", 1),
    ]
    assert ask(shop, "visits", "--by", "day") == [("2025-01-05", 3), ("2025-02-10", 1), ("2025-02-11", 1)]
    # With a dimension through an entity: customer 3 has no city, visit 5 no customer.
    assert ask(shop, "visits", "--by", "visit__visited_at__hour", "--by", "customer__city") == [
        ("2025-01-05T08:00:00", "Paris", 2),
        ("2025-01-05T09:00:00", "Lyon", 1),
        ("2025-02-10T23:00:00", None, 1),
        ("2025-02-11T00:00:00", None, 1),
    ]


def test_a_grain_finer_than_the_time_dimension_is_refused(shop):
    from click.testing import CliRunner

    from northstar.cli import main

    def error(*args: str) -> str:
        result = CliRunner().invoke(main, ["query", *args, "--project-dir", str(shop)])
        assert result.exit_code == 2, result.output
        return result.output.strip()

    assert error("revenue", "--by", "metric_time__hour") == (
        "Error: --by metric_time__hour is finer than the time dimension of measure 'revenue' (time_granularity: "
        "day), which metric 'revenue' reads. Use day or coarser."
    )
    assert error("revenue", "--by", "order__ordered_at__minute") == (
        "Error: --by uses 'order__ordered_at__minute', finer than 'order__ordered_at', whose time_granularity is "
        "'day'. Use a grain of day or coarser."
    )
    assert error("revenue_over_month_start", "--by", "metric_time__fiscal_quarter") == (
        "Error: metrics/shop.yml:49: --by metric_time__fiscal_quarter: Northstar does not yet support a custom "
        "granularity with an offset (offset_window or offset_to_grain); metric 'revenue' needs it. Other metrics "
        "are not affected."
    )
    assert error("revenue_7d", "--by", "hour") == (
        "Error: metrics/shop.yml:72: --by metric_time__hour: Northstar does not yet support a sub-daily grain with a "
        "cumulative metric, which runs over days; metric 'revenue_7d' needs it. Other metrics are not affected."
    )
    assert error("revenue", "--by", "metric_time__fiscal_year") == (
        "Error: --by metric_time__fiscal_year: unknown grain 'fiscal_year'. Valid grains: second, minute, hour, day, "
        "week, month, quarter, year, fiscal_quarter, fiscal_month."
    )


def test_custom_granularities_from_the_time_spine(shop):
    # 4-5-4 fiscal calendar: the quarter from Dec 1 holds every order to Mar 1 (145), the one from Mar 2 Mar 15's (8).
    assert ask(shop, "revenue", "--by", "metric_time__fiscal_quarter") == [("2024-12-01", 145), ("2025-03-02", 8)]
    # Months of 4, 5, 4 weeks: Dec 29 - Feb 1 (Jan 5, Jan 20), Feb 2 - Mar 1 (Feb 3, 10, 11 and Mar 1), Mar 2 - 29.
    assert ask(shop, "revenue", "order_count", "--by", "metric_time__fiscal_month") == [
        ("2024-12-29", 30, 2),
        ("2025-02-02", 115, 4),
        ("2025-03-02", 8, 1),
    ]
    assert ask(shop, "revenue", "--by", "metric_time__fiscal_quarter", "--by", "order__status") == [
        ("2024-12-01", "completed", 140),
        ("2024-12-01", "returned", 5),
        ("2025-03-02", "completed", 8),
    ]
    # Of another time dimension, in a filter (both spellings), bare, and with no metric.
    assert ask(shop, "revenue", "--by", "order__ordered_at__fiscal_quarter") == [("2024-12-01", 145), ("2025-03-02", 8)]
    assert ask(shop, "revenue", "--by", "month", "--where", "metric_time__fiscal_quarter = '2025-03-02'") == [
        ("2025-03-01", 8)
    ]
    where = "{{ TimeDimension('metric_time', 'fiscal_quarter') }} = '2025-03-02'"
    assert ask(shop, "revenue", "--by", "month", "--where", where) == [("2025-03-01", 8)]
    assert ask(shop, "revenue", "--by", "fiscal_month") == [("2024-12-29", 30), ("2025-02-02", 115), ("2025-03-02", 8)]
    assert ask(shop, "--by", "order__ordered_at__fiscal_quarter") == [("2024-12-01",), ("2025-03-02",)]


def test_a_custom_granularity_named_like_a_standard_grain_is_an_error_at_load(make_project, run_cli):
    files = {
        **LEGACY_SPINE,
        "models/time_spine.yml": """
            models:
              - name: metricflow_time_spine
                time_spine:
                  standard_granularity_column: date_day
                  custom_granularities: [{name: month, column_name: date_day}]
        """,
    }
    root = make_project(files, base={})
    result = run_cli(root, "query", "revenue_gaps")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: models/time_spine.yml:5: A custom granularity of the time spine 'metricflow_time_spine' is named "
        "'month': give it a `name:` of its own (e.g. fiscal_quarter), not one of the standard grains (nanosecond, "
        "microsecond, millisecond, second, minute, hour, day, week, month, quarter, year)."
    )


@pytest.fixture(scope="module")
def month_end(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(tmp_path_factory.mktemp("parity") / "month_end", MONTH_END)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_a_monthly_offset_window_keeps_the_31st(month_end):
    # Each order moves one month later, the day clamped to the month's end (Jan 30 and Jan 31 -> Feb 28, Mar 31 ->
    # Apr 30), so every order is counted once. MetricFlow (issue 1758) drops Jan 30, Jan 31 and Mar 31 by day, and
    # counts Feb 28 on Mar 28, 29, 30 and 31.
    assert ask(month_end, "revenue_last_month", "--by", "day") == [
        ("2025-02-28", 11),
        ("2025-03-28", 100),
        ("2025-04-30", 1000),
        ("2025-05-30", 10000),
    ]
    # The weeks starting Feb 24, Mar 24, Apr 28 and May 26 hold those days.
    assert ask(month_end, "revenue_last_month", "--by", "week") == [
        ("2025-02-24", 11),
        ("2025-03-24", 100),
        ("2025-04-28", 1000),
        ("2025-05-26", 10000),
    ]
    # By month, the same as MetricFlow: each month reads the month before.
    assert ask(month_end, "revenue", "revenue_last_month", "--by", "month") == [
        ("2025-01-01", 11, None),
        ("2025-02-01", 100, 11),
        ("2025-03-01", 1000, 100),
        ("2025-04-01", 10000, 1000),
        ("2025-05-01", None, 10000),
    ]


def test_the_agg_time_dimension_at_a_grain_is_metric_time_for_cumulative_and_offset_metrics(shop, month_end):
    # As MetricFlow reads it, order__ordered_at__month is the month of each running value's day, not of the rows in
    # its window: the first day with a value in each month (Jan 5: 10; Feb 3: 5, Jan 20 is out of the window;
    # Mar 1: 100), as --by month.
    assert ask(shop, "revenue_7d", "--by", "order__ordered_at__month") == [
        ("2025-01-01", 10),
        ("2025-02-01", 5),
        ("2025-03-01", 100),
    ]
    # By fiscal quarter too: Mar 2 - 8 still hold Mar 1's 100 in their window, so March's first value in the
    # quarter from Mar 2 is 100, not the 8 of Mar 15.
    assert ask(shop, "revenue_7d", "--by", "month", "--by", "order__ordered_at__fiscal_quarter") == [
        ("2025-01-01", "2024-12-01", 10),
        ("2025-02-01", "2024-12-01", 5),
        ("2025-03-01", "2024-12-01", 100),
        ("2025-03-01", "2025-03-02", 100),
    ]
    # An offset_window moves it with metric time: the month's value is the month before's.
    assert ask(month_end, "revenue", "revenue_last_month", "--by", "order__ordered_at__month") == [
        ("2025-01-01", 11, None),
        ("2025-02-01", 100, 11),
        ("2025-03-01", 1000, 100),
        ("2025-04-01", 10000, 1000),
        ("2025-05-01", None, 10000),
    ]


def test_nested_derived_metrics_with_offsets(month_end):
    # revenue_growth = revenue - revenue_last_month (a derived input with an offset); its ratio to the month before;
    # and revenue_growth itself a month later (an offset of a derived metric). Jan has no month before; May and Jun
    # are reached only by the offsets.
    assert ask(month_end, "revenue_growth", "revenue_growth_ratio", "growth_a_month_before", "--by", "month") == [
        ("2025-01-01", None, None, None),
        ("2025-02-01", 89, 89 / 11, None),
        ("2025-03-01", 900, 9, 89),
        ("2025-04-01", 9000, 9, 900),
        ("2025-05-01", None, None, 9000),
        ("2025-06-01", None, None, None),
    ]
    # By quarter every order counts once: Q1 1111 - (11 + 100), Q2 10000 - (1000 + 10000). MetricFlow goes through
    # its daily offset (issue 1758) and answers 711 and -10000.
    assert ask(month_end, "revenue_growth", "--by", "quarter") == [("2025-01-01", 1000), ("2025-04-01", -1000)]


def test_custom_granularities_of_cumulative_metrics_and_the_time_spine(shop):
    # period_agg per fiscal quarter: the quarter from Dec 1 starts with Jan 5's 10 and ends on Mar 1 (100); the one
    # from Mar 2 starts with Mar 2, whose 7 days still hold Mar 1's 100, and its last value is Mar 15's 8 (to Mar 21).
    assert ask(shop, "revenue_7d", "revenue_7d_last", "--by", "fiscal_quarter") == [
        ("2024-12-01", 10, 100),
        ("2025-03-02", 100, 8),
    ]
    # Month to date and all time per fiscal month (first day with a value): the fiscal month from Mar 30 begins in
    # March, so its first value is Mar 30's month to date, 108.
    assert ask(shop, "revenue_mtd", "revenue_all_time", "--by", "fiscal_month") == [
        ("2024-12-29", 10, 10),
        ("2025-02-02", 5, 30),
        ("2025-03-02", 100, 145),
        ("2025-03-30", 108, 153),
        ("2025-05-04", None, 153),
    ]
    # join_to_timespine: every fiscal month of the spine (Dec 1 to May 31), empty ones filled with 0.
    assert ask(shop, "revenue_filled", "--by", "fiscal_month") == [
        ("2024-12-01", 0),
        ("2024-12-29", 30),
        ("2025-02-02", 115),
        ("2025-03-02", 8),
        ("2025-03-30", 0),
        ("2025-05-04", 0),
    ]
