"""The semantic layer through the CLI on a tiny shop: queries, formats, --where safety, compile, ls --metrics."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_project
from metrics_fixture import SHOP

from northstar.cli import main


def cli(root: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("shop") / "shop", SHOP)
    result = cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    return root


def out(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


def table(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_simple_metric_by_month(shop):
    assert out(cli(shop, "query", "revenue", "--by", "month")) == table(
        """
        metric_time__month  revenue
        ------------------  -------
        2025-01-01           140.50
        2025-02-01           140.25
        2025-03-01            50.00
        2025-05-01            10.00
        """
    )


def test_two_metrics_by_a_dimension_joined_through_the_user_entity(shop):
    result = cli(shop, "query", "revenue", "completed_orders", "--by", "month,user__channel")
    assert out(result) == table(
        """
        metric_time__month  user__channel  revenue  completed_orders
        ------------------  -------------  -------  ----------------
        2025-01-01          paid_search      40.00                 1
        2025-01-01          seo             100.50                 1
        2025-02-01          paid_search      80.00                 1
        2025-02-01          seo              60.25                 1
        2025-03-01          seo              50.00                 2
        2025-05-01          paid_search      10.00                 1
        """
    )


def test_bare_dimension_name_resolves_through_the_only_join_that_has_it(shop):
    assert out(cli(shop, "query", "revenue", "--by", "channel")) == table(
        """
        channel      revenue
        -----------  -------
        paid_search   130.00
        seo           210.75
        """
    )


def test_ratio_across_two_semantic_models_as_json(shop):
    rows = json.loads(out(cli(shop, "query", "cpu", "--by", "month", "--by", "channel", "--format", "json")))
    assert rows == [
        {"metric_time__month": "2025-01-01", "channel": "paid_search", "cpu": 50.0},
        {"metric_time__month": "2025-01-01", "channel": "seo", "cpu": None},
        {"metric_time__month": "2025-02-01", "channel": "paid_search", "cpu": 90.0},
        {"metric_time__month": "2025-02-01", "channel": "seo", "cpu": None},
        {"metric_time__month": "2025-03-01", "channel": "paid_search", "cpu": 30.0},
        {"metric_time__month": "2025-03-01", "channel": "paid_social", "cpu": None},
    ]


def test_derived_metric_with_an_offset_window(shop):
    # As MetricFlow, the inputs are full outer joined: April and June, reached only by last month's revenue (March
    # and May shifted), are rows too, without a value.
    assert out(cli(shop, "query", "revenue_growth", "--by", "month", "--format", "csv")) == table(
        """
        metric_time__month,revenue_growth
        2025-01-01,
        2025-02-01,-0.25
        2025-03-01,-90.25
        2025-04-01,
        2025-05-01,
        2025-06-01,
        """
    )


def test_offset_window_needs_a_time_grain(shop):
    result = cli(shop, "query", "revenue_growth")
    assert result.exit_code == 2
    assert "needs a time grain: add e.g. --by month" in result.output


def test_cumulative_grain_to_date_and_rolling_window(shop):
    # As MetricFlow: a running value per day, then per month the value of its first day with one (revenue_2m, the
    # default period_agg) or its last (revenue_to_date, period_agg: last). revenue_2m on Feb 1 holds Jan 5 and
    # Jan 25 (140.50); on Mar 1 also Feb 3 and 11 (280.75; the cancelled order counts no revenue); on Apr 1 the
    # orders after Feb 1 (190.25); on May 1 those after Mar 1 (50); Jun 1 and Jul 1 the May 2 order (10), the last
    # day it counts in being Jul 1. Year to date runs to the year's end.
    assert out(cli(shop, "query", "revenue_to_date", "revenue_2m", "--by", "month")) == table(
        """
        metric_time__month  revenue_to_date  revenue_2m
        ------------------  ---------------  ----------
        2025-01-01                   140.50      100.50
        2025-02-01                   280.75      140.50
        2025-03-01                   330.75      280.75
        2025-04-01                   330.75      190.25
        2025-05-01                   340.75       50.00
        2025-06-01                   340.75       10.00
        2025-07-01                   340.75       10.00
        2025-08-01                   340.75
        2025-09-01                   340.75
        2025-10-01                   340.75
        2025-11-01                   340.75
        2025-12-01                   340.75
        """
    )


def test_where_start_end_order_limit(shop):
    assert out(cli(shop, "query", "revenue", "--by", "month", "--where", "channel = 'seo'")) == table(
        """
        metric_time__month  revenue
        ------------------  -------
        2025-01-01           100.50
        2025-02-01            60.25
        2025-03-01            50.00
        """
    )
    assert out(cli(shop, "query", "revenue", "--by", "day", "--start", "2025-02-01", "--end", "2025-03-20")) == table(
        """
        metric_time__day  revenue
        ----------------  -------
        2025-02-03          60.25
        2025-02-10
        2025-02-11          80.00
        2025-03-20          20.00
        """
    )
    assert out(cli(shop, "query", "revenue", "--by", "user", "--order", "-revenue", "--limit", "2")) == table(
        """
        user  revenue
        ----  -------
           1   190.75
           3    80.00
        """
    )


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("channel in (select 1)", "contains a query; only conditions on dimensions are allowed"),
        ("1=1; drop table x", "must be one condition, not several statements"),
        ("amount > 5", "uses 'amount', which is not a dimension or entity reachable from semantic model 'orders'"),
        ("chanel = 'seo'", "Did you mean 'channel'? Valid choices: channel, first_seen_at, order,"),
        ("orders.status = 'x'", "refer to dimensions by name (e.g. user__channel), without a table"),
        ("status = ", "is not valid SQL"),
    ],
)
def test_where_is_refused_unless_a_condition_on_dimensions(shop, where, message):
    result = cli(shop, "query", "revenue", "--where", where)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_metric_dimension_and_order_column(shop):
    result = cli(shop, "query", "revnue")
    assert result.exit_code == 2
    assert result.output == "Error: No metric named 'revnue'. Did you mean 'revenue'?\n"
    result = cli(shop, "query", "revenue", "--order", "foo", "--by", "month")
    assert result.output == "Error: --order foo: no such column. Valid choices: metric_time__month, revenue.\n"
    result = cli(shop, "query", "revenue", "--by", "month", "--by", "week")
    assert "at most one time grain" in result.output


def test_compile_prints_a_commented_query_and_transpiles(shop):
    sql = out(cli(shop, "compile", "cpu"))
    assert "/* spend: spend = sum of spend, per metric_time__month, channel */" in sql
    assert "FULL OUTER JOIN users" in sql
    postgres = out(cli(shop, "compile", "revenue", "--by", "month", "--dialect", "postgres"))
    assert "DATE_TRUNC('MONTH', orders.ordered_at)" in postgres
    result = cli(shop, "compile", "revenue", "--dialect", "nosuchdb")
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_ls_metrics_lists_type_owner_and_description(shop):
    assert out(cli(shop, "ls", "--metrics")) == table(
        """
        metric            type        owner        description
        ----------------  ----------  -----------  --------------------------------------
        revenue           simple      finance      Completed revenue.
        completed_orders  simple      growth       Completed orders.
        new_users         simple      growth       Users by first visit.
        spend             simple                   Ad spend.
        cpu               ratio       performance  Spend per new user.
        revenue_growth    derived                  Month over month revenue growth.
        revenue_to_date   cumulative               Revenue since the start of the year.
        revenue_2m        cumulative               Revenue over a rolling 2-month window.
        """
    )


def test_query_before_build_says_to_build(tmp_path):
    root = write_project(tmp_path / "p", SHOP)
    result = cli(root, "query", "revenue")
    assert result.exit_code == 2
    assert "does not exist yet. Run `metrics build` first." in result.output


def test_python_api_metric_sql_and_list(shop):
    from northstar.metrics import list_metrics, metric_sql
    from northstar.project.loader import load_project

    project = load_project(shop)
    assert "GROUP BY" in metric_sql(project, "cpu")
    info = {m.name: m for m in list_metrics(project)}
    assert info["cpu"].semantic_models == ("spend", "users")
    assert info["cpu"].measures == ("spend", "new_users")
    assert info["completed_orders"].dimensions == ("orders.ordered_at", "order__status")


def test_repeated_query_uses_the_cache_and_an_edit_invalidates_it(tmp_path):
    root = write_project(tmp_path / "shop", SHOP)
    assert cli(root, "build", "-q").exit_code == 0
    first = out(cli(root, "query", "revenue", "--by", "quarter"))
    assert len(list((root / "target" / "metric_cache").glob("*.json"))) == 1
    assert out(cli(root, "query", "revenue", "--by", "quarter")) == first
    metrics = root / "metrics" / "shop.yml"
    metrics.write_text(
        metrics.read_text().replace("case when status = 'completed' then amount end", "amount * 2"), encoding="utf-8"
    )
    assert out(cli(root, "query", "revenue", "--by", "quarter")) == table(
        """
        metric_time__quarter  revenue
        --------------------  -------
        2025-01-01             661.50
        2025-04-01              20.00
        """
    )
    (root / "metrics" / "broken.yml").write_text("metrics:\n  - name: revenue\n", encoding="utf-8")
    result = cli(root, "query", "revenue", "--by", "quarter")
    assert result.exit_code == 2 and "Error: metrics/broken.yml:2:" in result.output


def test_every_measure_aggregation(tmp_path):
    measures = """
              - {name: avg_amount, agg: average, expr: amount}
              - {name: min_amount, agg: min, expr: amount}
              - {name: max_amount, agg: max, expr: amount}
              - {name: median_amount, agg: median, expr: amount}
              - {name: p90_amount, agg: percentile, expr: amount, agg_params: {percentile: 0.9}}
              - {name: p90_amount_discrete, agg: percentile, expr: amount,
                 agg_params: {percentile: 0.9, use_discrete_percentile: true}}
              - {name: completed, agg: sum_boolean, expr: "status = 'completed'"}
"""
    text = SHOP["metrics/shop.yml"].replace(
        "              - {name: buyers, agg: count_distinct, expr: user_id}\n",
        "              - {name: buyers, agg: count_distinct, expr: user_id}\n" + measures,
    )
    names = ["buyers", "avg_amount", "min_amount", "max_amount", "median_amount", "p90_amount"]
    names += ["p90_amount_discrete", "completed"]
    text = text.rstrip(" ") + "".join(
        f"          - {{name: m_{n}, type: simple, type_params: {{measure: {n}}}}}\n" for n in names
    )
    root = write_project(tmp_path / "shop", {**SHOP, "metrics/shop.yml": text})
    assert cli(root, "build", "-q").exit_code == 0
    rows = json.loads(out(cli(root, "query", *[f"m_{n}" for n in names], "--format", "json")))
    # amounts: 0, 10, 20, 30, 40, 60.25, 80, 100.5 (8 orders of 5 buyers, 7 completed)
    assert rows == [
        {
            "m_buyers": 4,
            "m_avg_amount": 42.59375,
            "m_min_amount": 0.0,
            "m_max_amount": 100.5,
            "m_median_amount": 35.0,
            "m_p90_amount": pytest.approx(86.15),
            "m_p90_amount_discrete": 100.5,
            "m_completed": 7,
        }
    ]
