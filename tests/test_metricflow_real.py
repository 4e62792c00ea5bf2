"""Opt-in: the parity suite's shop answered by the real MetricFlow (`mf query`) and by Northstar, whole tables compared.

Set NORTHSTAR_TEST_METRICFLOW to the `mf` executable of a venv holding dbt-metricflow and dbt-duckdb (its `dbt`
beside it), e.g.::

    python3 -m venv /tmp/mfvenv && /tmp/mfvenv/bin/pip install 'dbt-metricflow[dbt-duckdb]' 'dbt-core==1.11.*'
    NORTHSTAR_TEST_METRICFLOW=/tmp/mfvenv/bin/mf .venv/bin/pytest tests/test_metricflow_real.py

The shop is written a second time as a dbt project (the same seeds, models and semantic YAML, plus the time spine
MetricFlow needs), built with `dbt build`, and each query asked of both. Slow (MetricFlow starts in seconds per query).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from test_metricflow_parity import CONVERSIONS, DBT_STYLE, LATEST, SHOP, TIERS

MF = os.environ.get("NORTHSTAR_TEST_METRICFLOW")
pytestmark = pytest.mark.skipif(not MF, reason="set NORTHSTAR_TEST_METRICFLOW=/path/to/mf to compare with MetricFlow")

# (Northstar's `metrics query` arguments, `mf query` arguments, whether the order of rows is part of the answer)
CASES = [
    (
        ["revenue", "customers", "--by", "customer__city"],
        ["--metrics", "revenue,customers", "--group-by", "customer__city"],
        False,
    ),
    (
        ["revenue", "order_count", "--by", "month"],
        ["--metrics", "revenue,order_count", "--group-by", "metric_time__month"],
        False,
    ),
    (["--saved-query", "revenue_by_weekday"], ["--saved-query", "revenue_by_weekday"], False),
    (
        ["revenue", "--by", "customer__region__region_name"],
        ["--metrics", "revenue", "--group-by", "customer__region__region_name"],
        False,
    ),
    (["--by", "customer__city"], ["--group-by", "customer__city"], False),
    (["--by", "customer__city", "--by", "order__status"], ["--group-by", "customer__city,order__status"], False),
    (["march_revenue"], ["--metrics", "march_revenue"], False),
    (["--saved-query", "top_cities"], ["--saved-query", "top_cities"], True),
    (["--saved-query", "monthly_revenue"], ["--saved-query", "monthly_revenue"], False),
    # Metric() in a metric's filter and in --where: the metric per customer, joined on the customer.
    (["big_customer_revenue"], ["--metrics", "big_customer_revenue"], False),
    (
        ["big_customer_revenue", "--by", "month"],
        ["--metrics", "big_customer_revenue", "--group-by", "metric_time__month"],
        False,
    ),
    (
        ["revenue", "--by", "customer__city", "--where", "{{ Metric('order_count', group_by=['customer']) }} >= 2"],
        [
            "--metrics",
            "revenue",
            "--group-by",
            "customer__city",
            "--where",
            "{{ Metric('order_count', group_by=['customer']) }} >= 2",
        ],
        False,
    ),
    # In a ratio's input filter (MetricFlow needs the alias: without it both inputs are one column named revenue,
    # and it answers 1 everywhere); in a dimension-only query.
    (["repeat_share", "--by", "month"], ["--metrics", "repeat_share", "--group-by", "metric_time__month"], False),
    # (Not > 10: orders without a customer make a NULL customer with 100, which passes; MetricFlow full-outer-joins
    # it to the dimensions of a dimension-only query, adding a NULL row no order has. Northstar left-joins, as
    # MetricFlow does for a metric; docs/semantic-layer.md lists the difference.)
    (
        ["--by", "order__status", "--where", "{{ Metric('revenue', group_by=['customer']) }} < 20"],
        ["--group-by", "order__status", "--where", "{{ Metric('revenue', group_by=['customer']) }} < 20"],
        False,
    ),
    (
        ["--by", "customer__city", "--where", "{{ Metric('revenue', group_by=['customer']) }} < 20"],
        ["--group-by", "customer__city", "--where", "{{ Metric('revenue', group_by=['customer']) }} < 20"],
        False,
    ),
]
# Entity-prefixed names: a time dimension with its entity and grain, on the measure's semantic model and across a
# join; a TimeDimension() and an Entity() in --where; grouping by an entity. --order (NULLs last either way) and
# --limit, with and without metrics.
CASES += [
    (
        ["revenue", "--by", "order__ordered_at__month"],
        ["--metrics", "revenue", "--group-by", "order__ordered_at__month"],
        False,
    ),
    (
        ["revenue", "--by", "customer__signup_date__month"],
        ["--metrics", "revenue", "--group-by", "customer__signup_date__month"],
        False,
    ),
    (
        ["revenue", "--by", "month", "--where", "{{ TimeDimension('customer__signup_date', 'month') }} = '2025-01-01'"],
        [
            "--metrics",
            "revenue",
            "--group-by",
            "metric_time__month",
            "--where",
            "{{ TimeDimension('customer__signup_date', 'month') }} = '2025-01-01'",
        ],
        False,
    ),
    (
        ["revenue", "--where", "{{ Entity('customer') }} = 1"],
        ["--metrics", "revenue", "--where", "{{ Entity('customer') }} = 1"],
        False,
    ),
    (["revenue", "--by", "customer"], ["--metrics", "revenue", "--group-by", "customer"], False),
    (
        ["revenue", "order_count", "--by", "customer__city", "--order", "-revenue", "--limit", "2"],
        ["--metrics", "revenue,order_count", "--group-by", "customer__city", "--order", "-revenue", "--limit", "2"],
        True,
    ),
    (
        ["revenue", "--by", "customer__city", "--order", "-customer__city"],
        ["--metrics", "revenue", "--group-by", "customer__city", "--order", "-customer__city"],
        True,
    ),
    (
        ["--by", "customer__city", "--order", "customer__city", "--limit", "2"],
        ["--group-by", "customer__city", "--order", "customer__city", "--limit", "2"],
        True,
    ),
]
# dbt's own spelling: a time_spine: model, primary_entity naming order__is_completed in a metric filter, agg: SUM,
# create_metric: true (the metric amount).
STYLE_CASES = [
    (
        ["amount", "completed_amount", "approx_median_amount"],
        ["--metrics", "amount,completed_amount,approx_median_amount"],
        False,
    ),
    (
        ["completed_amount", "--by", "month"],
        ["--metrics", "completed_amount", "--group-by", "metric_time__month"],
        False,
    ),
    (
        ["completed_amount", "--by", "order__is_completed"],
        ["--metrics", "completed_amount", "--group-by", "order__is_completed"],
        False,
    ),
]
# A slowly changing dimension, each row joined to the version valid at its time.
TIER_CASES = [
    (["revenue", "--by", "customer__tier"], ["--metrics", "revenue", "--group-by", "customer__tier"], False),
    (["customers", "--by", "customer__tier"], ["--metrics", "customers", "--group-by", "customer__tier"], False),
    (
        ["revenue", "--by", "month", "--where", "{{ Dimension('customer__tier') }} = 'silver'"],
        [
            "--metrics",
            "revenue",
            "--group-by",
            "metric_time__month",
            "--where",
            "{{ Dimension('customer__tier') }} = 'silver'",
        ],
        False,
    ),
    (["--by", "customer__tier"], ["--group-by", "customer__tier"], False),
]
_RATES = "visit_to_buy_rate,visit_to_buy_conversions,visit_to_buy_rate_all_time,same_product_rate,visits"
# Conversion metrics: each purchase paired with the closest visit before it, constant properties.
CONVERSION_CASES = [
    (_RATES.split(","), ["--metrics", _RATES], False),
    ([*_RATES.split(","), "--by", "day"], ["--metrics", _RATES, "--group-by", "metric_time__day"], False),
    ([*_RATES.split(","), "--by", "month"], ["--metrics", _RATES, "--group-by", "metric_time__month"], False),
    (
        [*_RATES.split(","), "--by", "visit__channel"],
        ["--metrics", _RATES, "--group-by", "visit__channel"],
        False,
    ),
    (
        ["visit_to_buy_conversions", "--by", "day", "--where", "visit__channel = 'seo'"],
        [
            "--metrics",
            "visit_to_buy_conversions",
            "--group-by",
            "metric_time__day",
            "--where",
            "{{ Dimension('visit__channel') }} = 'seo'",
        ],
        False,
    ),
]


# dbt 1.12's spelling (the semantic model in the model's YAML, simple metrics with agg/expr) beside the legacy one;
# run when the `dbt` beside `mf` is 1.12 or later (dbt 1.11 does not parse it).
LATEST_CASES = [
    (
        ["revenue", "order_count", "completed_revenue", "median_order"],
        ["--metrics", "revenue,order_count,completed_revenue,median_order"],
        False,
    ),
    (
        ["revenue", "customers", "--by", "customer__city"],
        ["--metrics", "revenue,customers", "--group-by", "customer__city"],
        False,
    ),
    (
        ["revenue_per_order", "--by", "order__is_large"],
        ["--metrics", "revenue_per_order", "--group-by", "order__is_large"],
        False,
    ),
    (
        ["revenue_per_customer", "--by", "month"],
        ["--metrics", "revenue_per_customer", "--group-by", "metric_time__month"],
        False,
    ),
]
PROJECTS = {"shop": SHOP, "visits": CONVERSIONS, "latest": LATEST, "styles": DBT_STYLE, "tiers": TIERS}


def _dbt_version() -> tuple[int, ...]:
    dbt = Path(str(MF)).with_name("dbt")
    result = subprocess.run([str(dbt), "--version"], capture_output=True, text=True)
    found = re.search(r"installed:\s*(\d+)\.(\d+)", result.stdout + result.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Each project built once by both tools: name -> (Northstar's root, the dbt project's root)."""
    cache: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in cache:
            base = tmp_path_factory.mktemp("mf")
            cache[name] = (_northstar_project(base / "northstar", PROJECTS[name]), _dbt_project(base / name, name))
        return cache[name]

    return get


def _northstar_project(root: Path, files: dict[str, str]) -> Path:
    from click.testing import CliRunner
    from conftest import write_project

    from northstar.cli import main

    root = write_project(root, files)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def _dbt_project(root: Path, name: str) -> Path:
    for relative, text in PROJECTS[name].items():
        if relative == "project.yml":
            continue
        path = root / (f"models/{relative.removeprefix('metrics/')}" if relative.startswith("metrics/") else relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (root / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nprofile: {name}\nmodels:\n  {name}:\n    +materialized: table\n",
        encoding="utf-8",
    )
    (root / "profiles.yml").write_text(
        f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {root / 'mf.duckdb'}\n",
        encoding="utf-8",
    )
    if "models/metricflow_time_spine.sql" not in PROJECTS[name]:  # a dbt-style project declares its own
        (root / "models/metricflow_time_spine.sql").write_text(
            "select cast(range as date) as date_day from range(date '2024-12-01', date '2025-06-01', interval 1 day)\n",
            encoding="utf-8",
        )
        (root / "models/time_spine.yml").write_text(
            "models:\n  - name: metricflow_time_spine\n    time_spine: {standard_granularity_column: date_day}\n"
            "    columns: [{name: date_day, granularity: day}]\n",
            encoding="utf-8",
        )
    dbt = Path(str(MF)).with_name("dbt")
    result = subprocess.run([str(dbt), "build"], cwd=root, env=_env(root), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    return root


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "DBT_PROFILES_DIR": str(root)}


def _cell(value: object) -> str:
    """One cell as text both tools agree on: NULL as '', numbers without trailing zeros, dates as YYYY-MM-DD."""
    if value is None or value == "":
        return ""
    text = str(value)
    if re.fullmatch(r"\d{4}-\d\d-\d\d([ T]00:00:00)?", text):
        return text[:10]
    try:
        return f"{float(text):.6g}"
    except ValueError:
        return text


def _metricflow(root: Path, args: list[str], out: Path) -> tuple[list[str], list[list[str]]]:
    result = subprocess.run(
        [str(MF), "query", *args, "--csv", str(out)], cwd=root, env=_env(root), capture_output=True, text=True
    )
    assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    with out.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return [h.lower() for h in header], [[_cell(v) for v in row] for row in rows]


ALL_CASES = (
    [("shop", *case) for case in CASES]
    + [("visits", *case) for case in CONVERSION_CASES]
    + [("latest", *case) for case in LATEST_CASES]
    + [("styles", *case) for case in STYLE_CASES]
    + [("tiers", *case) for case in TIER_CASES]
)


@pytest.mark.parametrize(
    ("project", "ours", "theirs", "ordered"), ALL_CASES, ids=[f"{c[0]}: {' '.join(c[1])}" for c in ALL_CASES]
)
def test_same_table_as_metricflow(built, tmp_path, project, ours, theirs, ordered):
    from click.testing import CliRunner

    from northstar.cli import main

    if project == "latest" and _dbt_version() < (1, 12):
        pytest.skip("dbt 1.12's spec needs dbt-core 1.12 beside mf")
    northstar_root, dbt_root = built(project)
    result = CliRunner().invoke(main, ["query", *ours, "--format", "json", "--project-dir", str(northstar_root)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    header, rows = _metricflow(dbt_root, theirs, tmp_path / "mf.csv")
    # The same columns; MetricFlow may put the group-bys of a dimension-only query in another order than asked
    # (Northstar keeps the order of --by), so cells are compared by column name.
    if data:
        assert sorted(data[0]) == sorted(header)
    ours_rows = [[_cell(row[column]) for column in header] for row in data]
    assert (ours_rows if ordered else sorted(ours_rows)) == (rows if ordered else sorted(rows))
