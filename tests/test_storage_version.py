"""The published warehouse is written in an old DuckDB storage format (``storage_version:``), so readers on DuckDB
1.1 and newer open it: the oldest supported DuckDB in a venv of its own, and the DuckDB CLI from PyPI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import MINIMAL_PROJECT, query
from reader_envs import reader_env, run_python

from northstar.warehouse.storage import file_format

OLDEST_DUCKDB = "duckdb==1.1.3"
DUCKDB_CLI = "duckdb-cli==1.5.6"

# Every relation of a warehouse with, per column, the count of values, min, max and (exact types) the sum, computed
# by the reading DuckDB itself: fast on 400k rows, and a value read or computed differently shows.
DUMP = r"""
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
connection.execute("set enable_progress_bar = false")
columns = connection.execute(
    "select table_schema, table_name, column_name, data_type from information_schema.columns "
    "order by table_schema, table_name, ordinal_position"
).fetchall()
tables = "select table_schema, table_name, table_type from information_schema.tables"
kinds = {(s, n): k for s, n, k in connection.execute(tables).fetchall()}
by_relation = {}
for schema, name, column, kind in columns:
    by_relation.setdefault((schema, name), []).append((column, kind))
out = {}
for (schema, name), cols in sorted(by_relation.items()):
    parts = ["count(*)"]
    for column, kind in cols:
        quoted = '"' + column.replace('"', '""') + '"'
        parts.append(f"count({quoted})")
        if any(t in kind for t in ("[]", "STRUCT", "MAP", "UNION")):
            continue
        parts += [f"min({quoted})", f"max({quoted})"]
        if kind.startswith(("DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT")):
            parts.append(f"sum({quoted})")
    row = connection.execute(f'select {", ".join(parts)} from "{schema}"."{name}"').fetchone()
    out[f"{schema}.{name}"] = [kinds[(schema, name)], repr(row)]
comments = "select schema_name, table_name, comment from duckdb_tables() where comment is not null order by all"
found = {"version": duckdb.__version__, "relations": out, "comments": connection.execute(comments).fetchall()}
print(json.dumps(found))
"""


def dump(python: str, warehouse: Path) -> dict:
    done = subprocess.run([python, "-c", DUMP, str(warehouse)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def project_yml(line: str) -> str:
    """The minimal project's project.yml with one more setting."""
    return textwrap.dedent(MINIMAL_PROJECT["project.yml"]) + line + "\n"


def storage_format(warehouse: Path) -> str | None:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return file_format(connection)


@pytest.fixture(scope="module")
def readers() -> Path:
    return reader_env(OLDEST_DUCKDB, DUCKDB_CLI)


def test_the_example_warehouse_reads_the_same_in_duckdb_1_1(example_warehouse, readers):
    warehouse = example_warehouse / "warehouse.duckdb"
    assert storage_format(warehouse) == "v1.0.0+"  # the format DuckDB 1.0 and 1.1 write
    old = dump(str(readers / "bin" / "python"), warehouse)
    new = dump(sys.executable, warehouse)
    assert old["version"] == "1.1.3"
    assert len(old["relations"]) == len(new["relations"]) > 60
    # Tables hold the values the build computed; DuckDB 1.1 reads them all alike. A view is computed by the reader's
    # DuckDB: 1.1 truncates a decimal cast to fewer digits where 1.2 and newer round, so the one view casting
    # computed money (cast(spend * (1 + vat) * (1 + fee) as decimal(14, 2))) differs by cents, as the README says.
    differing = {name for name in new["relations"] if old["relations"][name] != new["relations"][name]}
    assert differing == {"intermediate.int_ad_spend_gross"}
    assert "Decimal('152639.87')" in old["relations"]["intermediate.int_ad_spend_gross"][1]
    assert "Decimal('152649.99')" in new["relations"]["intermediate.int_ad_spend_gross"][1]
    assert old["relations"]["marts.fct_ad_spend"] == new["relations"]["marts.fct_ad_spend"]
    assert old["comments"] == new["comments"] and len(new["comments"]) > 10


def test_the_duckdb_cli_opens_the_warehouse_read_only_as_the_readme_says(example_warehouse, readers):
    warehouse = example_warehouse / "warehouse.duckdb"
    sql = "select version() as version; select * from metrics.north_star order by 1 limit 3;"
    done = subprocess.run(
        [str(readers / "bin" / "duckdb"), "-readonly", "-csv", str(warehouse), "-c", sql],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    first = query(warehouse, "select * from metrics.north_star order by 1 limit 3")
    assert done.stdout.splitlines() == [
        "version",
        "v1.5.6",
        "metric_time__month,north_star",
        *(f"{month},{value}" for month, value in first),
    ]


def test_a_warehouse_in_another_format_is_converted_on_the_next_build(make_project, run_cli):
    """An existing file in DuckDB 2's format (as earlier Northstar releases published it) with another tool's table
    and comments: the next build writes it in the configured format and keeps everything."""
    root = make_project(
        {
            "project.yml": project_yml("storage_version: latest"),
            "models/marts/schema.yml": """
                models:
                  - name: customers
                    description: One row per customer.
                    columns:
                      - name: revenue
                        description: Sum of the amounts.
            """,
        }
    )
    assert run_cli(root, "build", "-q").exit_code == 0
    warehouse = root / "warehouse.duckdb"
    assert storage_format(warehouse) == "v2.0.0+"
    with duckdb.connect(str(warehouse)) as connection:  # an EL tool's table, with a comment of its own
        connection.execute("create schema el; create table el.events as select 1 as id, 'x' as payload")
        connection.execute("comment on table el.events is 'loaded by another tool'")
    (root / "project.yml").write_text((root / "project.yml").read_text().replace("latest", "v1.1.0"))

    result = run_cli(root, "build")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "Converting warehouse.duckdb from DuckDB storage format v2.0.0+ to v1.1.0 (readable by DuckDB 1.1 and newer); "
        "this build rewrites the whole file once."
    )
    assert storage_format(warehouse) == "v1.0.0+"
    assert query(warehouse, "select * from el.events") == [(1, "x")]
    assert query(
        warehouse, "select schema_name, table_name, comment from duckdb_tables() where comment is not null order by 1"
    ) == [("el", "events", "loaded by another tool"), ("marts", "customers", "One row per customer.")]
    assert query(warehouse, "select * from marts.customers order by 1") == [(1, 2, 30.5), (2, 1, 7.25)]
    assert sorted(p.name for p in root.iterdir() if "warehouse" in p.name) == [
        "warehouse.duckdb",
        "warehouse.duckdb.lock",
    ]
    # Converted once: the next build finds the file in its format and changes nothing.
    again = run_cli(root, "build")
    assert "Converting" not in again.output and "Nothing changed" in again.output


def test_a_full_refresh_of_everything_writes_a_file_in_another_format_anew(make_project, run_cli):
    """A full refresh that makes again all the file holds starts from a new file, made in the configured format:
    nothing to convert, so no note, and the same warehouse as a conversion gives."""
    root = make_project({"project.yml": project_yml("storage_version: latest")})
    assert run_cli(root, "build", "-q").exit_code == 0
    warehouse = root / "warehouse.duckdb"
    assert storage_format(warehouse) == "v2.0.0+"
    (root / "project.yml").write_text((root / "project.yml").read_text().replace("latest", "v1.1.0"))

    result = run_cli(root, "build", "--full-refresh")

    assert result.exit_code == 0, result.output
    assert "Converting" not in result.output
    assert storage_format(warehouse) == "v1.0.0+"
    assert query(warehouse, "select * from marts.customers order by 1") == [(1, 2, 30.5), (2, 1, 7.25)]
    again = run_cli(root, "build")
    assert "Converting" not in again.output and "Nothing changed" in again.output


def test_a_failed_build_after_a_conversion_leaves_the_published_file_as_it_was(make_project, run_cli):
    root = make_project({"project.yml": project_yml("storage_version: latest")})
    assert run_cli(root, "build", "-q").exit_code == 0
    warehouse = root / "warehouse.duckdb"
    before = warehouse.read_bytes()
    (root / "project.yml").write_text((root / "project.yml").read_text().replace("latest", "v1.2.0"))
    (root / "models/marts/customers.sql").write_text("select nonsense from {{ ref('stg_orders') }}\n")

    result = run_cli(root, "build")

    assert result.exit_code == 1
    assert "Converting warehouse.duckdb from DuckDB storage format v2.0.0+ to v1.2.0" in result.output
    assert warehouse.read_bytes() == before and storage_format(warehouse) == "v2.0.0+"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "'1.1'",
            "storage_version must be a DuckDB release such as v1.1.0, or latest; got '1.1'. It is the oldest DuckDB "
            "that can read the warehouse (v1.1.0 to v{newest} here).",
        ),
        (
            "v1.0.0",
            "storage_version v1.0.0 is older than Northstar supports; use v1.1.0 or newer (v1.1.0 to v{newest} "
            "here). DuckDB 1.1.0 and every newer release read a v1.1.0 warehouse.",
        ),
        (
            "v9.0.0",
            "storage_version v9.0.0 is newer than the installed DuckDB (v{newest}), which cannot write that format. "
            "Use a release from v1.1.0 to v{newest} here, or upgrade duckdb.",
        ),
    ],
)
def test_an_invalid_storage_version_is_refused_by_name(make_project, run_cli, value, message):
    root = make_project({"project.yml": project_yml(f"storage_version: {value}")})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    newest = duckdb.__version__
    assert result.output == f"Error: project.yml:9: {message.format(newest=newest)}\n"
    assert not (root / "warehouse.duckdb").exists()


DBT_PROJECT = {
    "dbt_project.yml": "name: shop\nprofile: shop\n",
    "profiles.yml": """
        shop:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: shop.duckdb
              settings:
                storage_compatibility_version: {version}
    """,
    "models/customers.sql": "select 1 as customer_id\n",
}


def test_a_dbt_project_takes_the_format_from_its_target_settings(make_project, run_cli, monkeypatch):
    files = {**DBT_PROJECT, "profiles.yml": DBT_PROJECT["profiles.yml"].format(version="v1.2.0")}
    root = make_project(files, base={})
    monkeypatch.chdir(root)  # dbt-duckdb opens a relative path from the working folder
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert storage_format(root / "shop.duckdb") == "v1.2.0+"

    (root / "profiles.yml").write_text(DBT_PROJECT["profiles.yml"].format(version="v2").replace("        ", "", 1))
    refused = run_cli(root, "build")
    assert refused.exit_code == 2
    assert refused.output.startswith(f"Error: {root / 'profiles.yml'}:9: storage_version must be a DuckDB release")


def test_the_oldest_duckdb_reads_a_new_warehouse_of_every_column_type(make_project, run_cli, readers):
    """Types the models may produce (nested, decimal, time zones, enums via casts) survive the old format."""
    root = make_project(
        {
            "models/marts/kinds.sql": (
                "select [1, 2] as ints, {'a': 1, 'b': 'x'} as record, map {'k': 1} as lookup, "
                "12.345::decimal(18, 3) as money, timestamptz '2026-03-16 10:00:00+00' as at, "
                "uuid '00000000-0000-0000-0000-000000000001' as id, 170141183460469231731687303715884105727::hugeint "
                "as big, interval 3 day as span, 'x'::blob as bytes\n"
            )
        }
    )
    assert run_cli(root, "build", "-q").exit_code == 0
    out = run_python(
        readers,
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select * exclude (at), at::varchar from marts.kinds').fetchall()[0][1:4])",
        str(root / "warehouse.duckdb"),
    )
    assert out.strip() == ("({'a': 1, 'b': 'x'}, {'k': 1}, Decimal('12.345'))")
