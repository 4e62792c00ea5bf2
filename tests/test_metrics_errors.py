"""Bad metric definitions fail before any SQL runs, naming the file, the line, the metric and the valid choices."""

from __future__ import annotations

import textwrap

import pytest
from metrics_fixture import SHOP

METRICS_HEAD = SHOP["metrics/shop.yml"].split("        metrics:\n")[0] + "        metrics:\n"


def with_metrics(text: str, models: str = "") -> dict[str, str]:
    """The shop with these metrics (YAML indented like METRICS_HEAD's entries), plus extra semantic models."""
    head = METRICS_HEAD
    if models:
        head = head.replace("        metrics:\n", models + "        metrics:\n")
    return {**SHOP, "metrics/shop.yml": head + text}


SIMPLE = """
          - name: revenue
            type: simple
            type_params: {measure: revenue}
"""


def line_of(files: dict[str, str], needle: str, nth: int = 1) -> int:
    """The line of the nth occurrence of ``needle`` in the written metrics file (files are dedented on write)."""
    lines = textwrap.dedent(files["metrics/shop.yml"]).lstrip("\n").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    return hits[nth - 1]


def error_of(make_project, run_cli, files: dict[str, str], *args: str) -> str:
    root = make_project(files, base={})
    result = run_cli(root, *(args or ("ls", "--metrics")))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.strip()


def test_unknown_key_names_file_line_and_allowed_keys(make_project, run_cli):
    files = with_metrics(SIMPLE + "            typo: 1\n")
    at = line_of(files, "typo: 1")
    assert error_of(make_project, run_cli, files).startswith(
        f"Error: metrics/shop.yml:{at}: Unknown key 'typo' in metric 'revenue'. Did you mean 'type'? Allowed keys: "
        "config, defaults, "
    )


def test_unknown_metric_type_lists_the_types(make_project, run_cli):
    files = with_metrics(SIMPLE.replace("type: simple", "type: smple"))
    at = line_of(files, "type: smple")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: The metric 'revenue' has type 'smple'. Valid choices: simple, ratio, derived, "
        "cumulative, conversion, cohort, retention, funnel, uplift, coverage, pyramid."
    )


def test_unknown_measure_suggests_and_lists(make_project, run_cli):
    files = with_metrics(SIMPLE.replace("measure: revenue", "measure: revenu"))
    at = line_of(files, "- name: revenue")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Metric 'revenue' uses measure 'revenu', which no semantic model declares. "
        "Did you mean 'revenue'?"
    )


def test_unknown_metric_input(make_project, run_cli):
    files = with_metrics(
        SIMPLE
        + """
          - name: growth
            type: derived
            type_params: {expr: revenue - cost, metrics: [revenue, cost]}
"""
    )
    at = line_of(files, "- name: growth")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Metric 'growth' uses metric 'cost', which does not exist. Valid metrics: "
        "growth, revenue."
    )


def test_cycle_among_derived_metrics_prints_the_path(make_project, run_cli):
    files = with_metrics(
        """
          - name: a
            type: derived
            type_params: {expr: b + 1, metrics: [b]}
          - name: b
            type: derived
            type_params: {expr: a * 2, metrics: [a]}
"""
    )
    at = line_of(files, "- name: a")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Metric 'a' depends on itself: a -> b -> a. Break the cycle by removing one of "
        "these inputs."
    )


def test_derived_expression_may_only_use_its_inputs(make_project, run_cli):
    files = with_metrics(
        SIMPLE + "          - {name: d, type: derived, type_params: {expr: revenue + x, metrics: [revenue]}}\n"
    )
    at = line_of(files, "name: d,")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: The expr of derived metric 'd' uses 'x', which is not one of its inputs. "
        "Valid choices: revenue (list it under type_params.metrics)."
    )


def test_filter_on_an_unreachable_dimension(make_project, run_cli):
    files = with_metrics(SIMPLE + "            filter: \"{{ Dimension('campaign__name') }} = 'x'\"\n")
    message = error_of(make_project, run_cli, files)
    at = line_of(files, "- name: revenue")
    assert message.startswith(
        f"Error: metrics/shop.yml:{at}: The filter of metric 'revenue' uses 'campaign__name', which is not a dimension "
        "or entity reachable from semantic model 'orders' (read by metric 'revenue'). Valid choices: channel, "
    )


def test_ambiguous_dimension_lists_the_join_paths(make_project, run_cli):
    profiles = """
          - name: profiles
            model: ref('dim_users')
            entities: [{name: user, type: primary, expr: user_id}]
            dimensions: [{name: channel, type: categorical}]
"""
    files = with_metrics(SIMPLE + "            filter: \"{{ Dimension('user__channel') }} = 'seo'\"\n", profiles)
    message = error_of(make_project, run_cli, files)
    assert (
        "uses 'user__channel', which is ambiguous for metric 'revenue': it can mean user__channel (semantic model "
        in message
    )
    assert "'users'), user__channel (semantic model 'profiles')" in message


def test_ratio_of_metrics_with_different_grains(make_project, run_cli):
    files = with_metrics(
        """
          - {name: revenue, type: simple, type_params: {measure: revenue}, defaults: {grain: month}}
          - {name: users, type: simple, type_params: {measure: new_users}, defaults: {grain: day}}
          - {name: arpu, type: ratio, type_params: {numerator: revenue, denominator: users}}
"""
    )
    at = line_of(files, "name: arpu")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Ratio metric 'arpu' divides 'revenue' (grain month) by 'users' (grain day); "
        "both sides need the same grain. Give the inputs the same `defaults: {grain: ...}`."
    )


def test_semantic_model_over_a_missing_model(make_project, run_cli):
    spend = SIMPLE + "          - {name: spend, type: simple, type_params: {measure: spend}}\n"
    files = with_metrics(spend)
    files["metrics/shop.yml"] = files["metrics/shop.yml"].replace("ref('fct_spend')", "ref('fct_spends')")
    at = line_of(files, "- name: spend")
    # The mistake refuses the metrics reading that semantic model only.
    assert error_of(make_project, run_cli, files, "query", "spend") == (
        f"Error: metrics/shop.yml:{at}: Metric 'spend' reads measure 'spend' of semantic model 'spend', which has a "
        "mistake: Semantic model 'spend' reads ref('fct_spends'), but no model has that name. Did you mean "
        "'fct_spend'? Other metrics are not affected."
    )
    root = make_project(files, base={})
    ok = run_cli(root, "compile", "revenue")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            "{entity: user, exposure: new_users, group: channel, outcome: revenue, window: 14 dayz}",
            "'window' of the metric 'u' is '14 dayz', which is not a duration.",
        ),
        (
            "{entity: customer, exposure: new_users, group: channel, outcome: revenue, window: 14 days}",
            "Metric 'u' follows entity 'customer', but measure 'new_users' comes from semantic model 'users', which "
            "has no such entity. Valid choices: user.",
        ),
        (
            "{entity: user, exposure: new_users, group: colour, outcome: revenue, window: 14 days}",
            "Uplift metric 'u' (group) uses 'colour', which is not a dimension",
        ),
    ],
)
def test_growth_type_parameters_are_checked(make_project, run_cli, params, message):
    files = with_metrics(f"          - {{name: u, type: uplift, type_params: {params}}}\n")
    assert message in error_of(make_project, run_cli, files)


def test_funnel_needs_two_named_steps(make_project, run_cli):
    files = with_metrics(
        "          - {name: f, type: funnel, type_params: {entity: user, steps: [{measure: new_users}]}}\n"
    )
    at = line_of(files, "name: f,")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: The metric 'f' needs at least two steps (a list under 'steps')."
    )


def test_duplicate_metric_names(make_project, run_cli):
    files = with_metrics(SIMPLE + SIMPLE)
    at, first = line_of(files, "- name: revenue", 2), line_of(files, "- name: revenue")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: The metric 'revenue' is defined twice: here and in "
        f"metrics/shop.yml:{first}. "
        "Keep one of them."
    )


def test_unsupported_metricflow_options_are_refused_when_used_and_block_nothing_else(make_project, run_cli):
    files = with_metrics(
        SIMPLE
        + """
          - name: c
            type: cumulative
            type_params:
              measure: {name: revenue, join_to_timespine: true}
          - name: c_share
            type: ratio
            type_params: {numerator: c, denominator: revenue}
"""
    )
    line = line_of(files, "join_to_timespine")
    refusal = (
        f"metrics/shop.yml:{line}: Metric 'c' sets join_to_timespine, which Northstar does not support yet: only a "
        "simple metric's measure joins the time spine. Other metrics are not affected; remove the key to use this "
        "metric."
    )
    assert error_of(make_project, run_cli, files, "query", "c") == f"Error: {refusal}"
    root = make_project(files, base={})
    assert run_cli(root, "compile", "c").output.strip() == f"Error: {refusal}"
    assert "Metric 'c_share' uses metric 'c', which cannot be answered" in run_cli(root, "query", "c_share").output
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    assert build.output.count("not materialized") == 1
    assert (
        "2 metrics not materialized (their tables and tests are skipped; every other metric is built):" in build.output
    )
    assert f"\n  {refusal}\n" in build.output
    assert "created table metrics.revenue" in build.output
    ok = run_cli(root, "compile", "revenue")
    assert ok.exit_code == 0, ok.output


def test_a_filter_that_is_not_sql_names_the_metric_file_and_line(make_project, run_cli):
    files = with_metrics(SIMPLE + '            filter: "channel = "\n')
    at = line_of(files, "- name: revenue")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Metric 'revenue': Filter 'channel =' is not valid SQL: an operator has "
        "nothing on one side. Write a condition such as channel = 'email'."
    )


def test_a_refused_metric_whose_filter_is_not_sql_blocks_nothing_else(make_project, run_cli):
    # Filters are parsed when the YAML is read; a parse error is kept for where the filter is used, so a metric
    # refused for another reason (here join_to_timespine on a cumulative metric) still leaves every other metric
    # working.
    files = with_metrics(
        SIMPLE
        + """
          - name: big_orders
            type: cumulative
            type_params: {measure: {name: revenue, join_to_timespine: true}}
            filter: "{{ Metric('revenue', group_by=['order']) }} > 100 and channel ="
"""
    )
    root = make_project(files, base={})
    refused = run_cli(root, "query", "big_orders")
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        f"Error: metrics/shop.yml:{line_of(files, 'join_to_timespine: true')}: Metric 'big_orders' sets "
        "join_to_timespine, which Northstar does not support yet: only a simple metric's measure joins the time "
        "spine. Other metrics are not affected; remove the key to use this metric."
    )
    revenue = run_cli(root, "compile", "revenue")
    assert revenue.exit_code == 0, revenue.output


def test_a_filter_calling_dimension_without_a_name_says_how_to_write_it(make_project, run_cli):
    files = with_metrics(SIMPLE + "            filter: \"{{ Dimension() }} = 'seo'\"\n")
    at = line_of(files, "- name: revenue")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Metric 'revenue': Filter \"{{{{ Dimension() }}}} = 'seo'\" does not render: "
        "a function gets the wrong arguments. Use {{ Dimension('entity__name') }}, "
        "{{ TimeDimension('name', 'month') }}, {{ Entity('name') }} or {{ Metric('name', group_by=['entity']) }}."
    )
