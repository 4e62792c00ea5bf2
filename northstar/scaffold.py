"""``metrics init DIR``: a new minimal project that builds as it is."""

from __future__ import annotations

from pathlib import Path

from northstar.errors import ProjectError

FILES = {
    "project.yml": """\
name: {name}
version: "0.1.0"

# The DuckDB file BI tools read. Builds publish it atomically.
warehouse: warehouse.duckdb

vars:
  min_order_total: 0

# Folder config, as in dbt_project.yml: +key applies to the folder and below.
# Each folder under models/ builds into the schema of the same name.
models:
  +materialized: table
  staging:
    +materialized: view

seeds:
  +schema: raw
""",
    "seeds/orders.csv": """\
order_id,customer_id,ordered_at,amount
1,1,2025-01-03 10:00:00,120.50
2,1,2025-02-11 12:30:00,80.00
3,2,2025-02-14 09:15:00,42.00
4,3,2025-03-01 18:45:00,310.25
""",
    "models/staging/_sources.yml": """\
version: 2
sources:
  - name: raw
    schema: raw
    tables:
      - name: orders
""",
    "models/staging/stg_orders.sql": """\
select
    order_id,
    customer_id,
    ordered_at::timestamp as ordered_at,
    amount::decimal(12, 2) as amount
from {{ source('raw', 'orders') }}
where amount >= {{ var('min_order_total') }}
""",
    "models/marts/customer_revenue.sql": """\
select
    customer_id,
    count(*) as orders,
    sum(amount) as revenue,
    {{ month_of('min(ordered_at)') }} as first_order_month
from {{ ref('stg_orders') }}
group by customer_id
""",
    "models/marts/fct_orders.sql": """\
-- One row per order: what metrics/orders.yml counts and sums.
select order_id, customer_id, ordered_at, amount
from {{ ref('stg_orders') }}
""",
    "models/marts/schema.yml": """\
version: 2
models:
  - name: fct_orders
    description: One row per order.
    columns:
      - name: order_id
        description: The order.
        data_tests: [unique, not_null]
      - name: ordered_at
        description: When the order was placed.
      - name: amount
        description: What the customer paid.
  - name: customer_revenue
    description: One row per customer with their order count and revenue.
    columns:
      - name: customer_id
        description: The customer.
      - name: orders
        description: Number of orders.
      - name: revenue
        description: Sum of order amounts.
      - name: first_order_month
        description: Month of the first order.
""",
    "macros/dates.sql": """\
{% macro month_of(column) -%}
date_trunc('month', {{ column }})::date
{%- endmacro %}
""",
    "tests/.gitkeep": "",
    "metrics/orders.yml": """\
# The semantic layer, in MetricFlow's language: a semantic model says what the rows of a model are (entities),
# how they can be sliced (dimensions) and what can be added up (measures); metrics are built from measures.
# Try: metrics query revenue orders --by month
semantic_models:
  - name: orders
    description: One row per order (fct_orders).
    model: ref('fct_orders')
    defaults:
      agg_time_dimension: ordered_at
    entities:
      - {name: order, type: primary, expr: order_id}
      - {name: customer, type: foreign, expr: customer_id}
    dimensions:
      - name: ordered_at
        type: time
        type_params: {time_granularity: day}
    measures:
      - {name: orders, description: Orders placed., agg: count, expr: order_id}
      - {name: revenue, description: Sum of order amounts., agg: sum, expr: amount}

metrics:
  - name: revenue
    description: Money paid for orders.
    type: simple
    type_params: {measure: revenue}
    defaults: {grain: month}
  - name: orders
    description: Orders placed.
    type: simple
    type_params: {measure: orders}
    defaults: {grain: month}
  - name: average_order_value
    description: Revenue per order.
    type: ratio
    type_params: {numerator: revenue, denominator: orders}
    defaults: {grain: month}
""",
    ".gitignore": "target/\n*.duckdb\n*.duckdb.wal\n*.duckdb.lock\n",
}


def init_project(directory: Path) -> list[Path]:
    """Write a new project into ``directory`` (which must be empty or absent); returns the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise ProjectError(f"{directory} is not empty. Choose a new folder for the project.")
    name = "".join(c if c.isalnum() else "_" for c in directory.resolve().name).strip("_").lower() or "project"
    written = []
    for relative, text in FILES.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{name}", name), encoding="utf-8")
        written.append(path)
    return written
