"""dbt snapshots (tests/dbt_projects/snapshots): legacy blocks and YAML snapshots, timestamp and check strategies, the
three hard-delete modes, built several times with the seeds edited in between, and compared whole with the rows dbt
defines; with NORTHSTAR_TEST_DBT=1 also with what dbt-duckdb makes of the same runs, table by table.

Values dbt takes from the clock (now() for the check strategy and for hard deletes) are shown as NOW, and the
dbt_scd_id hashing them as HASH(NOW).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import timeless
from test_dbt_projects import DBT, copy_project

NOW, HASH_NOW = "NOW", "HASH(NOW)"


def _shown(value: Any, started: datetime.datetime) -> Any:
    """A timestamp as text (its date alone at midnight), NOW if taken from the clock during the test."""
    if not isinstance(value, datetime.datetime):
        return value
    if started <= value <= datetime.datetime.now() + datetime.timedelta(minutes=1):
        return NOW
    return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")


def _normalized(columns: list[str], row: tuple[Any, ...], started: datetime.datetime) -> tuple[Any, ...]:
    """A row with the values taken from the clock during the test replaced by NOW (and their hashes)."""
    values = [_shown(v, started) for v in row]
    if "dbt_updated_at" in columns and values[columns.index("dbt_updated_at")] == NOW:
        values[columns.index("dbt_scd_id")] = HASH_NOW
    return tuple(values)


def snapshot_tables(warehouse: Path, started: datetime.datetime) -> dict[str, list[tuple[Any, ...]]]:
    """Every snapshot table (and the model reading one): its column names first, then its rows, sorted."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_schema not like '%northstar%' "
            "and table_name not in ('customers', 'order_lines') order by 1, 2"
        ).fetchall()
        found = {}
        for schema, name in names:
            cursor = connection.execute(f'select * from "{schema}"."{name}"')
            columns = [d[0] for d in cursor.description]
            rows = sorted((_normalized(columns, row, started) for row in cursor.fetchall()), key=repr)
            found[f"{schema}.{name}"] = [tuple(columns), *rows]
        return found


# The seeds of each run after the first: Ann changes (later updated_at), Bob is deleted, Cid's tier changes without
# a new updated_at, Dan arrives; then Bob comes back, Cid gets a new updated_at, Dan is deleted and both seeds gain
# a column.
RUNS: list[dict[str, str]] = [
    {},
    {
        "seeds/customers.csv": """
            id,name,tier,updated_at
            1,Ann,platinum,2024-02-01 00:00:00
            3,Cid,silver,2024-01-02 00:00:00
            4,Dan,gold,2024-02-02 00:00:00
        """,
        "seeds/order_lines.csv": """
            order_id,line,status,amount
            10,1,shipped,5.00
            10,2,placed,7.50
            12,1,placed,3.00
        """,
    },
    {
        "seeds/customers.csv": """
            id,name,tier,updated_at,email
            1,Ann,platinum,2024-02-01 00:00:00,ann@example.com
            2,Bob,silver,2024-03-01 00:00:00,
            3,Cid,silver,2024-03-02 00:00:00,cid@example.com
        """,
        "seeds/order_lines.csv": """
            order_id,line,status,amount,note
            10,1,shipped,5.00,
            10,2,placed,7.50,gift
            12,1,placed,3.00,
        """,
    },
    {},  # nothing changed: nothing is recorded
]


def _build_runs(root: Path, build: Any) -> list[dict[str, list[tuple[Any, ...]]]]:
    """Build the project once per entry of RUNS, writing its seeds first; the snapshot tables after each."""
    started = datetime.datetime.now() - datetime.timedelta(minutes=1)
    seen = []
    for files in RUNS:
        for relative, text in files.items():
            (root / relative).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        build(root)
        seen.append(snapshot_tables(root / "warehouse.duckdb", started))
    return seen


@pytest.fixture
def northstar_runs(tmp_path, monkeypatch, run_cli):
    root = copy_project("snapshots", tmp_path / "northstar")
    monkeypatch.chdir(root)
    outputs = []

    def build(project: Path) -> None:
        result = run_cli(project, "build")
        outputs.append(timeless(result.output))
        assert result.exit_code == 0, result.output

    return _build_runs(root, build), outputs


def test_snapshot_runs(northstar_runs):
    runs, outputs = northstar_runs
    for number, (seen, expected) in enumerate(zip(runs, EXPECTED, strict=True)):
        assert seen == expected, f"run {number + 1}"


@pytest.mark.skipif(DBT is None, reason="set NORTHSTAR_TEST_DBT=1 (or =path/to/dbt) to compare with dbt")
def test_snapshot_runs_match_dbt(northstar_runs, tmp_path):
    root = copy_project("snapshots", tmp_path / "dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}

    def build(project: Path) -> None:
        command = [str(DBT), "build", "--profiles-dir", str(project), "--project-dir", str(project)]
        completed = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env)
        assert completed.returncode == 0, completed.stdout + completed.stderr

    theirs = _build_runs(root, build)
    ours, _ = northstar_runs
    for number, (mine, dbts) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == dbts, f"run {number + 1}"


# Each run's tables, as dbt defines them (the comparison with dbt-duckdb checks the same runs).
FIRST_RUN = {
    "main.current_customers": [
        ("id", "name", "tier"),
        (1, "Ann", "gold"),
        (2, "Bob", "silver"),
        (3, "Cid", "bronze"),
    ],
    "main.order_lines_history": [
        ("order_id", "line", "status", "amount", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (10, 1, "placed", 5.0, "HASH(NOW)", "NOW", "NOW", None),
        (10, 2, "placed", 7.5, "HASH(NOW)", "NOW", "NOW", None),
        (11, 1, "shipped", 12.0, "HASH(NOW)", "NOW", "NOW", None),
    ],
    "main_history.customers_deleted": [
        ("id", "name", "tier", "updated_at", "dbt_scd_id", "dbt_updated_at", "valid_from", "valid_to", "is_deleted"),
        (
            1,
            "Ann",
            "gold",
            "2024-01-01",
            "8bd6037542377309505ab720e545f24e",
            "2024-01-01",
            "2024-01-01",
            "9999-12-31",
            "False",
        ),
        (
            2,
            "Bob",
            "silver",
            "2024-01-01",
            "f8e4dcba7004839b9c5b44a77923cd0a",
            "2024-01-01",
            "2024-01-01",
            "9999-12-31",
            "False",
        ),
        (
            3,
            "Cid",
            "bronze",
            "2024-01-02",
            "6320007932efdc38ff3c952b7712bce2",
            "2024-01-02",
            "2024-01-02",
            "9999-12-31",
            "False",
        ),
    ],
    "snapshots.customer_tiers": [
        ("id", "name", "tier", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (1, "Ann", "gold", "HASH(NOW)", "NOW", "NOW", None),
        (2, "Bob", "silver", "HASH(NOW)", "NOW", "NOW", None),
        (3, "Cid", "bronze", "HASH(NOW)", "NOW", "NOW", None),
    ],
    "snapshots.customers_history": [
        ("id", "name", "tier", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (1, "Ann", "gold", "2024-01-01", "8bd6037542377309505ab720e545f24e", "2024-01-01", "2024-01-01", None),
        (2, "Bob", "silver", "2024-01-01", "f8e4dcba7004839b9c5b44a77923cd0a", "2024-01-01", "2024-01-01", None),
        (3, "Cid", "bronze", "2024-01-02", "6320007932efdc38ff3c952b7712bce2", "2024-01-02", "2024-01-02", None),
    ],
}

SECOND_RUN = {
    "main.current_customers": [
        ("id", "name", "tier"),
        (1, "Ann", "platinum"),
        (3, "Cid", "bronze"),
        (4, "Dan", "gold"),
    ],
    "main.order_lines_history": [
        ("order_id", "line", "status", "amount", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (10, 1, "placed", 5.0, "HASH(NOW)", "NOW", "NOW", "NOW"),
        (10, 1, "shipped", 5.0, "HASH(NOW)", "NOW", "NOW", None),
        (10, 2, "placed", 7.5, "HASH(NOW)", "NOW", "NOW", None),
        (11, 1, "shipped", 12.0, "HASH(NOW)", "NOW", "NOW", "NOW"),
        (12, 1, "placed", 3.0, "HASH(NOW)", "NOW", "NOW", None),
    ],
    "main_history.customers_deleted": [
        ("id", "name", "tier", "updated_at", "dbt_scd_id", "dbt_updated_at", "valid_from", "valid_to", "is_deleted"),
        (
            1,
            "Ann",
            "gold",
            "2024-01-01",
            "8bd6037542377309505ab720e545f24e",
            "2024-01-01",
            "2024-01-01",
            "2024-02-01",
            "False",
        ),
        (
            1,
            "Ann",
            "platinum",
            "2024-02-01",
            "2e82cee106c704e5a20fc8fbc5618f48",
            "2024-02-01",
            "2024-02-01",
            "9999-12-31",
            "False",
        ),
        (2, "Bob", "silver", "2024-01-01", "HASH(NOW)", "NOW", "NOW", "9999-12-31", "True"),
        (
            2,
            "Bob",
            "silver",
            "2024-01-01",
            "f8e4dcba7004839b9c5b44a77923cd0a",
            "2024-01-01",
            "2024-01-01",
            "NOW",
            "False",
        ),
        (
            3,
            "Cid",
            "bronze",
            "2024-01-02",
            "6320007932efdc38ff3c952b7712bce2",
            "2024-01-02",
            "2024-01-02",
            "9999-12-31",
            "False",
        ),
        (
            4,
            "Dan",
            "gold",
            "2024-02-02",
            "e01a1d6db7a3dbb322aa158c3bb381e0",
            "2024-02-02",
            "2024-02-02",
            "9999-12-31",
            "False",
        ),
    ],
    "snapshots.customer_tiers": [
        ("id", "name", "tier", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (1, "Ann", "gold", "HASH(NOW)", "NOW", "NOW", "NOW"),
        (1, "Ann", "platinum", "HASH(NOW)", "NOW", "NOW", None),
        (2, "Bob", "silver", "HASH(NOW)", "NOW", "NOW", None),
        (3, "Cid", "bronze", "HASH(NOW)", "NOW", "NOW", "NOW"),
        (3, "Cid", "silver", "HASH(NOW)", "NOW", "NOW", None),
        (4, "Dan", "gold", "HASH(NOW)", "NOW", "NOW", None),
    ],
    "snapshots.customers_history": [
        ("id", "name", "tier", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (1, "Ann", "gold", "2024-01-01", "8bd6037542377309505ab720e545f24e", "2024-01-01", "2024-01-01", "2024-02-01"),
        (1, "Ann", "platinum", "2024-02-01", "2e82cee106c704e5a20fc8fbc5618f48", "2024-02-01", "2024-02-01", None),
        (2, "Bob", "silver", "2024-01-01", "f8e4dcba7004839b9c5b44a77923cd0a", "2024-01-01", "2024-01-01", "NOW"),
        (3, "Cid", "bronze", "2024-01-02", "6320007932efdc38ff3c952b7712bce2", "2024-01-02", "2024-01-02", None),
        (4, "Dan", "gold", "2024-02-02", "e01a1d6db7a3dbb322aa158c3bb381e0", "2024-02-02", "2024-02-02", None),
    ],
}

THIRD_RUN = {
    "main.current_customers": [
        ("id", "name", "tier"),
        (1, "Ann", "platinum"),
        (2, "Bob", "silver"),
        (3, "Cid", "silver"),
    ],
    "main.order_lines_history": [
        (
            "order_id",
            "line",
            "status",
            "amount",
            "dbt_scd_id",
            "dbt_updated_at",
            "dbt_valid_from",
            "dbt_valid_to",
            "note",
        ),
        (10, 1, "placed", 5.0, "HASH(NOW)", "NOW", "NOW", "NOW", None),
        (10, 1, "shipped", 5.0, "HASH(NOW)", "NOW", "NOW", "NOW", None),
        (10, 1, "shipped", 5.0, "HASH(NOW)", "NOW", "NOW", None, None),
        (10, 2, "placed", 7.5, "HASH(NOW)", "NOW", "NOW", "NOW", None),
        (10, 2, "placed", 7.5, "HASH(NOW)", "NOW", "NOW", None, "gift"),
        (11, 1, "shipped", 12.0, "HASH(NOW)", "NOW", "NOW", "NOW", None),
        (12, 1, "placed", 3.0, "HASH(NOW)", "NOW", "NOW", "NOW", None),
        (12, 1, "placed", 3.0, "HASH(NOW)", "NOW", "NOW", None, None),
    ],
    "main_history.customers_deleted": [
        (
            "id",
            "name",
            "tier",
            "updated_at",
            "dbt_scd_id",
            "dbt_updated_at",
            "valid_from",
            "valid_to",
            "is_deleted",
            "email",
        ),
        (
            1,
            "Ann",
            "gold",
            "2024-01-01",
            "8bd6037542377309505ab720e545f24e",
            "2024-01-01",
            "2024-01-01",
            "2024-02-01",
            "False",
            None,
        ),
        (
            1,
            "Ann",
            "platinum",
            "2024-02-01",
            "2e82cee106c704e5a20fc8fbc5618f48",
            "2024-02-01",
            "2024-02-01",
            "9999-12-31",
            "False",
            None,
        ),
        (2, "Bob", "silver", "2024-01-01", "HASH(NOW)", "NOW", "NOW", "2024-03-01", "True", None),
        (
            2,
            "Bob",
            "silver",
            "2024-01-01",
            "f8e4dcba7004839b9c5b44a77923cd0a",
            "2024-01-01",
            "2024-01-01",
            "NOW",
            "False",
            None,
        ),
        (
            2,
            "Bob",
            "silver",
            "2024-03-01",
            "1f96aee791fde0d8444856be50e489a2",
            "2024-03-01",
            "2024-03-01",
            "9999-12-31",
            "False",
            None,
        ),
        (
            3,
            "Cid",
            "bronze",
            "2024-01-02",
            "6320007932efdc38ff3c952b7712bce2",
            "2024-01-02",
            "2024-01-02",
            "2024-03-02",
            "False",
            None,
        ),
        (
            3,
            "Cid",
            "silver",
            "2024-03-02",
            "c373f5c945b14c2441980eefc5dba7f6",
            "2024-03-02",
            "2024-03-02",
            "9999-12-31",
            "False",
            "cid@example.com",
        ),
        (4, "Dan", "gold", "2024-02-02", "HASH(NOW)", "NOW", "NOW", "9999-12-31", "True", None),
        (
            4,
            "Dan",
            "gold",
            "2024-02-02",
            "e01a1d6db7a3dbb322aa158c3bb381e0",
            "2024-02-02",
            "2024-02-02",
            "NOW",
            "False",
            None,
        ),
    ],
    "snapshots.customer_tiers": [
        ("id", "name", "tier", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"),
        (1, "Ann", "gold", "HASH(NOW)", "NOW", "NOW", "NOW"),
        (1, "Ann", "platinum", "HASH(NOW)", "NOW", "NOW", None),
        (2, "Bob", "silver", "HASH(NOW)", "NOW", "NOW", None),
        (3, "Cid", "bronze", "HASH(NOW)", "NOW", "NOW", "NOW"),
        (3, "Cid", "silver", "HASH(NOW)", "NOW", "NOW", None),
        (4, "Dan", "gold", "HASH(NOW)", "NOW", "NOW", None),
    ],
    "snapshots.customers_history": [
        ("id", "name", "tier", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "email"),
        (
            1,
            "Ann",
            "gold",
            "2024-01-01",
            "8bd6037542377309505ab720e545f24e",
            "2024-01-01",
            "2024-01-01",
            "2024-02-01",
            None,
        ),
        (
            1,
            "Ann",
            "platinum",
            "2024-02-01",
            "2e82cee106c704e5a20fc8fbc5618f48",
            "2024-02-01",
            "2024-02-01",
            None,
            None,
        ),
        (2, "Bob", "silver", "2024-01-01", "f8e4dcba7004839b9c5b44a77923cd0a", "2024-01-01", "2024-01-01", "NOW", None),
        (2, "Bob", "silver", "2024-03-01", "1f96aee791fde0d8444856be50e489a2", "2024-03-01", "2024-03-01", None, None),
        (
            3,
            "Cid",
            "bronze",
            "2024-01-02",
            "6320007932efdc38ff3c952b7712bce2",
            "2024-01-02",
            "2024-01-02",
            "2024-03-02",
            None,
        ),
        (
            3,
            "Cid",
            "silver",
            "2024-03-02",
            "c373f5c945b14c2441980eefc5dba7f6",
            "2024-03-02",
            "2024-03-02",
            None,
            "cid@example.com",
        ),
        (4, "Dan", "gold", "2024-02-02", "e01a1d6db7a3dbb322aa158c3bb381e0", "2024-02-02", "2024-02-02", "NOW", None),
    ],
}
# The fourth run changes nothing: Northstar keeps the snapshots (same inputs), dbt finds no change.
EXPECTED = [FIRST_RUN, SECOND_RUN, THIRD_RUN, THIRD_RUN]


def test_the_snapshot_command_runs_the_selected_snapshots_only(tmp_path, monkeypatch, run_cli):
    root = copy_project("snapshots", tmp_path / "project")
    monkeypatch.chdir(root)
    assert run_cli(root, "seed").exit_code == 0
    result = run_cli(root, "snapshot", "-s", "customers_history")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 1 snapshot.\n\n"
        "  1 of 1 OK    created snapshot snapshots.customers_history ... [OK 3 rows in T]\n\n"
        "Finished 1 node in T: 1 OK. Published warehouse.duckdb.\n"
    )
    listed = run_cli(root, "ls", "--resource-type", "snapshot", "--output", "path")
    assert listed.output.splitlines() == [
        "snapshots/legacy/tiers.sql",
        "snapshots/snapshots.yml",
        "snapshots/legacy/customers_history.sql",
        "snapshots/snapshots.yml",
    ]
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    entry = manifest["nodes"]["snapshot.shop.customers_deleted"]
    assert (entry["resource_type"], entry["relation_name"], entry["depends_on"]["nodes"]) == (
        "snapshot",
        '"warehouse"."main_history"."customers_deleted"',
        ["seed.shop.customers"],
    )
    assert manifest["child_map"]["snapshot.shop.customers_history"] == [
        "model.shop.current_customers",
        "test.shop.not_null_customers_history_dbt_scd_id",
        "test.shop.unique_customers_history_dbt_scd_id",
    ]


def test_a_failing_snapshot_publishes_nothing(tmp_path, monkeypatch, run_cli):
    root = copy_project("snapshots", tmp_path / "project")
    monkeypatch.chdir(root)
    tiers = root / "snapshots/legacy/tiers.sql"
    tiers.write_text(tiers.read_text().replace("select id, name,", "select id, nme,"))
    result = run_cli(root, "build")
    assert result.exit_code == 1
    assert result.output.split("\n\n")[-1] == (
        "ERROR snapshots/legacy/tiers.sql:3: Snapshot 'customer_tiers' failed in DuckDB: Binder Error: Referenced "
        'column "nme" not found in FROM clause!\n'
        '  Candidate bindings: "name", "tier"\n'
        "  LINE 3: select id, nme, tier from main.customers\n"
        "                     ^^^\n"
    )
    assert not (root / "warehouse.duckdb").exists()


CONFIG_ERRORS = {
    "no unique_key": (
        ("snapshots/legacy/tiers.sql", "unique_key='id', ", ""),
        "snapshots/legacy/tiers.sql:1: Snapshot 'customer_tiers' needs unique_key: the column (or list of columns) "
        "identifying a row, e.g. unique_key='id' or unique_key=['order_id', 'line'].",
    ),
    "no strategy": (
        ("snapshots/legacy/tiers.sql", "strategy='check', ", ""),
        "snapshots/legacy/tiers.sql:1: Snapshot 'customer_tiers' needs a strategy: strategy='timestamp' with "
        "updated_at='column', or strategy='check' with check_cols=['column', ...] (or 'all').",
    ),
    "no updated_at": (
        ("snapshots/legacy/customers_history.sql", "updated_at='updated_at',", ""),
        "snapshots/legacy/customers_history.sql:2: Snapshot 'customers_history' uses strategy='timestamp', which "
        "needs updated_at: the column saying when a row last changed, e.g. updated_at='updated_at'.",
    ),
    "no check_cols": (
        ("snapshots/snapshots.yml", "      check_cols: all\n", ""),
        "snapshots/snapshots.yml:20: Snapshot 'order_lines_history' uses strategy='check', which needs check_cols: "
        "a list of columns to compare, e.g. check_cols=['status', 'amount'], or check_cols='all' (got None).",
    ),
    "unknown key in config()": (
        ("snapshots/legacy/tiers.sql", "check_cols=['tier']", "check_cols=['tier'], colour='red'"),
        "snapshots/legacy/tiers.sql:2: Snapshot 'customer_tiers' has config 'colour', which snapshots do not take.",
    ),
    "unknown key in YAML": (
        ("snapshots/snapshots.yml", "check_cols: all", "check_col: all"),
        "snapshots/snapshots.yml:25: Snapshot 'order_lines_history' has config 'check_col', which snapshots do not "
        "take. Did you mean 'check_cols'?",
    ),
    "unknown key in dbt_project.yml": (
        ("dbt_project.yml", "+target_schema: snapshots", "+target_schema: snapshots\n      +colour: red"),
        "dbt_project.yml:12: Snapshot 'customers_history' has config 'colour', which snapshots do not take.",
    ),
    "unknown strategy": (
        ("snapshots/snapshots.yml", "strategy: timestamp", "strategy: timestmp"),
        "snapshots/snapshots.yml:7: Snapshot 'customers_deleted' has strategy='timestmp'. Did you mean "
        "'timestamp'? Use one of: timestamp, check.",
    ),
    "unknown hard_deletes": (
        ("snapshots/snapshots.yml", "hard_deletes: new_record", "hard_deletes: forget"),
        "snapshots/snapshots.yml:7: Snapshot 'customers_deleted' has hard_deletes='forget'. Use one of: ignore, "
        "invalidate, new_record.",
    ),
    "unknown meta column": (
        ("snapshots/snapshots.yml", "dbt_is_deleted: is_deleted", "dbt_deleted: is_deleted"),
        "snapshots/snapshots.yml:7: Unknown key 'dbt_deleted' in snapshot_meta_column_names of Snapshot "
        "'customers_deleted'. Did you mean 'dbt_is_deleted'?",
    ),
    "a relation that is no ref": (
        ("snapshots/snapshots.yml", "relation: ref('customers')", "relation: customers"),
        "snapshots/snapshots.yml:8: Snapshot 'customers_deleted' has relation: 'customers'; write ref('model') or "
        "source('source', 'table').",
    ),
    "an unclosed block": (
        ("snapshots/legacy/tiers.sql", "{% endsnapshot %}", ""),
        "snapshots/legacy/tiers.sql:1: A {% snapshot name %} block is not closed, or has no name.",
    ),
}


@pytest.mark.parametrize("case", CONFIG_ERRORS, ids=list(CONFIG_ERRORS))
def test_snapshot_config_mistakes_name_the_file_and_line(case, tmp_path, monkeypatch, run_cli):
    (relative, old, new), message = CONFIG_ERRORS[case]
    root = copy_project("snapshots", tmp_path / "project")
    monkeypatch.chdir(root)
    path = root / relative
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    result = run_cli(root, "build")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: " + message), result.output
    assert "Traceback" not in result.output
    assert not (root / "warehouse.duckdb").exists()


def test_a_spark_target_refuses_snapshots_by_name(tmp_path, monkeypatch, run_cli):
    profiles = (
        "compat:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: warehouse.duckdb}\n"
        f"    spark: {{type: spark, method: session, schema: main, location_root: {tmp_path / 'lake'}}}\n"
    )
    root = copy_project("snapshots", tmp_path / "project", {"profiles.yml": profiles})
    monkeypatch.chdir(root)
    result = run_cli(root, "build", "--target", "spark")
    assert result.exit_code == 2
    assert result.output == (
        "Error: snapshots/legacy/tiers.sql:1: Snapshot 'customer_tiers' cannot run on target 'spark': the Spark "
        "engine does not build snapshots yet. Run `metrics snapshot` on a DuckDB target, or leave it out with "
        "--exclude customer_tiers.\n"
    )


@pytest.mark.parametrize(
    ("relative", "text", "where"),
    [
        (
            "dbt_packages/my_utils/snapshots/kept.sql",
            "{% snapshot kept %}{{ config(unique_key='id', strategy='check', check_cols='all') }}"
            "select 1 as id{% endsnapshot %}\n",
            "dbt_packages/my_utils/snapshots/kept.sql:1",
        ),
        (
            "dbt_packages/my_utils/models/kept.yml",
            "snapshots:\n  - name: kept\n    relation: ref('base')\n"
            "    config: {unique_key: id, strategy: check, check_cols: all}\n",
            "dbt_packages/my_utils/models/kept.yml:2",
        ),
    ],
)
def test_a_packages_snapshots_are_refused_by_name(relative, text, where, tmp_path, monkeypatch, run_cli):
    root = copy_project("packages", tmp_path / "project")
    monkeypatch.chdir(root)
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_text(text)
    result = run_cli(root, "build")
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: {where}: Snapshot 'kept' belongs to the installed package 'my_utils'; Northstar does not build a "
        "package's snapshots yet. Copy it into the root project's snapshots/, or remove the package.\n"
    )
    assert not (root / "warehouse.duckdb").exists()
