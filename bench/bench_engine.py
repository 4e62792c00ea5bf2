"""Engine benchmark: `metrics build` on synthetic projects of N models against DuckDB alone running the same SQL.

For each N it prints the median wall time of
- `metrics build` (a subprocess, as a user runs it: start-up, render, build, publish, artifacts) after removing the
  warehouse, so every node builds; target/ is kept, as between a user's builds (dbt keeps its partial-parse file
  there too); "cold build" (one run) removes target/ as well,
- parse + render + DAG alone (in-process: load_project + compile_project + topological sort),
- the floor: DuckDB alone executing the very same compiled statements, in the same order, into a fresh file,
- `dbt build` on the very same project, when dbt with dbt-duckdb is available (/tmp/dbtvenv or on PATH),
then the ratios and Northstar's overhead per model over the floor. It also times `metrics --help`.

The generated project is a dbt project (dbt_project.yml + profiles.yml), so both tools build it unchanged:
orders and sessions seeds, staging views, then N models of joins, aggregations and windows.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))

from common import median_seconds, print_table  # noqa: E402

METRICS = REPO / ".venv" / "bin" / "metrics"
SIZES = (10, 100, 1000)
CUSTOMERS = 200
DAYS = 60

MODEL_KINDS = ("aggregate", "join", "window", "filter")


def _seed_rows(rng: random.Random) -> tuple[str, str]:
    orders = ["order_id,customer_id,ordered_at,amount,status"]
    for order_id in range(1, 4001):
        day = rng.randrange(DAYS)
        status = rng.choice(("completed", "completed", "completed", "returned"))
        ordered_at = f"2025-{1 + day // 30:02d}-{1 + day % 28:02d} 12:00:00"
        customer = rng.randrange(1, CUSTOMERS + 1)
        orders.append(f"{order_id},{customer},{ordered_at},{rng.uniform(5, 300):.2f},{status}")
    sessions = ["session_id,customer_id,started_at,pages,channel"]
    for session_id in range(1, 8001):
        day = rng.randrange(DAYS)
        channel = rng.choice(("email", "paid_search", "organic", "social"))
        sessions.append(
            f"{session_id},{rng.randrange(1, CUSTOMERS + 1)},2025-{1 + day // 30:02d}-{1 + day % 28:02d} 10:00:00,"
            f"{rng.randrange(1, 20)},{channel}"
        )
    return "\n".join(orders) + "\n", "\n".join(sessions) + "\n"


def _model_sql(kind: str, parents: list[str], index: int) -> str:
    """Every generated model has the columns customer_id, day, amount, sessions, so any can read any other."""
    a = parents[0]
    if kind == "aggregate":
        return (
            "select customer_id, date_trunc('week', day)::date as day,\n"
            "    sum(amount) as amount, sum(sessions) as sessions\n"
            f"from {{{{ ref('{a}') }}}}\ngroup by 1, 2\n"
        )
    if kind == "join":
        b = parents[1] if len(parents) > 1 else a
        return (
            "with other as (\n"
            "    select customer_id, day, sum(amount) as amount, sum(sessions) as sessions\n"
            f"    from {{{{ ref('{b}') }}}}\n    group by 1, 2\n)\n"
            "select l.customer_id, l.day,\n"
            "    l.amount + coalesce(o.amount, 0) * 0.5 as amount,\n"
            "    greatest(l.sessions, coalesce(o.sessions, 0)) as sessions\n"
            f"from {{{{ ref('{a}') }}}} as l\n"
            "left join other as o on o.customer_id = l.customer_id and o.day = l.day\n"
        )
    if kind == "window":
        return (
            "select customer_id, day,\n"
            "    sum(amount) over (partition by customer_id order by day rows between 6 preceding and current row)"
            " as amount,\n"
            "    row_number() over (partition by day order by sessions desc) as sessions\n"
            f"from {{{{ ref('{a}') }}}}\n"
        )
    return (
        "select customer_id, day, {{ scaled('amount') }} as amount, sessions\n"
        f"from {{{{ ref('{a}') }}}}\n"
        f"where amount >= {{{{ var('min_amount', 0) }}}} + {index % 3}\n"
    )


def generate_project(root: Path, n_models: int, seed: int = 7) -> Path:
    """Write a dbt-style project of ``n_models`` models (plus two staging views and a base model) under ``root``."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    files: dict[str, str] = {
        "dbt_project.yml": (
            "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\n"
            "vars:\n  min_amount: 1\n"
            "models:\n  bench:\n    +materialized: table\n    staging:\n      +materialized: view\n"
        ),
        "profiles.yml": (
            "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
            "      path: warehouse.duckdb\n      schema: main\n      threads: 2\n"
        ),
        "macros/scaled.sql": (
            "{% macro scaled(column) -%}\n    round({{ column }} * {{ var('scale', 1.0) }}, 2)\n{%- endmacro %}\n"
        ),
        "models/staging/stg_orders.sql": (
            "select order_id, customer_id, ordered_at::timestamp as ordered_at, amount, status\n"
            "from {{ ref('orders') }}\nwhere status = 'completed'\n"
        ),
        "models/staging/stg_sessions.sql": (
            "select session_id, customer_id, started_at::timestamp as started_at, pages, channel\n"
            "from {{ ref('sessions') }}\n"
        ),
        "models/base/customer_days.sql": (
            "with o as (\n"
            "    select customer_id, ordered_at::date as day, sum(amount) as amount\n"
            "    from {{ ref('stg_orders') }} group by 1, 2\n),\n"
            "s as (\n"
            "    select customer_id, started_at::date as day, count(*) as sessions\n"
            "    from {{ ref('stg_sessions') }} group by 1, 2\n)\n"
            "select coalesce(o.customer_id, s.customer_id) as customer_id, coalesce(o.day, s.day) as day,\n"
            "    coalesce(o.amount, 0) as amount, coalesce(s.sessions, 0) as sessions\n"
            "from o full outer join s on o.customer_id = s.customer_id and o.day = s.day\n"
        ),
    }
    orders, sessions = _seed_rows(rng)
    files["seeds/orders.csv"] = orders
    files["seeds/sessions.csv"] = sessions
    names = ["customer_days"]
    for index in range(n_models):
        name = f"m{index:04d}"
        # Read mostly recent models, so the DAG is both deep and wide.
        window = names[-20:]
        parents = rng.sample(window, k=min(len(window), 2))
        kind = MODEL_KINDS[index % len(MODEL_KINDS)]
        folder = f"layer{index // 100:02d}"
        files[f"models/{folder}/{name}.sql"] = _model_sql(kind, parents, index)
        names.append(name)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _clean(root: Path, cold: bool) -> None:
    """Remove the warehouse, so every node builds again; ``cold`` also removes target/ (parse and lineage caches)."""
    for path in root.glob("*warehouse.duckdb*"):
        path.unlink()
    if cold:
        shutil.rmtree(root / "target", ignore_errors=True)
        shutil.rmtree(root / "logs", ignore_errors=True)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def metrics_build(root: Path, cold: bool = False) -> None:
    _clean(root, cold)
    _run([str(METRICS), "build", "--quiet", "--project-dir", str(root)], root)


def parse_render_dag(root: Path) -> int:
    from northstar.project.loader import load_project
    from northstar.render.manifest import compile_project

    manifest = compile_project(load_project(root), env_vars={})
    return len(manifest.dag.sorted())


def compiled_statements(root: Path) -> list[str]:
    """The statements a build runs, in DAG order: seed loads, then CREATE VIEW/TABLE ... AS <compiled SQL>."""
    from northstar.engine.materialize import create_statement, seed_statement
    from northstar.nodes import ModelNode, SeedNode
    from northstar.project.loader import load_project
    from northstar.render.jinja import Relation
    from northstar.render.manifest import compile_project

    manifest = compile_project(load_project(root), env_vars={})
    schemas: dict[str, None] = {}
    statements = []
    for uid in manifest.dag.sorted():
        node = manifest.nodes[uid]
        if isinstance(node, SeedNode):
            schemas[node.relation.schema] = None
            statements.append(seed_statement(node.relation, str(node.abs_path), node.config.column_types, None))
        elif isinstance(node, ModelNode) and isinstance(node.relation, Relation):
            schemas[node.relation.schema] = None
            statements.append(create_statement(node.relation, node.sql, node.materialized))
    return [f'CREATE SCHEMA IF NOT EXISTS "{schema}"' for schema in schemas] + statements


def duckdb_floor(root: Path, statements: list[str]) -> None:
    import duckdb

    path = root / "floor.duckdb"
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)
    path.unlink(missing_ok=True)


def warehouse_contents(root: Path) -> dict[tuple[str, str, str], int]:
    """(schema, name, kind) -> row count of every relation in the built warehouse."""
    import duckdb

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        relations = connection.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_schema not like '%northstar%' and table_name not like '\\_%' escape '\\'"
        ).fetchall()
        return {
            (schema, name, kind): connection.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            for schema, name, kind in relations
        }


def find_dbt() -> str | None:
    candidate = Path("/tmp/dbtvenv/bin/dbt")
    if candidate.is_file():
        return str(candidate)
    return shutil.which("dbt")


def dbt_build(dbt: str, root: Path) -> None:
    _clean(root, cold=False)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    _run([dbt, "build", "--profiles-dir", str(root), "--project-dir", str(root), "--quiet"], root, env)


def help_seconds(repeat: int) -> float:
    return median_seconds(lambda: _run([str(METRICS), "--help"], REPO), repeat=repeat)


def main(quick: bool = False) -> None:
    sizes = (10, 100) if quick else SIZES
    dbt = find_dbt()
    rows = []
    same: dict[int, bool] = {}
    with tempfile.TemporaryDirectory(prefix="northstar-bench-") as tmp:
        for n in sizes:
            root = generate_project(Path(tmp) / f"n{n}", n)
            repeat = 1 if quick else (5 if n <= 100 else 3)
            warmup = 0 if quick else 1
            cold = median_seconds(lambda root=root: metrics_build(root, cold=True), repeat=1, warmup=0)
            build = median_seconds(lambda root=root: metrics_build(root), repeat=repeat, warmup=warmup)
            parse = median_seconds(lambda root=root: parse_render_dag(root), repeat=repeat, warmup=warmup)
            statements = compiled_statements(root)
            floor = median_seconds(
                lambda root=root, statements=statements: duckdb_floor(root, statements), repeat=repeat, warmup=warmup
            )
            dbt_time = None
            if dbt and not (quick and n > 10):
                metrics_build(root)
                ours = warehouse_contents(root)
                dbt_time = median_seconds(
                    lambda root=root: dbt_build(dbt, root), repeat=1 if n >= 1000 else repeat, warmup=0
                )
                same[n] = ours == warehouse_contents(root)
            rows.append(
                (
                    n,
                    cold,
                    build,
                    parse,
                    floor,
                    f"{build / floor:.1f}x",
                    f"{(build - floor) / n * 1000:.2f}",
                    dbt_time if dbt_time is not None else "-",
                    f"{dbt_time / build:.1f}x" if dbt_time is not None else "-",
                )
            )
    print_table(
        "Engine: median wall seconds (build = `metrics build` subprocess, threads: 2 as in the profile; "
        "floor = DuckDB alone, same SQL, same order, one connection)",
        [
            "models",
            "cold build s",
            "build s",
            "parse+render+DAG s",
            "DuckDB floor s",
            "build/floor",
            "overhead ms/model",
            "dbt build s",
            "dbt/build",
        ],
        rows,
    )
    print_table(
        "Start-up: median wall seconds",
        ["command", "seconds"],
        [("metrics --help", help_seconds(3 if quick else 10))],
    )
    if dbt is None:
        print("dbt not found (/tmp/dbtvenv/bin/dbt or PATH): dbt columns skipped.")
    for n, equal in same.items():
        print(
            f"N={n}: dbt and Northstar built {'the same' if equal else 'DIFFERENT'} relations with the same row counts."
        )
    print("Targets: overhead < 10 ms/model at N=100; parse+render+DAG < 1.5 s at N=1000; metrics --help < 0.3 s.")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
