"""Introspection benchmark: what rendering models against the warehouse costs.

Two dbt projects of N pivot models over one seed, identical but for how each pivot learns the values it spreads
into columns: "introspecting" asks the warehouse (`run_query` for the distinct values, `get_columns_in_relation`
for the columns), so each model renders during the build; "literal" has the same values written in, so it renders
up front. Both build the same tables. Prints the median `metrics build` wall time of each (a subprocess, the
warehouse removed before each run, target/ kept), their ratio, the cost per introspecting call, and `dbt build` on
the introspecting project when dbt with dbt-duckdb is found (NORTHSTAR_TEST_DBT=path, /tmp/dbtvenv_dbt, PATH).

    .venv/bin/python bench/run.py    (all benchmarks)    or    .venv/bin/python bench/bench_introspection.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from common import median_seconds, print_table  # noqa: E402

METRICS = REPO / ".venv" / "bin" / "metrics"
METHODS = ("card", "cash", "voucher", "transfer")
PROFILE = "bench:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: warehouse.duckdb, threads: 2}\n"
PROJECT = "name: bench\nconfig-version: 2\nprofile: bench\nmodels:\n  bench:\n    +materialized: table\n"
ASKING = """{% set methods = [] %}{% set columns = [] %}
{% if execute %}
  {% set methods = run_query("select distinct method from " ~ ref('payments') ~ " order by 1").columns[0].values() %}
  {% set columns = adapter.get_columns_in_relation(ref('payments')) | map(attribute='name') | list %}
{% endif %}
select customer_id{% if 'amount' in columns %},
  {% for m in methods %}sum(case when method = '{{ m }}' then amount else 0 end) as paid_{{ m }}_INDEX
  {{- ',' if not loop.last }}
  {% endfor %}{% endif %}
from {{ ref('payments') }} group by 1
"""
LITERAL = """select customer_id,
  {% for m in ['card', 'cash', 'transfer', 'voucher'] %}
  sum(case when method = '{{ m }}' then amount else 0 end) as paid_{{ m }}_INDEX{{ ',' if not loop.last }}
  {% endfor %}
from {{ ref('payments') }} group by 1
"""


def write_project(root: Path, models: int, template: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILE)
    rows = [f"{i},{i % 50},{METHODS[i % 4]},{i % 17}.5" for i in range(1, 2001)]
    (root / "seeds" / "payments.csv").write_text("payment_id,customer_id,method,amount\n" + "\n".join(rows) + "\n")
    for index in range(models):
        (root / "models" / f"pivot_{index}.sql").write_text(template.replace("INDEX", str(index)))
    return root


def build(root: Path, command: list[str]) -> None:
    (root / "warehouse.duckdb").unlink(missing_ok=True)
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {root}:\n{done.stdout}{done.stderr}")


def find_dbt() -> str | None:
    wanted = os.environ.get("NORTHSTAR_TEST_DBT")
    for candidate in (wanted, "/tmp/dbtvenv_dbt/bin/dbt", "/tmp/dbtvenv/bin/dbt", shutil.which("dbt")):
        if candidate and candidate != "1" and Path(candidate).is_file():
            return candidate
    return None


def main(quick: bool = False) -> None:
    models = 20 if quick else 60
    repeat = 3 if quick else 5
    with tempfile.TemporaryDirectory() as folder:
        asking = write_project(Path(folder) / "asking", models, ASKING)
        literal = write_project(Path(folder) / "literal", models, LITERAL)
        ours = [str(METRICS), "build", "-q"]
        t_asking = median_seconds(lambda: build(asking, ours), repeat)
        t_literal = median_seconds(lambda: build(literal, ours), repeat)
        calls = 2 * models
        rows: list[list[object]] = [
            [f"metrics build, {models} pivots asking the warehouse ({calls} calls)", t_asking, t_asking / t_literal],
            [f"metrics build, {models} pivots with the values written in", t_literal, 1.0],
            ["cost per introspecting call (ms)", (t_asking - t_literal) / calls * 1000, ""],
        ]
        dbt = find_dbt()
        if dbt is not None:
            command = [dbt, "build", "--profiles-dir", ".", "--project-dir", "."]
            t_dbt = median_seconds(lambda: build(asking, command), max(1, repeat // 2), warmup=0)
            rows.append([f"dbt build, the {models} pivots asking the warehouse", t_dbt, t_dbt / t_literal])
        print_table("Introspection (median seconds; ratio vs the literal project)", ["", "seconds", "ratio"], rows)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
