"""The workload behind the performance targets: generated dbt projects of N table models over Parquet sources.

    .venv/bin/python bench/workload.py generate --models 100 --orders 1000 --out /tmp/wl   # prints the project dir
    .venv/bin/python bench/workload.py floor /tmp/wl/n100_o1000 floor.duckdb               # the floor

A project is a dbt project (``dbt_project.yml`` + ``profiles.yml``, every model ``materialized: table``, sources in
dbt 1.10's spelling ``config: meta: external_location``) of an
e-commerce shop: five raw tables as Parquet files (read in place through ``source()``), staging models, a core of
joins, aggregations and windows (orders enriched with their items and customers, customer order sequences, daily
revenue with rolling sums), then as many generated models as asked: slices of the orders (filters), their daily
series (aggregation + window), their best customers (join + aggregation + rank) and rollups of several slices
(union + aggregation). ``schema.yml`` adds eight key tests, as a real project has.

``compiled.sql`` holds every model rendered as ``CREATE OR REPLACE TABLE`` in DAG order; ``floor`` runs it through
DuckDB's Python API in one process: the least any tool on DuckDB pays for the same tables.

The raw data is deterministic (every value is a hash of the row number) and shared by every project of the same
number of orders; it is written once, under ``OUT/data/o<orders>/``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

RAW = ("customers", "orders", "order_items", "sessions", "ad_spend")
COUNTRIES = ("US", "DE", "FR", "GB", "NL", "ES")
CHANNELS = ("organic", "paid_search", "social", "email", "direct")
SEGMENTS = ("consumer", "smb", "enterprise")


def _choice(values: tuple[str, ...], salt: int) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"([{listed}])[1 + CAST(hash(i, {salt}) % {len(values)} AS INTEGER)]"


def raw_queries(orders: int) -> dict[str, str]:
    """One SELECT per raw table; ``orders`` orders, a tenth as many customers, 2.5 items and 5 sessions per order."""
    customers = max(100, orders // 10)
    seconds = 730 * 86400
    when = f"TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, {{salt}}) % {seconds} AS BIGINT))"
    return {
        "customers": f"""SELECT i AS customer_id, 'Customer ' || i AS full_name, {_choice(COUNTRIES, 1)} AS country,
    {_choice(SEGMENTS, 2)} AS segment, DATE '2023-01-01' + CAST(hash(i, 3) % 730 AS INTEGER) AS signup_date
FROM range(1, {customers} + 1) t(i)""",
        "orders": f"""SELECT i AS order_id, CAST(1 + hash(i, 11) % {customers} AS BIGINT) AS customer_id,
    {when.format(salt=12)} AS ordered_at,
    CASE WHEN hash(i, 13) % 10 < 8 THEN 'completed' WHEN hash(i, 13) % 10 < 9 THEN 'returned' ELSE 'cancelled' END
        AS status,
    {_choice(CHANNELS, 14)} AS channel, round((hash(i, 15) % 2000) / 100.0, 2) AS shipping_cost
FROM range(1, {orders} + 1) t(i)""",
        "order_items": f"""SELECT i AS order_item_id, CAST(1 + hash(i, 21) % {orders} AS BIGINT) AS order_id,
    CAST(1 + hash(i, 22) % 500 AS INTEGER) AS product_id, CAST(1 + hash(i, 23) % 3 AS INTEGER) AS quantity,
    round(5 + (hash(i, 24) % 19500) / 100.0, 2) AS unit_price,
    CASE WHEN hash(i, 25) % 5 = 0 THEN 0.1 ELSE 0 END AS discount
FROM range(1, {orders * 5 // 2} + 1) t(i)""",
        "sessions": f"""SELECT i AS session_id,
    CASE WHEN hash(i, 31) % 10 < 3 THEN NULL ELSE CAST(1 + hash(i, 32) % {customers} AS BIGINT) END AS customer_id,
    {when.format(salt=33)} AS started_at, {_choice(CHANNELS, 34)} AS channel,
    CAST(1 + hash(i, 35) % 20 AS INTEGER) AS pageviews
FROM range(1, {orders * 5} + 1) t(i)""",
        "ad_spend": f"""SELECT DATE '2024-01-01' + CAST(i % 730 AS INTEGER) AS spend_date,
    ([{", ".join(f"'{c}'" for c in CHANNELS[1:])}])[1 + CAST(i // 730 AS INTEGER)] AS channel,
    round((hash(i, 51) % 10000) / 100.0 * {max(1, orders // 1000)}, 2) AS spend
FROM range(0, 730 * {len(CHANNELS) - 1}) t(i)""",
    }


def ensure_data(folder: Path, orders: int) -> Path:
    """Write the raw Parquet files for ``orders`` orders unless they are there already."""
    marker = folder / "done.json"
    if marker.exists():
        return folder
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        for table, query in raw_queries(orders).items():
            connection.execute(f"COPY ({query}) TO '{folder / table}.parquet' (FORMAT parquet)")
    marker.write_text(json.dumps({"orders": orders}))
    return folder


def ref(name: str) -> str:
    return "{{ ref('" + name + "') }}"


def src(name: str) -> str:
    return "{{ source('raw', '" + name + "') }}"


def core_models() -> list[tuple[str, str, str]]:
    """(name, folder, sql): staging, intermediate and marts every project has, in DAG order."""
    return [
        (
            "stg_customers",
            "staging",
            f"""select customer_id, full_name, country, segment, cast(signup_date as date) as signup_date
from {src("customers")}""",
        ),
        (
            "stg_orders",
            "staging",
            f"""select order_id, customer_id, ordered_at, cast(ordered_at as date) as order_date, status, channel,
    shipping_cost, status = 'completed' as is_completed
from {src("orders")}""",
        ),
        (
            "stg_order_items",
            "staging",
            f"""select order_item_id, order_id, product_id, quantity, unit_price,
    quantity * unit_price * (1 - discount) as line_revenue
from {src("order_items")}""",
        ),
        (
            "stg_sessions",
            "staging",
            f"""select session_id, customer_id, started_at, cast(started_at as date) as session_date, channel, pageviews
from {src("sessions")}""",
        ),
        (
            "stg_ad_spend",
            "staging",
            f"""select spend_date, channel, spend
from {src("ad_spend")}""",
        ),
        (
            "int_order_totals",
            "intermediate",
            f"""select order_id, count(*) as item_count, sum(quantity) as units, sum(line_revenue) as net_revenue
from {ref("stg_order_items")}
group by order_id""",
        ),
        (
            "int_orders",
            "intermediate",
            f"""select o.*, coalesce(t.item_count, 0) as item_count, coalesce(t.net_revenue, 0) as net_revenue,
    c.country, c.segment
from {ref("stg_orders")} as o
left join {ref("int_order_totals")} as t on t.order_id = o.order_id
left join {ref("stg_customers")} as c on c.customer_id = o.customer_id""",
        ),
        (
            "int_order_sequence",
            "intermediate",
            f"""select order_id, customer_id,
    row_number() over (partition by customer_id order by ordered_at, order_id) as order_seq,
    sum(net_revenue) over (partition by customer_id order by ordered_at, order_id) as running_ltv
from {ref("int_orders")}
where is_completed""",
        ),
        (
            "int_sessions_daily",
            "intermediate",
            f"""select session_date, channel, count(*) as sessions, count(distinct customer_id) as visitors
from {ref("stg_sessions")}
group by session_date, channel""",
        ),
        (
            "fct_orders",
            "marts",
            f"""select o.order_id, o.customer_id, o.order_date, o.status, o.channel, o.is_completed, o.item_count,
    o.net_revenue, o.country, o.segment, s.order_seq, coalesce(s.order_seq = 1, false) as is_first_order
from {ref("int_orders")} as o
left join {ref("int_order_sequence")} as s on s.order_id = o.order_id""",
        ),
        (
            "dim_customers",
            "marts",
            f"""select c.*, count(f.order_id) as orders, coalesce(sum(f.net_revenue), 0) as lifetime_value,
    min(f.order_date) as first_order_date
from {ref("stg_customers")} as c
left join {ref("fct_orders")} as f on f.customer_id = c.customer_id and f.is_completed
group by all""",
        ),
        (
            "mart_daily_revenue",
            "marts",
            f"""with daily as (
    select order_date, count(*) as orders, sum(net_revenue) as revenue,
        sum(case when is_first_order then 1 else 0 end) as new_customers
    from {ref("fct_orders")}
    where is_completed
    group by order_date
)
select *, sum(revenue) over (order by order_date rows between 6 preceding and current row) as revenue_7d
from daily""",
        ),
        (
            "mart_channel_daily",
            "marts",
            f"""select s.session_date as day, s.channel, s.sessions, coalesce(a.spend, 0) as spend,
    avg(s.sessions) over (partition by s.channel order by s.session_date rows between 6 preceding and current row)
        as sessions_7d
from {ref("int_sessions_daily")} as s
left join {ref("stg_ad_spend")} as a on a.spend_date = s.session_date and a.channel = s.channel""",
        ),
    ]


def _predicate(i: int) -> str:
    kind = i % 4
    if kind == 0:
        return f"country in ('{COUNTRIES[i % 6]}', '{COUNTRIES[(i + 2) % 6]}')"
    if kind == 1:
        return f"channel <> '{CHANNELS[i % 5]}'"
    if kind == 2:
        return f"segment = '{SEGMENTS[i % 3]}'"
    return f"net_revenue >= {(i * 7) % 150}"


def slice_models(count: int) -> list[tuple[str, str, str]]:
    """``count`` generated models: per slice a filter, a daily series, a customer ranking; a rollup every 4 slices.

    The first slices read fct_orders; later ones read an earlier slice, so the DAG is deep as well as wide.
    """
    out: list[tuple[str, str, str]] = []
    i = 0
    while len(out) < count:
        parent = "fct_orders" if i < 4 else f"slice_{(i - 4) // 3}_orders"
        out.append(
            (
                f"slice_{i}_orders",
                "slices",
                f"""select *
from {ref(parent)}
where {_predicate(i)}""",
            )
        )
        out.append(
            (
                f"slice_{i}_daily",
                "slices",
                f"""with d as (
    select order_date, channel, count(*) as orders, sum(net_revenue) as revenue
    from {ref(f"slice_{i}_orders")}
    group by order_date, channel
)
select d.*, sum(d.revenue) over (partition by d.channel order by d.order_date rows between 6 preceding and current row)
        as revenue_7d,
    s.sessions, d.orders / nullif(s.sessions, 0) as conversion
from d
left join {ref("int_sessions_daily")} as s on s.session_date = d.order_date and s.channel = d.channel""",
            )
        )
        out.append(
            (
                f"slice_{i}_customers",
                "slices",
                f"""select o.customer_id, c.country, count(*) as orders, sum(o.net_revenue) as revenue,
    sum(o.net_revenue) / nullif(max(c.lifetime_value), 0) as share_of_ltv,
    rank() over (partition by c.country order by sum(o.net_revenue) desc) as country_rank
from {ref(f"slice_{i}_orders")} as o
join {ref("dim_customers")} as c on c.customer_id = o.customer_id
group by o.customer_id, c.country""",
            )
        )
        i += 1
        if i % 4 == 0:
            parts = "\nunion all\n".join(
                f"select {j} as slice_id, order_date, channel, orders, revenue from {ref(f'slice_{j}_daily')}"
                for j in range(i - 4, i)
            )
            out.append(
                (
                    f"rollup_{i // 4 - 1}",
                    "rollups",
                    f"""with u as (
{parts}
),
m as (
    select slice_id, date_trunc('month', order_date) as month, sum(orders) as orders, sum(revenue) as revenue
    from u
    group by slice_id, date_trunc('month', order_date)
)
select *, rank() over (partition by month order by revenue desc) as slice_rank
from m""",
                )
            )
    return out[:count]


def models(count: int) -> list[tuple[str, str, str]]:
    core = core_models()
    return core[:count] + slice_models(max(0, count - len(core)))


_REF = re.compile(r"\{\{ ref\('([^']+)'\) \}\}")
_SOURCE = re.compile(r"\{\{ source\('raw', '([^']+)'\) \}\}")

KEY_TESTS = (("stg_customers", "customer_id"), ("stg_orders", "order_id"), ("fct_orders", "order_id"),
             ("dim_customers", "customer_id"))  # fmt: skip


def generate(out: Path, count: int, orders: int, threads: int = 1, name: str | None = None) -> Path:
    """Write the project of ``count`` models over ``orders`` orders under ``out``; returns its folder."""
    data = ensure_data(out.resolve() / "data" / f"o{orders}", orders)
    root = out / (name or f"n{count}_o{orders}")
    if root.exists():
        shutil.rmtree(root)
    project = root / "project"
    written = models(count)
    files = {
        "dbt_project.yml": "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\n"
        "models:\n  bench:\n    +materialized: table\n",
        "profiles.yml": "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: warehouse.duckdb\n      threads: {threads}\n",
        # dbt 1.10's spelling, which dbt-duckdb reads too.
        "models/sources.yml": "version: 2\nsources:\n  - name: raw\n    config:\n      meta:\n"
        f"        external_location: \"read_parquet('{data}/{{name}}.parquet')\"\n    tables:\n"
        + "".join(f"      - name: {table}\n" for table in RAW),
    }
    names = {name for name, _, _ in written}
    tests = [
        f"  - name: {model}\n    columns:\n      - name: {column}\n        data_tests: [unique, not_null]\n"
        for model, column in KEY_TESTS
        if model in names
    ]
    if tests:
        files["models/schema.yml"] = "version: 2\nmodels:\n" + "".join(tests)
    for model, folder, sql in written:
        files[f"models/{folder}/{model}.sql"] = sql.strip() + "\n"
    for relative, text in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    statements = []
    for model, _, sql in written:
        body = _SOURCE.sub(lambda m: f"read_parquet('{data}/{m.group(1)}.parquet')", sql)
        body = _REF.sub(lambda m: f"main.{m.group(1)}", body)
        statements.append(f"CREATE OR REPLACE TABLE main.{model} AS\n{body.strip()};\n")
    (root / "compiled.sql").write_text("\n".join(statements), encoding="utf-8")
    return root


# The storage format the floor writes: Northstar's default ``storage_version`` (northstar/project/storage_version.py),
# so both write the same file. DuckDB's own default for a new file is its newest format, which costs less CPU to
# write: over 1M orders, the same SQL took 7.9 s of CPU into a file in DuckDB 2's format and 9.3 s in 1.1's.
STORAGE_VERSION = "v1.1.0"


def run_floor(root: Path, database: Path) -> None:
    """The floor: every model's compiled SQL through DuckDB's Python API, in DAG order, into ``database`` (created in
    the format of :data:`STORAGE_VERSION` when new)."""
    import duckdb

    sql = (root / "compiled.sql").read_text(encoding="utf-8")
    with duckdb.connect(str(database), config={"storage_compatibility_version": STORAGE_VERSION}) as connection:
        connection.execute(sql)


def example_statements(project: Path) -> list[str]:
    """The SQL a build of the example project runs, read from the artifacts a build left in ``target/``, in DAG
    order: each seed loaded from its CSV with its declared types, each model created as its table or view, each data
    test's failing rows counted, each metric's table created. No comments, no row counts, no catalog lookups: what
    DuckDB alone needs to make the same warehouse and check it."""
    import graphlib

    manifest = json.loads((project / "target" / "manifest.json").read_text(encoding="utf-8"))
    extras = json.loads((project / "target" / "northstar_manifest.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    statements: dict[str, str] = {}
    for uid, node in nodes.items():
        kind, code, relation = node["resource_type"], node.get("compiled_code") or "", node.get("relation_name")
        if kind == "seed":
            types = ", ".join(f"'{name}': '{t}'" for name, t in (node["config"].get("column_types") or {}).items())
            path = project / node["original_file_path"]
            options = f", types = {{{types}}}" if types else ""
            statements[uid] = (
                f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM "
                f"read_csv('{path}', header = true, auto_detect = true{options})"
            )
        elif kind == "model" and relation:
            what = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            statements[uid] = f"CREATE OR REPLACE {what} {relation} AS\n{code}"
        elif kind == "test" and node.get("compiled_code"):
            statements[uid] = f"SELECT count(*) FROM (\n{code}\n)"
    for uid, metric in extras["metrics"].items():
        if metric.get("relation_name") and metric.get("compiled_code"):
            statements[uid] = f"CREATE OR REPLACE TABLE {metric['relation_name']} AS\n{metric['compiled_code']}"
    parents = manifest["parent_map"]
    order = graphlib.TopologicalSorter(
        {uid: [p for p in parents.get(uid, []) if p in statements] for uid in statements}
    )
    schemas = sorted(
        {
            relation.split(".")[-2]
            for uid, relation in [
                *((u, n.get("relation_name")) for u, n in nodes.items()),
                *((u, m.get("relation_name")) for u, m in extras["metrics"].items()),
            ]
            if uid in statements and relation
        }
    )
    return [
        *(f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in schemas),
        *(statements[u] for u in order.static_order()),
    ]


def run_statements(statements_file: Path, database: Path) -> None:
    """The example's floor: each statement of ``statements_file`` (a JSON list) in turn, its rows fetched, into a new
    ``database`` in the format of :data:`STORAGE_VERSION`."""
    import duckdb

    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)
    statements = json.loads(statements_file.read_text(encoding="utf-8"))
    with duckdb.connect(str(database), config={"storage_compatibility_version": STORAGE_VERSION}) as connection:
        for statement in statements:
            connection.execute(statement).fetchall()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write a project")
    gen.add_argument("--models", type=int, required=True)
    gen.add_argument("--orders", type=int, default=1000)
    gen.add_argument("--threads", type=int, default=1)
    gen.add_argument("--out", type=Path, default=Path("bench-workloads"))
    floor = commands.add_parser("floor", help="run a project's compiled.sql through DuckDB alone")
    floor.add_argument("root", type=Path)
    floor.add_argument("database", type=Path)
    statements = commands.add_parser("statements", help="run a JSON list of statements through DuckDB alone")
    statements.add_argument("file", type=Path)
    statements.add_argument("database", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        print(generate(args.out, args.models, args.orders, args.threads))
    elif args.command == "statements":
        run_statements(args.file, args.database)
    else:
        run_floor(args.root, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
