"""Coverage, pyramid and multi-outcome uplift metrics: their YAML mistakes and misuse are errors naming the file, the
line and the fix; and on the tiny shop their numbers are checked by hand."""

from __future__ import annotations

import pytest
from test_metrics_errors import error_of, line_of, with_metrics

PYRAMID = """
          - name: base
            type: pyramid
            type_params:
              entity: user
              levels:
                - {name: buyers, measure: order_count, window: 2 months}
                - {name: top, measure: revenue, window: 2 months, top_share: 0.7}
            defaults: {grain: month}
"""

COVERAGE = """
          - name: reach
            type: coverage
            type_params: {entity: user, base: order_count, measure: revenue, window: 2 months}
            defaults: {grain: month}
"""

UPLIFT = """
          - name: effect
            type: uplift
            type_params:
              entity: user
              exposure: new_users
              group: channel
              treatment: paid_search
              control: seo
              window: 30 days
              outcomes:
                - {name: orders, measure: order_count}
                - {name: aov, numerator: revenue, denominator: order_count}
            defaults: {grain: month}
"""


@pytest.mark.parametrize(
    ("yaml", "old", "new", "needle", "message"),
    [
        (
            PYRAMID,
            "                - {name: top, measure: revenue, window: 2 months, top_share: 0.7}\n",
            "",
            "levels:",
            "The metric 'base' needs at least two levels (a list under 'levels').",
        ),
        (
            PYRAMID,
            "top_share: 0.7",
            "top_share: 70",
            "top_share: 70",
            "'top_share' of the level 'top' of the metric 'base' must be a share between 0 and 1, e.g. "
            "`top_share: 0.7`.",
        ),
        (
            PYRAMID,
            "top_share: 0.7",
            "top_share: 0.7, min: 2",
            "top_share: 0.7, min: 2",
            "The level 'top' of the metric 'base' sets both min and top_share; keep one.",
        ),
        (
            PYRAMID,
            "window: 2 months, top_share",
            "windw: 2 months, top_share",
            "windw",
            "Unknown key 'windw' in level 'top' of the metric 'base'. Did you mean 'window'? Allowed keys: "
            "description, filter, measure, min, name, top_share, window.",
        ),
        (
            COVERAGE,
            "window: 2 months}",
            "window: 2 months, calculation: gaps}",
            "calculation: gaps",
            "The metric 'reach' has calculation 'gaps'. Valid choices: penetration, white_space.",
        ),
        (
            UPLIFT,
            "              window: 30 days\n",
            "              window: 30 days\n              outcome: order_count\n",
            "entity: user",  # the line of the type_params mapping's first key
            "The type_params of metric 'effect' need either 'outcome' (one measure) or 'outcomes' (a list of "
            "{name, measure} or {name, numerator, denominator}).",
        ),
        (
            UPLIFT,
            "{name: aov, numerator: revenue, denominator: order_count}",
            "{name: aov, measure: revenue, numerator: revenue}",
            "{name: aov",
            "The outcome 'aov' of the metric 'effect' needs either `measure:` (a value per member) or both "
            "`numerator:` and `denominator:` (a ratio of two sums, e.g. revenue per order).",
        ),
    ],
)
def test_yaml_mistakes_name_file_and_line(make_project, run_cli, yaml, old, new, needle, message):
    assert old in yaml
    files = with_metrics(yaml.replace(old, new))
    at = line_of(files, *needle) if isinstance(needle, tuple) else line_of(files, needle)
    assert error_of(make_project, run_cli, files) == f"Error: metrics/shop.yml:{at}: {message}"


def test_top_share_of_a_measure_that_does_not_add_up(make_project, run_cli):
    models = """
          - name: order_sizes
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities: [{name: sized_order, type: primary, expr: order_id}, {name: user, type: foreign, expr: user_id}]
            dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: order_size, agg: average, expr: amount}]
"""
    files = with_metrics(PYRAMID.replace("measure: revenue", "measure: order_size"), models)
    at = line_of(files, "- name: base")
    assert error_of(make_project, run_cli, files) == (
        f"Error: metrics/shop.yml:{at}: Level 'top' of metric 'base' ranks entities by measure 'order_size', an "
        "average: shares of a total need a measure that adds up (agg sum or count). Use such a measure."
    )


@pytest.mark.parametrize(
    ("yaml", "args", "message"),
    [
        (
            PYRAMID,
            ("base", "--by", "status"),
            "--by status: 'base' is a pyramid metric, one row per period with a column per level; it takes a time "
            "grain only (e.g. --by month). Narrow it with --where instead.",
        ),
        (
            COVERAGE,
            ("reach", "--by", "status"),
            "'reach' is a coverage metric, counted as of the end of each period: add a time grain, e.g. --by month.",
        ),
        (
            COVERAGE,
            ("reach", "--by", "month", "--by", "user__channel"),
            "--by user__channel: 'reach' is a coverage metric, whose --by picks categories of the 'revenue' rows; "
            "'user__channel' is also a dimension of its population ('order_count' rows), which coverage metrics do "
            "not split. Use a dimension of the measure's own rows, e.g. product_line.",
        ),
    ],
)
def test_misuse_on_the_command_line(make_project, run_cli, yaml, args, message):
    root = make_project(with_metrics(yaml), base={})
    result = run_cli(root, "compile", *args)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"Error: {message}"
