"""Growth metric types on a tiny shop whose numbers are checked by hand in the comments."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_project
from metrics_fixture import GROWTH

from northstar.cli import main


def cli(root: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("growth") / "shop", GROWTH)
    result = cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    return root


def out(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


def table(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_funnel_of_three_steps_each_within_a_window_of_the_previous(shop):
    # Day 1: users 1, 2, 3 visit; 1 and 3 cart within a day (2 carts two days later); only 1 buys within 2 hours of
    # the cart (3 buys 5.5 hours later). Day 2: user 4 does all three; user 5 carts without a visit: not counted.
    assert out(cli(shop, "query", "purchase_funnel", "--by", "day")) == table(
        """
        metric_time__day  visited  carted  carted_rate  purchased  purchased_rate  purchase_funnel
        ----------------  -------  ------  -----------  ---------  --------------  ---------------
        2025-01-01              3       2       0.6667          1          0.5000           0.3333
        2025-01-02              1       1       1.0000          1          1.0000           1.0000
        """
    )


def test_cohort_per_member_within_a_horizon_and_by_age(shop):
    # January cohort (users 1, 2): 100.50 + 40.00 within a month of the first visit (user 1's order exactly one
    # month later is out) / 2 = 70.25. February (3, 4): 80 / 2. March (5): nothing, 0.
    assert out(cli(shop, "query", "arpu_1m", "--by", "month")) == table(
        """
        metric_time__month  arpu_1m
        ------------------  -------
        2025-01-01            70.25
        2025-02-01            40.00
        2025-03-01             0.00
        """
    )
    assert out(cli(shop, "query", "arpu_1m", "--by", "month", "--by", "cohort_age")) == table(
        """
        metric_time__month  cohort_age  arpu_1m
        ------------------  ----------  -------
        2025-01-01                   0    70.25
        2025-02-01                   0    40.00
        """
    )


def test_retention_reported_against_the_next_period(shop):
    # Customers: January {1, 2}, February {1, 3}, March {1, 4}, May {2}. April has none, so May has no base.
    assert out(cli(shop, "query", "customer_retention", "--by", "month")) == table(
        """
        metric_time__month  customer_retention
        ------------------  ------------------
        2025-02-01                      0.5000
        2025-03-01                      0.5000
        2025-04-01                      0.0000
        """
    )


def test_conversion_within_a_window_on_an_entity(shop):
    # Users 1 and 2 order within 7 days of their first visit (2 buyers of 2 new users); 3 (8 and 9 days), 4 and 5 do
    # not. A period without conversions has no rate (NULL), as in MetricFlow: conversions / new users, where no
    # conversion was paired with that period's base events.
    assert out(cli(shop, "query", "first_week_conversion", "--by", "month")) == table(
        """
        metric_time__month  first_week_conversion
        ------------------  ---------------------
        2025-01-01                         1.0000
        2025-02-01
        2025-03-01
        """
    )
    assert out(cli(shop, "query", "first_week_conversion")).endswith("0.4000")


def test_uplift_absolute_relative_group_sizes_and_confidence_interval(shop):
    # Treatment (1, 2): 2 and 1 completed orders in 45 days, mean 1.5, var 0.5. Control (3, 4, 5): 1, 0, 0 (3's
    # cancelled order does not count), mean 1/3, var 1/3. Uplift 7/6, relative 3.5,
    # 95% CI 7/6 -+ 1.959964 * sqrt(0.5/2 + (1/3)/3).
    assert out(cli(shop, "query", "promo_uplift")) == table(
        """
        treatment_members  control_members  treatment_per_member  control_per_member  promo_uplift  promo_uplift_relative  promo_uplift_ci95_low  promo_uplift_ci95_high
        -----------------  ---------------  --------------------  ------------------  ------------  ---------------------  ---------------------  ----------------------
                        2                3                1.5000              0.3333        1.1667                 3.5000                -0.0111                  2.3445
        """  # noqa: E501
    )


def test_a_cohort_metric_combines_with_a_ratio_in_a_derived_metric(shop):
    # January: 70.25 / (50 spend / 2 new users); February: 40 / (90 / 2); March: 0 / (42 / 1).
    assert out(cli(shop, "query", "arpu_per_cpu", "--by", "month")) == table(
        """
        metric_time__month  arpu_per_cpu
        ------------------  ------------
        2025-01-01                2.8100
        2025-02-01                0.8889
        2025-03-01                0.0000
        """
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("query", "revenue", "--by", "cohort_age"), "--by cohort_age only applies to cohort metrics"),
        (("query", "purchase_funnel", "revenue"), "'purchase_funnel' is a funnel metric with its own output columns"),
        (("query", "purchase_funnel", "--by", "cohort_age"), "--by cohort_age only applies to cohort metrics"),
    ],
)
def test_growth_types_refuse_what_they_cannot_answer(shop, args, message):
    result = cli(shop, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_funnels_cannot_be_inputs_of_derived_metrics(make_project, run_cli):
    files = dict(GROWTH)
    files["metrics/growth.yml"] = files["metrics/growth.yml"].rstrip(" ") + (
        "          - {name: bad, type: derived, type_params: {expr: purchase_funnel * 2, metrics: [purchase_funnel]}}\n"
    )
    root = make_project(files, base={})
    result = run_cli(root, "ls", "--metrics")
    assert result.exit_code == 2
    assert "uses 'purchase_funnel', a funnel metric; funnel metrics have their own output shape" in result.output
