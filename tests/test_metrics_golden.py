"""Golden snapshots of compiled metric SQL, one file per metric, covering every metric type.

A change to the compiler shows up as a diff of tests/golden/metrics/*.sql: regenerate them with
`pytest tests/test_metrics_golden.py --update-golden` and review the diff like code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from conftest import REPO_ROOT, write_project
from metrics_fixture import GROWTH

from northstar.metrics import load_semantics
from northstar.metrics.compile import compile_request, default_request
from northstar.metrics.request import Request
from northstar.project.loader import load_project

GOLDEN = Path(__file__).parent / "golden" / "metrics"

# The example project's metrics (every dictionary metric) and the fixture's, for the types it lacks.
EXAMPLE = (
    "new_users",
    "ad_spend_gross",
    "cpc",
    "cpuser",
    "sarpu",
    "north_star",
    "north_star_qoq",
    "churn_rate",
    "ltv_cac",
    "reactivation_uplift",
    "open_rate",
    "click_rate",
    "cost_per_message",
    "top_customer_share",
    "login_funnel",
    "signup_funnel",
    "password_reset_funnel",
    "checkout_funnel",
    "revenue_ytd",
    "visit_to_order_30d",
    "product_line_revenue_yoy",
    "support_contacts_per_1000_orders",
    "discount_on_returners",
    "white_space_share",
    "customer_base",
    "reactivation_longterm",
)
FIXTURE = ("revenue_to_date", "revenue_2m", "first_week_conversion", "purchase_funnel", "promo_uplift", "arpu_per_cpu")


@pytest.fixture(scope="module")
def example_semantics():
    return load_semantics(load_project(REPO_ROOT))


@pytest.fixture(scope="module")
def fixture_semantics(tmp_path_factory: pytest.TempPathFactory):
    return load_semantics(load_project(write_project(tmp_path_factory.mktemp("golden") / "shop", GROWTH)))


def check(name: str, sql: str, update: bool) -> None:
    path = GOLDEN / f"{name}.sql"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql + "\n", encoding="utf-8")
        return
    assert path.exists(), f"No snapshot {path}; run pytest --update-golden and review it."
    expected = path.read_text(encoding="utf-8")
    if expected != sql + "\n":
        diff = "".join(difflib.unified_diff(expected.splitlines(True), (sql + "\n").splitlines(True), str(path), "now"))
        pytest.fail(f"Compiled SQL of '{name}' changed (pytest --update-golden to accept):\n{diff}")


@pytest.mark.parametrize("name", EXAMPLE)
def test_example_metric_sql(example_semantics, name, update_golden):
    metric = example_semantics.metric(name)
    check(name, compile_request(example_semantics, default_request(metric)), update_golden)


@pytest.mark.parametrize("name", FIXTURE)
def test_fixture_metric_sql(fixture_semantics, name, update_golden):
    metric = fixture_semantics.metric(name)
    request = default_request(metric)
    if not request.by:
        request = type(request)(request.metrics, by=("month",))
    check(f"shop__{name}", compile_request(fixture_semantics, request), update_golden)


def test_every_metric_type_has_a_snapshot():
    types = {load_semantics(load_project(REPO_ROOT)).metric(name).type for name in EXAMPLE}
    assert types == {
        "simple",
        "ratio",
        "derived",
        "cumulative",
        "conversion",
        "cohort",
        "retention",
        "funnel",
        "uplift",
        "coverage",
        "pyramid",
    }


# MetricFlow features shown on the parity suite's shop (tests/test_metricflow_parity.py): name -> request.
PARITY = {
    "saved_query_top_cities": Request((), saved_query="top_cities"),
    "null_groups_across_models": Request(("revenue", "customers"), by=("customer__city",)),
    "dimension_only": Request((), by=("customer__city", "order__status")),
    "multi_hop": Request(("revenue",), by=("customer__region__country__country_name", "customer__region__region_name")),
    "date_part": Request(("revenue",), by=("metric_time__extract_dow", "customer__signup_date__extract_month")),
    "metric_in_a_filter": Request(("big_customer_revenue", "repeat_share"), by=("month",)),
    "metric_in_where_without_metrics": Request(
        (), by=("customer__city",), where="{{ Metric('revenue', group_by=['customer']) }} > 10"
    ),
    "cumulative_period_agg": Request(("revenue_7d", "revenue_7d_last", "revenue_7d_avg"), by=("month",)),
    "offset_to_grain": Request(("revenue_over_month_start", "revenue_quarter_start"), by=("week",)),
    "join_to_timespine": Request(("revenue_filled", "order_count"), by=("month", "order__status")),
    "sub_daily": Request(("visits",), by=("metric_time__hour", "customer__city")),
    "custom_granularity": Request(("revenue", "order_count"), by=("metric_time__fiscal_quarter",)),
    "cumulative_custom_granularity": Request(("revenue_7d",), by=("metric_time__fiscal_quarter",)),
    "cumulative_by_agg_time_dimension": Request(("revenue_7d",), by=("order__ordered_at__month",)),
}
# On the parity suite's other projects: name -> (project, request).
PARITY_ELSEWHERE = {
    "semi_additive": (
        "BALANCES",
        Request(("total_balance", "snapshot_balance"), by=("month", "balance__account_type")),
    ),
    "nested_derived_offset": ("MONTH_END", Request(("revenue_growth", "growth_a_month_before"), by=("month",))),
}


@pytest.fixture(scope="module")
def parity_semantics(tmp_path_factory: pytest.TempPathFactory):
    from test_metricflow_parity import SHOP

    return load_semantics(load_project(write_project(tmp_path_factory.mktemp("golden") / "parity", SHOP)))


@pytest.mark.parametrize("name", PARITY)
def test_parity_sql(parity_semantics, name, update_golden):
    check(f"parity__{name}", compile_request(parity_semantics, PARITY[name]), update_golden)


@pytest.fixture(scope="module")
def tiers_semantics(tmp_path_factory: pytest.TempPathFactory):
    from test_metricflow_parity import TIERS

    return load_semantics(load_project(write_project(tmp_path_factory.mktemp("golden") / "tiers", TIERS)))


def test_slowly_changing_dimension_sql(tiers_semantics, update_golden):
    request = Request(("revenue", "customers"), by=("customer__tier",))
    check("parity__slowly_changing_dimension", compile_request(tiers_semantics, request), update_golden)


@pytest.mark.parametrize("name", PARITY_ELSEWHERE)
def test_parity_sql_elsewhere(tmp_path, name, update_golden):
    import test_metricflow_parity

    project, request = PARITY_ELSEWHERE[name]
    files = getattr(test_metricflow_parity, project)
    semantics = load_semantics(load_project(write_project(tmp_path / "parity", files)))
    check(f"parity__{name}", compile_request(semantics, request), update_golden)
