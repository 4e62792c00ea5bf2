"""The dbt compatibility suite: each folder of tests/dbt_projects/ is a small dbt project exercising one dbt feature.

Northstar builds each and the resulting tables are compared whole. With NORTHSTAR_TEST_DBT=1 (or the path of a dbt
executable with dbt-duckdb) the same project is also built by dbt, and every relation is compared table by table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import timeless

PROJECTS = Path(__file__).resolve().parent / "dbt_projects"


def _dbt() -> str | None:
    wanted = os.environ.get("NORTHSTAR_TEST_DBT")
    if not wanted:
        return None
    if wanted != "1":
        return wanted
    found = next((p for p in (Path("/tmp/dbtvenv/bin/dbt"), shutil.which("dbt")) if p and Path(p).is_file()), None)
    return str(found) if found else None


DBT = _dbt()
with_dbt = pytest.mark.skipif(DBT is None, reason="set NORTHSTAR_TEST_DBT=1 (or =path/to/dbt) to compare with dbt")


def copy_project(name: str, into: Path, files: Mapping[str, str | None] | None = None) -> Path:
    """A copy of tests/dbt_projects/NAME with ``files`` written over it (None deletes a file)."""
    shutil.copytree(PROJECTS / name, into)
    for relative, text in (files or {}).items():
        path = into / relative
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return into


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every relation a build made (but Northstar's own bookkeeping), as 'schema.name' -> its rows, sorted."""
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') and table_schema not like '%northstar%' "
            "order by 1, 2"
        ).fetchall()
        return {
            f"{schema}.{name}": connection.execute(f'select * from "{schema}"."{name}" order by all').fetchall()
            for schema, name in names
        }


@pytest.fixture
def northstar(tmp_path, monkeypatch, run_cli):
    """``northstar(name, files, *args)``: build a copy of a suite project from its folder (as dbt-duckdb, a relative
    warehouse path is relative to the working folder) and return (exit code, output, tables)."""

    def run(name: str, files: Mapping[str, str | None] | None = None, *args: str) -> tuple[int, str, dict]:
        root = copy_project(name, tmp_path / "northstar", files)
        monkeypatch.chdir(root)
        result = run_cli(root, *(args or ("build",)))
        return result.exit_code, timeless(result.output), tables(root / "warehouse.duckdb")

    return run


def dbt(tmp_path: Path, name: str, files: Mapping[str, str | None] | None = None, *args: str) -> tuple[int, str, dict]:
    """The same project built by dbt-duckdb in its own copy."""
    assert DBT is not None
    root = copy_project(name, tmp_path / "dbt", files)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    completed = subprocess.run(
        [DBT, *(args or ("build",)), "--profiles-dir", str(root), "--project-dir", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    return completed.returncode, completed.stdout + completed.stderr, tables(root / "warehouse.duckdb")


def same_as_dbt(tmp_path: Path, name: str, files: Mapping[str, str | None] | None, ours: dict, *args: str) -> str:
    """Build with dbt and assert it made the same relations with the same rows; returns dbt's output."""
    code, output, theirs = dbt(tmp_path, name, files, *args)
    assert code == 0, output
    assert ours == theirs
    return output


# --- contracts ---------------------------------------------------------------------------------------------------

CONTRACT_TABLES = {
    "main.people": [(1, "Ann", 34), (2, "Bob", 27)],
    "main.people_keys": [(1, "Ann", 34), (2, "Bob", 27)],
    "main.people_typed": [(1, "Ann", 34), (2, "Bob", 27)],
}


def table_ddl(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select table_name, sql from duckdb_tables() order by 1").fetchall()


def test_an_enforced_contract_that_holds_builds_with_its_constraints(northstar, tmp_path):
    """Column constraints and model-level ones (primary_key, unique over two columns, check, custom) in the DDL,
    as dbt-duckdb writes it; the model-level constraints in manifest.json."""
    code, output, built = northstar("contract")
    assert code == 0, output
    assert "Warning" not in output
    assert built == CONTRACT_TABLES
    ddl = table_ddl(Path("warehouse.duckdb"))
    assert ddl[1:] == [
        (
            "people_keys",
            "CREATE TABLE people_keys(id INTEGER, \"name\" VARCHAR DEFAULT('unknown') NOT NULL, age INTEGER, "
            'PRIMARY KEY(id), UNIQUE("name", age), CHECK((age BETWEEN 0 AND 150)));',
        ),
        (
            "people_typed",
            'CREATE TABLE people_typed(id INTEGER PRIMARY KEY, "name" VARCHAR, age SMALLINT, CHECK((age > 0)));',
        ),
    ]
    manifest = json.loads(Path("target/manifest.json").read_text())
    assert manifest["nodes"]["model.contract.people_keys"]["constraints"] == [
        {"type": "primary_key", "columns": ["id"]},
        {"type": "unique", "columns": ["name", "age"], "name": "one_person_per_age"},
        {"type": "check", "expression": "age between 0 and 150"},
    ]
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    if DBT:
        same_as_dbt(tmp_path, "contract", None, built)
        assert table_ddl(tmp_path / "dbt" / "warehouse.duckdb")[1:] == ddl[1:]


@pytest.mark.parametrize(
    ("seed", "failure"),
    [
        ("1,Ann,34\n2,,27\n", "NOT NULL constraint failed: people_keys.\"name\""),
        ("1,Ann,34\n1,Bob,27\n", 'PRIMARY KEY or UNIQUE constraint violation: duplicate key "1"'),
        ("1,Ann,34\n2,Bob,-1\n", 'CHECK constraint failed on table "people_keys" with expression '
         "CHECK((age BETWEEN 0 AND 150))"),
    ],
)  # fmt: skip
def test_a_row_violating_a_constraint_fails_the_model_and_nothing_is_published(northstar, tmp_path, seed, failure):
    files = {"seeds/people.csv": "id,name,age\n" + seed, "models/people_typed.sql": None}
    files["models/schema.yml"] = (
        "version: 2\nmodels:\n  - name: people_keys"
        + ((PROJECTS / "contract/models/schema.yml").read_text().split("  - name: people_keys")[1])
    )
    code, output, built = northstar("contract", files)
    assert code == 1
    assert output.split("\n\n")[-1] == (
        f"ERROR models/people_keys.sql: Model 'people_keys' failed in DuckDB: Constraint Error: {failure}\n"
    )
    assert built == {}
    if DBT:
        assert dbt(tmp_path, "contract", files)[0] == 1


def test_an_incremental_model_with_a_contract_gets_its_constraints_on_the_first_build(northstar, run_cli):
    model = "{{ config(materialized='incremental', unique_key='id') }}\n"
    model += "select id::integer as id, name, age::integer as age from {{ ref('people') }}\n"
    code, output, built = northstar("contract", {"models/people_keys.sql": model})
    assert code == 0, output
    assert table_ddl(Path("warehouse.duckdb"))[1][1].startswith(
        "CREATE TABLE people_keys(id INTEGER, \"name\" VARCHAR DEFAULT('unknown') NOT NULL, age INTEGER, "
        "PRIMARY KEY(id)"
    )
    Path("seeds/people.csv").write_text("id,name,age\n2,Bob,28\n3,Cy,\n")  # an update and a new row
    again = run_cli(Path.cwd(), "build", "-q")
    assert again.exit_code == 0, again.output
    assert tables(Path("warehouse.duckdb"))["main.people_keys"] == [(1, "Ann", 34), (2, "Bob", 28), (3, "Cy", None)]


def test_constraints_that_are_not_applied_are_warnings(northstar, tmp_path):
    """dbt applies constraints only with an enforced contract and never to views, without a word; Northstar says so.
    A foreign key is not applied: DuckDB would refuse the next build of the table it references."""
    schema = (PROJECTS / "contract/models/schema.yml").read_text()
    schema = schema.replace("      contract:\n        enforced: true\n", "      materialized: view\n", 1)
    schema = schema.replace(
        "      contract:\n        enforced: true\n", "      contract:\n        enforced: false\n", 1
    )
    code, output, built = northstar("contract", {"models/schema.yml": schema})
    assert code == 0, output
    assert output.splitlines()[:2] == [
        "Warning: models/schema.yml: Model 'people_keys' declares constraints, but its contract is not enforced, so "
        "they are not applied (as in dbt). Add `config: {contract: {enforced: true}}` to apply them, or remove them.",
        "Warning: models/schema.yml: Model 'people_typed' declares constraints, but its contract is not enforced, so "
        "they are not applied (as in dbt). Add `config: {contract: {enforced: true}}` to apply them, or remove them.",
    ]
    foreign = schema.replace("enforced: false", "enforced: true").replace(
        "      - name: age\n        data_type: integer\n",
        "      - name: age\n        data_type: integer\n        constraints:\n          - type: foreign_key\n"
        "            to: ref('people_typed')\n            to_columns: [age]\n",
    )
    view = "  - name: people_view\n    config:\n      materialized: view\n      contract: {enforced: true}\n"
    view += "    columns:\n      - name: id\n        data_type: integer\n        constraints: [{type: not_null}]\n"
    code, output, built = northstar_contract_again(
        northstar, {"models/schema.yml": foreign + view, "models/people_view.sql": "select 1::integer as id\n"}
    )
    assert code == 0, output
    assert output.splitlines()[:3] == [
        "Warning: models/schema.yml: Model 'people_keys': foreign_key constraints are not applied: DuckDB could not "
        "rebuild the table they reference while they exist. Check the reference with a `relationships` data test "
        "instead.",
        "Warning: models/schema.yml: Model 'people_typed' declares constraints, but its contract is not enforced, so "
        "they are not applied (as in dbt). Add `config: {contract: {enforced: true}}` to apply them, or remove them.",
        "Warning: models/schema.yml: Model 'people_view' is a view, so its constraints are not applied (as in dbt, a "
        "view has none). Materialize it as a table to enforce them.",
    ]


def northstar_contract_again(northstar, files):
    shutil.rmtree(Path.cwd())
    return northstar("contract", files)


@pytest.mark.parametrize(
    ("constraint", "line", "error"),
    [
        ("{type: primary}", 36, "A constraint of column 'id' has type 'primary'. Use one of: check, not_null, "
         "unique, primary_key, foreign_key, custom."),
        ("{type: check}", 36, "A constraint of column 'id' of type check needs an `expression:`."),
        ("{type: foreign_key, to: ref('people')}", 36, "A constraint of column 'id' of type foreign_key needs "
         "`to:` and `to_columns:` (or an `expression:` such as `orders (id)`)."),
        ("{type: unique, colums: [id]}", 36, "Unknown key 'colums' in a constraint of column 'id'. Did you mean "
         "'to_columns'? Allowed keys: "
         "expression, name, to, to_columns, type, warn_unenforced, warn_unsupported."),
    ],
)  # fmt: skip
def test_a_malformed_constraint_is_refused_at_its_line(northstar, constraint, line, error):
    schema = (PROJECTS / "contract/models/schema.yml").read_text()
    schema = schema.replace("      - name: id\n        data_type: integer\n", (
        f"      - name: id\n        data_type: integer\n        constraints:\n          - {constraint}\n"
    ))  # fmt: skip
    code, output, _ = northstar("contract", {"models/schema.yml": schema})
    assert (code, output) == (2, f"Error: models/schema.yml:{line}: {error}\n")


def test_a_model_level_not_null_is_refused(northstar):
    schema = (PROJECTS / "contract/models/schema.yml").read_text()
    schema = schema.replace("      - type: primary_key\n        columns: [id]\n", "      - type: not_null\n")
    code, output, _ = northstar("contract", {"models/schema.yml": schema})
    assert (code, output) == (
        2,
        "Error: models/schema.yml:25: A constraint of model 'people_keys' of type not_null belongs on the column: "
        "write it under that column's `constraints:`.\n",
    )


WRONG_TYPE = {"models/people_typed.sql": "select id::integer as id, name, age from {{ ref('people') }}\n"}


def test_an_enforced_contract_with_a_wrong_type_fails_the_model(northstar, tmp_path):
    code, output, built = northstar("contract", WRONG_TYPE)
    assert code == 1
    assert output.split("\n\n")[-1] == (
        "ERROR models/people_typed.sql: Model 'people_typed' has an enforced contract that failed: the name, "
        "data_type and number of its columns in models/schema.yml must match what its SELECT returns.\n"
        "| column_name | definition_type | contract_type | mismatch_reason    |\n"
        "| ----------- | --------------- | ------------- | ------------------ |\n"
        "| age         | INTEGER         | SMALLINT      | data type mismatch |\n"
    )
    assert built == {}  # nothing published
    if DBT:
        code, output, _ = dbt(tmp_path, "contract", WRONG_TYPE)
        assert code == 1
        assert "This model has an enforced contract that failed." in output
        assert "| age         | INTEGER         | SMALLINT      | data type mismatch |" in output


def test_a_contract_column_without_data_type_is_refused_at_its_line(northstar):
    schema = "version: 2\nmodels:\n  - name: people_typed\n    config:\n      contract: {enforced: true}\n"
    schema += "    columns:\n      - name: id\n        data_type: int\n      - name: name\n"
    code, output, built = northstar("contract", {"models/schema.yml": schema})
    assert (code, output) == (
        2,
        "Error: models/schema.yml:9: Model 'people_typed' has an enforced contract, so column 'name' needs a "
        "data_type (e.g. data_type: integer).\n",
    )


# --- silent acceptance: seeds, snapshots, strategies, paths --------------------------------------------------------

RAGGED = {"seeds/orders.csv": "a,b\n1,2\n3\n4,5,6,7\n"}


def test_a_ragged_seed_is_an_error_naming_the_line_and_nothing_is_published(northstar, tmp_path):
    code, output, built = northstar("basic", RAGGED)
    assert code == 1
    assert output.split("\n\n")[-1] == (
        "ERROR seeds/orders.csv:3: Seed 'orders': line 3 has 1 field, but the header (line 1) has 2. Give every "
        "line 2 fields separated by ',' (quote values that contain ','), or set the seed's delimiter in its config.\n"
    )
    assert built == {}
    if DBT:  # dbt refuses it too (agate)
        assert dbt(tmp_path, "basic", RAGGED)[0] == 1


def test_an_unclosed_quote_in_a_seed_is_an_error_naming_the_line(northstar):
    code, output, built = northstar("basic", {"seeds/orders.csv": 'order_id,customer_id,amount\n1,"x,3\n'})
    assert code == 1
    assert output.split("\n\n")[-1].startswith(
        "ERROR seeds/orders.csv:2: Seed 'orders' is not valid CSV at line 2: unexpected end of data."
    )
    assert built == {}


def test_a_snapshot_is_built_not_skipped(northstar):
    snapshot = "{% snapshot orders_snapshot %}\n{{ config(unique_key='order_id', strategy='check', check_cols='all') }}"
    snapshot += "\nselect * from {{ ref('orders') }}\n{% endsnapshot %}\n"
    code, output, built = northstar("basic", {"snapshots/orders_snapshot.sql": "-- history\n" + snapshot})
    assert code == 0, output
    assert "created snapshot main.orders_snapshot" in output
    assert len(built["main.orders_snapshot"]) == len(built["main.orders"])
    yaml_snapshot = "snapshots:\n  - name: s\n    relation: ref('orders')\n"
    code, output, _ = northstar_again(northstar, {"snapshots/s.yml": yaml_snapshot})
    assert output == (
        "Error: snapshots/s.yml:2: Snapshot 's' needs unique_key: the column (or list of columns) identifying a row, "
        "e.g. unique_key='id' or unique_key=['order_id', 'line'].\n"
    )


def northstar_again(northstar, files):
    shutil.rmtree(Path.cwd())
    return northstar("basic", files)


def test_an_unknown_key_in_dbt_project_yml_is_refused_by_name(northstar):
    code, output, _ = northstar("basic", {"dbt_project.yml": "name: basic\nprofile: compat\nmodel-path: [m]\n"})
    assert output.startswith("Error: dbt_project.yml:3: Unknown key 'model-path' in dbt_project.yml. Did you mean")


UNKNOWN_STRATEGY = {
    "models/customers.sql": (
        "{{ config(materialized='incremental', incremental_strategy='incremental_by_time_range') }}\n"
        "select customer_id, count(*) as orders, sum(amount) as revenue\nfrom {{ ref('orders') }}\ngroup by 1\n"
    )
}


def test_an_unknown_incremental_strategy_builds_first_and_fails_when_used(northstar, tmp_path, run_cli):
    code, output, built = northstar("basic", UNKNOWN_STRATEGY)
    assert code == 0, output
    assert output.splitlines()[0] == (
        "Warning: models/customers.sql: Model 'customers' has incremental_strategy='incremental_by_time_range', "
        "which Northstar cannot run. Use one of: append, merge, delete+insert. The first build makes a table; an "
        "incremental run will fail."
    )
    assert built["main.customers"] == [(1, 2, 30), (2, 1, 5)]
    (Path.cwd() / "seeds" / "orders.csv").write_text("order_id,customer_id,amount\n4,3,1\n")  # new rows to add
    again = run_cli(Path.cwd(), "build")
    assert again.exit_code == 1
    assert again.output.split("\n\n")[-1] == (
        "ERROR models/customers.sql: Model 'customers' has incremental_strategy='incremental_by_time_range', "
        "which Northstar cannot run. Use one of: append, merge, delete+insert. It is checked now because this run "
        "is incremental.\n"
    )
    if DBT:  # dbt-duckdb: the first run builds, the incremental one fails
        same_as_dbt(tmp_path, "basic", UNKNOWN_STRATEGY, built)
        env = {**os.environ, "DO_NOT_TRACK": "1"}
        rerun = subprocess.run(
            [DBT, "build", "--profiles-dir", "."], cwd=tmp_path / "dbt", capture_output=True, env=env
        )
        assert rerun.returncode == 1


def test_project_dir_resolves_a_relative_warehouse_path_against_the_working_folder(tmp_path, monkeypatch, run_cli):
    root = copy_project("basic", tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert tables(elsewhere / "warehouse.duckdb")["main.customers"] == [(1, 2, 30), (2, 1, 5)]
    assert not (root / "warehouse.duckdb").exists()
    if DBT:
        shutil.copytree(PROJECTS / "basic", tmp_path / "dbt")
        (tmp_path / "dbt_cwd").mkdir()
        args = [DBT, "build", "--project-dir", str(tmp_path / "dbt"), "--profiles-dir", str(tmp_path / "dbt")]
        assert subprocess.run(args, cwd=tmp_path / "dbt_cwd", capture_output=True).returncode == 0
        assert tables(tmp_path / "dbt_cwd" / "warehouse.duckdb") == tables(elsewhere / "warehouse.duckdb")


def test_profiles_dir_option_and_env_var(tmp_path, monkeypatch, run_cli):
    root = copy_project("basic", tmp_path / "project")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (root / "profiles.yml").rename(profiles / "profiles.yml")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run_cli(root, "build", "-q", "--profiles-dir", str(profiles)).exit_code == 0
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
    result = run_cli(root, "build", "-q")
    assert result.output == (
        f"Error: dbt_project.yml: No profiles.yml in {tmp_path} (named by --profiles-dir or $DBT_PROFILES_DIR). "
        "Point it at the folder holding profiles.yml.\n"
    )
    assert run_cli(root, "build", "-q", "--profiles-dir", str(profiles)).exit_code == 0  # the flag wins


# --- dbt 1.10+ spellings -------------------------------------------------------------------------------------------

DBT110_TABLES = {
    "main.all_days": [(date(2024, 1, 1),), (date(2024, 1, 2),), (date(2024, 1, 3),)],
    "main.payments_by_country": [("DE", 20), ("NL", 10)],
}


def test_dbt_110_spellings_config_meta_location_expression_time_spine(northstar, tmp_path):
    """Sources located by `config: meta: external_location` (a template, and an expression used as written), a model
    with `time_spine:`, and a folder disabled by Jinja in dbt_project.yml."""
    code, output, built = northstar("dbt110")
    assert code == 0, output
    assert built == DBT110_TABLES
    if DBT:
        same_as_dbt(tmp_path, "dbt110", None, built)


def test_jinja_in_dbt_project_config_values(northstar, tmp_path, run_cli):
    code, output, built = northstar("dbt110", None, "build", "--vars", "{load_extra: true}")
    assert code == 0, output
    assert built == {**DBT110_TABLES, "main.extra_model": [(1,)]}
    assert run_cli(Path.cwd(), "ls", "-s", "tag:nightly", "--vars", "{load_extra: true}").output == "extra_model\n"
    if DBT:
        same_as_dbt(tmp_path, "dbt110", None, built, "build", "--vars", "{load_extra: true}")


# --- not supported yet: refused by name ----------------------------------------------------------------------------


# --- packages -----------------------------------------------------------------------------------------------------

PACKAGE_TABLES = {
    "main.orders": [(1, "a", 10), (2, "b", 5), (3, "a", 7)],
    "main.orders_enriched": [
        (1, "1x!", 100, 30, "alpha", 10),
        (2, "2x!", 50, 15, "beta", 5),
        (3, "3x!", 70, 21, "alpha", 7),
    ],
    "main.util_codes": [("a", "alpha"), ("b", "beta")],
    "main_utils.util_settings": [(2, "USD", 40)],
}


def test_an_installed_package_builds_with_its_macros_models_seeds_tests_and_vars(northstar, tmp_path):
    """dbt_packages/my_utils as `dbt deps` leaves it: namespaced macros (my_utils.add_suffix), adapter.dispatch
    choosing duckdb__ over default__, the project's dispatch: search order putting its own duckdb__times first, the
    package's model (its vars, under the root's `vars: my_utils:`) and seed, and its generic test under data_tests:.
    A root model calling a package macro sees the root's vars only (scale: the default 3), as in dbt."""
    code, output, built = northstar("packages")
    assert code == 0, output
    assert built == PACKAGE_TABLES
    assert "PASS  my_utils_is_positive_orders_enriched_scaled" in output
    # manifest.json names each node's package, as dbt does (DataHub reads package_name).
    manifest = json.loads(Path("target/manifest.json").read_text())
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)  # dbt's schema v12, strictly
    nodes = manifest["nodes"]
    packages = {
        (e["resource_type"], e["name"]): e["package_name"] for e in nodes.values() if e["resource_type"] != "test"
    }
    assert (packages[("model", "util_settings")], packages[("seed", "util_codes")]) == ("my_utils", "my_utils")
    assert packages[("model", "orders_enriched")] != "my_utils"
    if DBT:
        same_as_dbt(tmp_path, "packages", None, built)


def test_restrict_access_keeps_a_packages_protected_models_to_itself(tmp_path, monkeypatch, run_cli):
    """With `restrict-access: true` in a package's dbt_project.yml, the root project may ref only its public models
    (dbt's rule); without it, or once the model is public, the ref builds, as dbt-duckdb builds it."""
    reads = {"models/reads_settings.sql": "select multiplier\nfrom {{ ref('util_settings') }}\n"}
    package = Path(__file__).parent / "dbt_projects/packages/dbt_packages/my_utils/dbt_project.yml"
    restricted = {**reads, "dbt_packages/my_utils/dbt_project.yml": package.read_text() + "restrict-access: true\n"}
    public = {
        **restricted,
        "dbt_packages/my_utils/models/util_settings.yml": (
            "models:\n  - name: util_settings\n    config: {access: public}\n"
        ),
    }

    def build(name: str, files: Mapping[str, str | None]) -> tuple[int, str, dict]:
        root = copy_project("packages", tmp_path / name, files)
        monkeypatch.chdir(root)
        result = run_cli(root, "build")
        return result.exit_code, result.output, tables(root / "warehouse.duckdb")

    code, output, _ = build("restricted", restricted)
    assert (code, output.splitlines()[-1]) == (
        2,
        "Error: models/reads_settings.sql: Model 'reads_settings' (models/reads_settings.sql) refs 'util_settings' "
        "(dbt_packages/my_utils/models/util_settings.sql), which is protected to project 'my_utils': its "
        "dbt_project.yml sets restrict-access: true. Give 'util_settings' access: public, or set "
        "restrict-access: false.",
    )
    for name, files in (("public", public), ("unrestricted", reads)):
        code, output, built = build(name, files)
        assert code == 0, output
        assert built["main.reads_settings"] == [(2,)]
    if DBT:
        assert dbt(tmp_path / "restricted_by_dbt", "packages", restricted)[0] != 0
        same_as_dbt(tmp_path, "packages", public, built)


def test_a_listed_package_that_is_not_installed_is_an_error(northstar):
    listed = "packages:\n  - git: https://example.com/acme/my_utils.git\n  - package: dbt-labs/dbt_utils\n"
    listed += "    version: 1.3.0\n"
    code, output, _ = northstar("packages", {"packages.yml": listed})
    assert (code, output) == (
        2,
        "Error: packages.yml:3: Package 'dbt-labs/dbt_utils' is listed but not installed in dbt_packages/. Run "
        "`dbt deps` to install the packages, then build again.\n",
    )


def test_a_dispatch_search_order_naming_a_missing_package_is_a_compile_error(northstar):
    project = (PROJECTS / "packages" / "dbt_project.yml").read_text().replace("[shop, my_utils]", "[shop, my_util]")
    code, output, _ = northstar("packages", {"dbt_project.yml": project})
    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: models/orders_enriched.sql:3: adapter.dispatch('add_suffix', 'my_utils') searches package 'my_util', "
        "which is not installed. Did you mean 'my_utils'? Run `dbt deps`, or fix the `dispatch:` search_order in "
        "dbt_project.yml."
    )


# --- dbt's built-in macros and the naming macros -------------------------------------------------------------------


def column_types(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema not like '%northstar%' order by all"
        ).fetchall()


def test_cross_database_macros_and_naming_overrides_build_as_with_dbt(northstar, tmp_path):
    """dbt.* macros (called bare too), a project's duckdb__ implementation found first by dispatch, and the
    project's generate_schema_name / generate_alias_name deciding where models and seeds land."""
    code, output, built = northstar("macros")
    assert code == 0, output
    assert list(built) == ["main.series", "main.spine", "main.summary", "raw.events", "staging.stg_typed_events"]
    assert built["main.series"] == [(1,), (2,), (3,), (4,)]
    assert [day.isoformat() for (day,) in built["main.spine"]] == [
        "2024-01-30T00:00:00",
        "2024-01-31T00:00:00",
        "2024-02-01T00:00:00",
    ]
    assert built["main.summary"] == [
        ("a", "ann, cy's", "cy's", True, True, 2),
        ("b", "bob", "bob", True, False, 1),
    ]
    with duckdb.connect("warehouse.duckdb", read_only=True) as connection:
        row = connection.execute(
            "select month, weeks_since_new_year, months_since_new_year, month_end, quarter_end, label, twelve, "
            "amount_cents, kind_group, kind_last, escaped, literal, name_end, dash_at, numbers, joined, built_for "
            "from staging.stg_typed_events where id = 3"
        ).fetchone()
    assert tuple(map(str, row)) == (
        "2024-03-01 00:00:00", "9", "2", "2024-03-31", "2024-03-31", "cy's/a-z", "12", "700", "a", "z", "it's",
        "fixed", "'s", "2", "[1, 2, 3]", "[1, 2]", "dev/main",
    )  # fmt: skip
    if DBT:
        same_as_dbt(tmp_path, "macros", None, built)
        assert column_types(tmp_path / "dbt" / "warehouse.duckdb") == column_types(Path("warehouse.duckdb"))


def test_a_missing_dispatch_implementation_or_namespaced_macro_is_a_compile_error(northstar, tmp_path):
    model = "select {{ adapter.dispatch('shout', 'macros')('x') }} as a\n"
    code, output, _ = northstar("macros", {"models/shout.sql": model})
    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: models/shout.sql:1: adapter.dispatch('shout', 'macros') found no implementation. Searched for: "
        "'macros.duckdb__shout', 'macros.default__shout'."
    )
    typo = {"models/shout.sql": "select {{ dbt.datead('day', 1, 'd') }}\n"}
    code, output, _ = northstar_macros_again(northstar, typo)
    assert output.splitlines()[-1] == (
        "Error: models/shout.sql:1: Macro 'dbt.datead' does not exist. Did you mean 'dateadd'?"
    )


def northstar_macros_again(northstar, files):
    shutil.rmtree(Path.cwd())
    return northstar("macros", files)


def test_a_database_other_than_the_target_is_refused(northstar):
    macro = "{% macro generate_database_name(custom_database_name=none, node=none) %}other{% endmacro %}\n"
    code, output, built = northstar("macros", {"macros/db.sql": macro})
    assert (code, output.splitlines()[-1]) == (
        2,
        "Error: models/series.sql: generate_database_name names database 'other' for model 'series', but Northstar "
        "builds into one database, the target's ('warehouse'). Return target.database for it.",
    )


# --- seeds typed as dbt-duckdb types them; ref('package', 'model') -------------------------------------------------

SEED_TYPES = [
    ("main", "codes", "code", "VARCHAR"),  # column_types: {code: varchar} keeps 007
    ("main", "codes", "label", "VARCHAR"),
    ("main", "totals", "id", "INTEGER"),
    ("main", "totals", "label", "VARCHAR"),
    ("main", "totals", "total", "INTEGER"),
    ("main", "values", "day", "DATE"),
    ("main", "values", "empty", "INTEGER"),
    ("main", "values", "flag", "BOOLEAN"),
    ("main", "values", "id", "INTEGER"),
    ("main", "values", "lead", "INTEGER"),  # 007, 010
    ("main", "values", "name", "VARCHAR"),
    ("main", "values", "neg", "INTEGER"),
    ("main", "values", "plus", "INTEGER"),  # +5
    ("main", "values", "ratio", "DOUBLE"),
    ("main", "values", "whole", "INTEGER"),  # 1.0, 2.0
]


def test_seed_columns_of_whole_numbers_are_integer_as_with_dbt_duckdb(northstar, tmp_path):
    """agate's inference as dbt-duckdb uses it: whole numbers (7, -3, +5, 1.0, 007) and empty columns are INTEGER,
    where DuckDB's sniffer says BIGINT, DOUBLE or VARCHAR; column_types wins. The model refs its seed as
    ref('seedtypes', 'values')."""
    code, output, built = northstar("seeds")
    assert code == 0, output
    assert column_types(Path("warehouse.duckdb")) == SEED_TYPES
    assert built["main.values"] == [
        (1, 7, None, 1, 1.5, 5, -3, date(2024, 1, 1), True, "Ann"),
        (2, 10, None, 2, 2.0, 6, 4, date(2024, 1, 2), False, "Bob"),
    ]
    assert built["main.totals"] == [(1, 12, "agent"), (2, 16, "ten")]
    if DBT:
        same_as_dbt(tmp_path, "seeds", None, built)
        assert column_types(tmp_path / "dbt" / "warehouse.duckdb") == SEED_TYPES


def test_a_whole_number_beyond_integer_keeps_its_seed_column_bigint(northstar):
    """dbt-duckdb fails such a seed (INTEGER cannot hold 3000000000); Northstar keeps the column BIGINT."""
    code, output, built = northstar(
        "seeds", {"seeds/values.csv": "id,big\n1,3000000000\n2,1\n", "models/totals.sql": None}
    )
    assert code == 0, output
    assert column_types(Path("warehouse.duckdb"))[2:] == [
        ("main", "values", "big", "BIGINT"),
        ("main", "values", "id", "INTEGER"),
    ]


def test_a_ref_naming_another_package_is_an_error(northstar):
    wrong = {"models/totals.sql": "select *\nfrom {{ ref('shop', 'values') }}\n"}
    code, output, _ = northstar("seeds", wrong)
    assert (code, output.splitlines()[-1]) == (
        2,
        "Error: models/totals.sql:2: ref('shop', 'values'): 'values' is in package 'seedtypes', not 'shop'. Write "
        "ref('seedtypes', 'values') or ref('values').",
    )


# --- exposures ----------------------------------------------------------------------------------------------------


def test_exposures_join_the_dag_for_selection_and_are_in_the_manifest(northstar, tmp_path, run_cli):
    """`-s +exposure:weekly_revenue` builds what the dashboard reads (not `unrelated`); a disabled exposure is not
    there; manifest.json's `exposures` section and maps as dbt writes them."""
    code, output, built = northstar("exposures", None, "build", "-s", "+exposure:weekly_revenue")
    assert code == 0, output
    assert list(built) == ["main.customers", "main.orders"]
    listed = run_cli(Path.cwd(), "ls", "-s", "+exposure:weekly_revenue")
    assert listed.output == "orders\ncustomers\nweekly_revenue\n"
    assert run_cli(Path.cwd(), "ls", "--resource-type", "exposure").output == "weekly_revenue\n"
    manifest = json.loads(Path("target/manifest.json").read_text())
    assert manifest["exposures"] == {
        "exposure.exposed.weekly_revenue": {
            "name": "weekly_revenue",
            "resource_type": "exposure",
            "package_name": "exposed",
            "path": "exposures.yml",
            "original_file_path": "models/exposures.yml",
            "unique_id": "exposure.exposed.weekly_revenue",
            "fqn": ["exposed", "weekly_revenue"],
            "type": "dashboard",
            "owner": {"name": "Finance analytics", "email": "finance@example.com"},
            "description": "Revenue per customer, every Monday.",
            "label": "Weekly revenue",
            "maturity": "high",
            "meta": {},
            "tags": ["finance"],
            "config": {"enabled": True, "tags": ["finance"], "meta": {}},
            "unrendered_config": {},
            "url": "https://bi.example.com/dashboards/1",
            "depends_on": {"macros": [], "nodes": ["model.exposed.customers"]},
            "refs": [{"name": "customers", "package": None, "version": None}],
            "sources": [],
            "metrics": [],
        }
    }
    assert manifest["child_map"]["model.exposed.customers"] == ["exposure.exposed.weekly_revenue"]
    assert manifest["parent_map"]["exposure.exposed.weekly_revenue"] == ["model.exposed.customers"]
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    if DBT:
        same_as_dbt(tmp_path, "exposures", None, built, "build", "-s", "+exposure:weekly_revenue")
        theirs = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())["exposures"]
        for entry in theirs.values():
            del entry["created_at"]
        assert theirs == manifest["exposures"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("    maturity: high\n", "    maturity: hihg\n"),
         "models/exposures.yml:6: Exposure 'weekly_revenue' has maturity 'hihg'. Use one of: high, medium, low."),
        (("    type: dashboard\n", "    type: report\n"),
         "models/exposures.yml:5: Exposure 'weekly_revenue' has type 'report'. Use one of: dashboard, notebook, "
         "analysis, ml, application."),
        (("    label: Weekly revenue\n", "    lable: Weekly revenue\n"),
         "models/exposures.yml:4: Unknown key 'lable' in exposure 'weekly_revenue'. Did you mean 'label'? Allowed "
         "keys: config, depends_on, description, label, maturity, meta, name, owner, tags, type, url."),
        (("      - ref('customers')\n", "      - ref('customer')\n"),
         "models/exposures.yml:9: ref('customer') names no model or seed. Did you mean 'customers'?"),
        (("      - ref('customers')\n", "      - metric('revenue')\n"),
         "models/exposures.yml:9: Exposure 'weekly_revenue' depends on metric('revenue'), which is no metric."),
        (("    owner:\n      name: Finance analytics\n      email: finance@example.com\n", "    owner: {}\n"),
         "models/exposures.yml:11: Exposure 'weekly_revenue' needs an owner with a name or an email, e.g. "
         "`owner: {name: Analytics, email: a@example.com}`."),
    ],
)  # fmt: skip
def test_a_mistake_in_an_exposure_is_an_error_at_its_line(northstar, change, error):
    exposures = (PROJECTS / "exposures/models/exposures.yml").read_text()
    assert change[0] in exposures
    code, output, _ = northstar("exposures", {"models/exposures.yml": exposures.replace(*change)})
    assert (code, output.splitlines()[-1]) == (2, f"Error: {error}")


# --- docs blocks --------------------------------------------------------------------------------------------------

DOCS = {
    "doc.documented.customers": {
        "name": "customers",
        "resource_type": "doc",
        "package_name": "documented",
        "path": "docs.md",
        "original_file_path": "models/docs.md",
        "unique_id": "doc.documented.customers",
        "block_contents": "One row per customer: how many orders they placed\nand what they paid in total.",
    },
    "doc.documented.revenue": {
        "name": "revenue",
        "resource_type": "doc",
        "package_name": "documented",
        "path": "docs.md",
        "original_file_path": "models/docs.md",
        "unique_id": "doc.documented.revenue",
        "block_contents": "Sum of order amounts, in euros.",
    },
}


def test_docs_blocks_fill_descriptions_and_the_manifest_docs_section(northstar, tmp_path):
    """{{ doc('name') }} and {{ doc('project', 'name') }} in model, column and seed descriptions, as dbt renders
    them; manifest.json's `docs` as dbt writes it (dbt adds its own `__overview__` page)."""
    code, output, built = northstar("docsblocks")
    assert code == 0, output
    manifest = json.loads(Path("target/manifest.json").read_text())
    assert manifest["docs"] == DOCS
    customers = manifest["nodes"]["model.documented.customers"]
    described = {name: column["description"] for name, column in customers["columns"].items()}
    assert (customers["description"], described) == (
        DOCS["doc.documented.customers"]["block_contents"],
        {"revenue": "Sum of order amounts, in euros. Refunds excluded.", "orders": "Number of orders.",
         "customer_id": ""},
    )  # fmt: skip
    assert manifest["nodes"]["seed.documented.orders"]["description"] == "Orders: Sum of order amounts, in euros."
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    if DBT:
        same_as_dbt(tmp_path, "docsblocks", None, built)
        theirs = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
        del theirs["docs"]["doc.dbt.__overview__"]
        assert theirs["docs"] == DOCS
        for uid in ("model.documented.customers", "seed.documented.orders"):
            assert theirs["nodes"][uid]["description"] == manifest["nodes"][uid]["description"]
        assert (
            theirs["nodes"]["model.documented.customers"]["columns"]["revenue"]["description"] == (described["revenue"])
        )


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"models/docs.md": "{% docs customer %}x{% enddocs %}\n{% docs revenue %}y{% enddocs %}\n"},
         "models/schema.yml:4: {{ doc('customers') }} names no docs block. Did you mean 'customer'? Define it in a "
         ".md file as {% docs customers %}...{% enddocs %}."),
        ({"models/more.md": "# More\n\n{% docs revenue %}again{% enddocs %}\n"},
         "models/more.md:3: Docs block 'revenue' is defined twice: here and in models/docs.md:8. Rename one."),
        ({"models/more.md": "{% docs more %}\nSee {{ 'x' }}\n{% enddocs %}\n"},
         "models/more.md:1: Docs block 'more' holds Jinja, which dbt renders and Northstar does not: write its "
         "text as it should read."),
        ({"dbt_project.yml": (PROJECTS / "docsblocks/dbt_project.yml").read_text() + "docs-paths: [docs]\n"},
         "models/schema.yml:4: {{ doc('customers') }} names no docs block. Define it in a .md file as "
         "{% docs customers %}...{% enddocs %}."),
        ({"models/schema.yml": "version: 2\nmodels:\n  - name: customers\n    description: \"{{ doc(name) }}\"\n"},
         "models/schema.yml:4: A description calls doc() in a way Northstar does not read: write the call alone in "
         "its braces, with quoted names, as {{ doc('name') }} or {{ doc('package', 'name') }}."),
        ({"models/schema.yml": "version: 2\nmodels:\n  - name: customers\n    description: \"{{ doc('shop', "
          "'revenue') }}\"\n"},
         "models/schema.yml:4: {{ doc('shop', 'revenue') }} names no docs block. Did you mean 'revenue'? Define "
         "it in a .md file as {% docs revenue %}...{% enddocs %}."),
    ],
)  # fmt: skip
def test_a_docs_block_mistake_is_an_error_at_its_line(northstar, tmp_path, files, error):
    """An unknown name (docs-paths set: only those folders are searched, as in dbt), a name defined twice, a doc()
    call Northstar does not read, a package that has no such block: dbt fails those too. Jinja in a block, which dbt
    renders, is refused."""
    code, output, built = northstar("docsblocks", files)
    assert (code, output.splitlines()[-1], built) == (2, f"Error: {error}", {})
    if DBT and "holds Jinja" not in error:
        assert dbt(tmp_path, "docsblocks", files)[0] != 0


def test_a_packages_docs_blocks_are_found_by_name_and_by_package(northstar, tmp_path):
    files = {
        "dbt_packages/my_utils/docs/utils.md": "{% docs scaled %}\nThe amount times the package's factor.\n"
        "{% enddocs %}\n",
        "dbt_packages/my_utils/dbt_project.yml": (
            PROJECTS / "packages/dbt_packages/my_utils/dbt_project.yml"
        ).read_text()
        + "docs-paths: [docs]\n",
        "models/schema.yml": (PROJECTS / "packages/models/schema.yml").read_text()
        + "    description: \"{{ doc('scaled') }}\"\n"
        + "  - name: util_settings\n    description: \"{{ doc('my_utils', 'scaled') }}\"\n",
    }
    code, output, built = northstar("packages", files)
    assert code == 0, output
    manifest = json.loads(Path("target/manifest.json").read_text())
    assert manifest["docs"] == {
        "doc.my_utils.scaled": {
            "name": "scaled",
            "resource_type": "doc",
            "package_name": "my_utils",
            "path": "utils.md",
            "original_file_path": "docs/utils.md",
            "unique_id": "doc.my_utils.scaled",
            "block_contents": "The amount times the package's factor.",
        }
    }
    description = "The amount times the package's factor."
    assert manifest["nodes"]["model.shop.orders_enriched"]["description"] == description
    assert manifest["nodes"]["model.my_utils.util_settings"]["description"] == description
    if DBT:
        same_as_dbt(tmp_path, "packages", files, built)
        theirs = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
        assert theirs["docs"]["doc.my_utils.scaled"] == manifest["docs"]["doc.my_utils.scaled"]
        assert theirs["nodes"]["model.shop.orders_enriched"]["description"] == description


# --- model versions -----------------------------------------------------------------------------------------------


def test_model_versions_build_each_version_and_refs_pick_theirs(northstar, tmp_path, run_cli):
    """Three versions of dim_customers (v2 the latest, in dim_customers.sql; v3 a prerelease view), built as
    dim_customers_v1..v3; ref('dim_customers') reads v2, ref(..., v=1) / version=3 their own; columns and tests as
    each version includes them; selection by model, version and version: state; manifest.json as dbt writes it."""
    code, output, built = northstar("versions")
    assert code == 0, output
    assert built == {
        "main.customers": [(1, "Ann", "FR", 3), (2, "Bob", "DE", 1)],
        "main.dim_customers_v1": [(1, "Ann"), (2, "Bob")],
        "main.dim_customers_v2": [(1, "Ann", "FR"), (2, "Bob", "DE")],
        "main.dim_customers_v3": [(1, "Ann", "FR", 3), (2, "Bob", "DE", 1)],
        "main.plain": [(1, "Ann"), (2, "Bob")],
        "main.report": [(1, "FR", "Ann", 3), (2, "DE", "Bob", 1)],
    }
    assert "PASS  not_null_dim_customers_v3_orders" in output
    listed = {s: run_cli(Path.cwd(), "ls", "-s", s, "--resource-type", "model").output.split() for s in (
        "dim_customers", "dim_customers.v2", "version:latest", "version:old", "version:prerelease", "version:none"
    )}  # fmt: skip
    assert listed == {
        "dim_customers": ["dim_customers.v1", "dim_customers.v2", "dim_customers.v3"],
        "dim_customers.v2": ["dim_customers.v2"],
        "version:latest": ["dim_customers.v2"],
        "version:old": ["dim_customers.v1"],
        "version:prerelease": ["dim_customers.v3"],
        "version:none": ["plain", "report"],
    }
    manifest = json.loads(Path("target/manifest.json").read_text())
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    ours = _version_summary(manifest)
    assert ours["model.versioned.dim_customers.v3"] == {
        "name": "dim_customers",
        "alias": "dim_customers_v3",
        "version": 3,
        "latest_version": 2,
        "original_file_path": "models/dim_customers_v3.sql",
        "fqn": ["versioned", "dim_customers", "v3"],
        "columns": ["customer_id", "name", "country", "orders"],
        "description": "Customers with their orders.",
        "refs": [{"name": "customers", "package": None, "version": None}],
    }
    assert ours["model.versioned.report"]["refs"] == [
        {"name": "dim_customers", "package": None, "version": None},
        {"name": "dim_customers", "package": None, "version": 1},
        {"name": "dim_customers", "package": None, "version": 3},
    ]
    if DBT:
        same_as_dbt(tmp_path, "versions", None, built)
        theirs = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
        assert _version_summary(theirs) == ours


def _version_summary(manifest: dict) -> dict:
    keys = ("name", "alias", "version", "latest_version", "original_file_path", "fqn", "description", "refs")
    summary = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "model":
            summary[uid] = {k: node[k] for k in keys}
            if node["version"]:  # the columns a version declares (Northstar adds those it finds to other models)
                summary[uid]["columns"] = list(node["columns"])
    return summary


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"models/plain.sql": "select * from {{ ref('dim_customers', v=4) }}\n"},
         "models/plain.sql:1: ref('dim_customers', v=4): model 'dim_customers' has no version 4 (it has 1, 2, 3)."),
        ({"models/plain.sql": "select * from {{ ref('report', v=1) }}\n"},
         "models/plain.sql:1: ref('report', v=1): model 'report' has no versions. Ref it by its name alone, or "
         "declare its `versions:` in YAML."),
        ({"models/dim_customers_v1.sql": None},
         "models/schema.yml:13: Version 1 of model 'dim_customers' has no file: write dim_customers_v1.sql under a "
         "model path, or set its `defined_in:` to the file's name."),
        ({"models/dim_customers_v2.sql": "select 1 as customer_id\n"},
         "models/dim_customers.sql: Model 'dim_customers' has versions in YAML, and this file is none of them. Name "
         "it after its version (dim_customers_v<v>.sql) or point a version's `defined_in:` at it."),
        ({"models/unit.yml": "unit_tests:\n  - name: keeps_names\n    model: dim_customers\n    given: []\n"
          "    expect: {rows: []}\n"},
         "models/unit.yml:2: Unit test 'keeps_names' tests 'dim_customers', a versioned model; unit tests of "
         "versioned models are not supported yet. Test a model that is not versioned, or remove the test."),
    ],
)  # fmt: skip
def test_a_model_versions_mistake_is_an_error(northstar, tmp_path, files, error):
    """dbt fails the first two as Northstar does; a version without a file dbt leaves out (its refs then fail), and
    two files for the latest version dbt builds as two models of the same relation, which fails. A unit test of a
    versioned model (dbt runs it on each version) is refused."""
    code, output, built = northstar("versions", files)
    assert (code, output.splitlines()[-1], built) == (2, f"Error: {error}", {})
    if DBT and "has no file" not in error and "unit test" not in error:
        assert dbt(tmp_path, "versions", files)[0] != 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("    latest_version: 2\n", "    latest_version: 5\n"),
         "models/schema.yml:5: Model 'dim_customers' has latest_version 5, which is none of its versions (1, 2, 3)."),
        (("      - v: 2\n", "      - v: 1\n"), "models/schema.yml:17: Model 'dim_customers' has version 1 twice."),
        (("      - v: 2\n", "      - defined_in: x\n"),
         "models/schema.yml:17: A version of model 'dim_customers' needs `v:`, a number or a name (e.g. v: 2)."),
        (("      - v: 2\n", "      - v: 2\n        defind_in: dim_customers\n"),
         "models/schema.yml:18: Unknown key 'defind_in' in a version of model 'dim_customers'. Did you mean "
         "'defined_in'? Allowed keys: access, "
         "columns, config, constraints, data_tests, defined_in, deprecation_date, description, docs, meta, tags, "
         "tests, v."),
        (("            exclude: [country]\n", "            exclude: [county]\n"),
         "models/schema.yml:14: A version of model 'dim_customers' includes or excludes column 'county', which the "
         "model does not list under its columns."),
    ],
)  # fmt: skip
def test_a_malformed_versions_entry_is_an_error_at_its_line(northstar, change, error):
    schema = (PROJECTS / "versions/models/schema.yml").read_text()
    assert change[0] in schema
    code, output, _ = northstar("versions", {"models/schema.yml": schema.replace(*change, 1)})
    assert (code, output.splitlines()[-1]) == (2, f"Error: {error}")


# --- groups, access, deprecation dates ------------------------------------------------------------------------------


def test_groups_and_access_build_as_with_dbt_and_deprecated_refs_warn(northstar, tmp_path):
    """finance/ models are in group finance (ledger private, totals public, past its deprecation date); campaigns,
    in group marketing, refs totals: allowed, with dbt's two warnings. manifest.json's groups and access."""
    code, output, built = northstar("groups")
    assert code == 0, output
    assert output.splitlines()[:2] == [
        "Warning: models/finance/schema.yml: Model 'totals' passed its deprecation date (2020-01-01T00:00:00+00:00). "
        "Disable or remove it.",
        "Warning: models/campaigns.sql: Model 'campaigns' refs 'totals', which was deprecated on "
        "2020-01-01T00:00:00+00:00. Move to its replacement.",
    ]
    assert built == {
        "main.campaigns": [(3000,)],
        "main.ledger": [(1, 1000), (2, 2000)],
        "main.orders": [(1, 10), (2, 20)],
        "main.totals": [(3000,)],
    }
    manifest = json.loads(Path("target/manifest.json").read_text())
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    ours = _governance(manifest)
    assert ours == {
        "model.governed.campaigns": ("marketing", "protected", None, "protected"),
        "model.governed.ledger": ("finance", "private", None, "private"),
        "model.governed.totals": ("finance", "public", "2020-01-01T00:00:00+00:00", "public"),
        "group.governed.finance": ("Finance team", "finance@example.com", "Money.", "models/groups.yml"),
        "group.governed.marketing": (None, "marketing@example.com", None, "models/groups.yml"),
        "group_map": {
            "finance": ["model.governed.ledger", "model.governed.totals"],
            "marketing": ["model.governed.campaigns"],
        },
    }
    if DBT:
        output = same_as_dbt(tmp_path, "groups", None, built)
        assert "Model totals has passed its deprecation date of 2020-01-01T00:00:00+00:00" in output
        assert "Found a reference to totals, which was deprecated on '2020-01-01T00:00:00+00:00'" in output
        assert _governance(json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())) == ours


def _governance(manifest: dict) -> dict:
    found = {
        uid: (node["group"], node["access"], node["deprecation_date"], node["config"]["access"])
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    for uid, group in manifest["groups"].items():
        found[uid] = (
            group["owner"]["name"],
            group["owner"]["email"],
            group["description"],
            group["original_file_path"],
        )
    found["group_map"] = {uid: sorted(members) for uid, members in manifest["group_map"].items()}
    return found


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"models/old_report.sql": "select * from {{ ref('ledger') }}\n"},
         "models/old_report.sql: Model 'old_report' (models/old_report.sql) refs 'ledger' (models/finance/ledger.sql), "
         "which is private to group 'finance'. Put 'old_report' in that group, or give 'ledger' access: protected or "
         "public."),
        ({"models/finance/schema.yml": "models:\n  - name: ledger\n    access: privat\n"},
         "models/finance/schema.yml: Model 'ledger' has access 'privat'. Use one of: private, protected, public."),
        ({"models/finance/schema.yml": "models:\n  - name: ledger\n    group: financ\n"},
         "models/finance/schema.yml: Model 'ledger' is in group 'financ', which no `groups:` entry declares. Did you "
         "mean 'finance'? Declare it in a property file (`groups: [{name: ..., owner: {name: ...}}]`)."),
        ({"models/groups.yml": "groups:\n  - name: finance\n    owner: {}\n"},
         "models/groups.yml:3: Group 'finance' needs an owner with a name or an email, e.g. `owner: {name: Finance, "
         "email: finance@example.com}`."),
        ({"models/finance/schema.yml": "models:\n  - name: totals\n    deprecation_date: soon\n"},
         "models/finance/schema.yml:3: deprecation_date 'soon' is not a date. Write it as YYYY-MM-DD (or with a "
         "time, 2025-06-30T12:00:00)."),
    ],
)  # fmt: skip
def test_a_governance_mistake_is_an_error(northstar, tmp_path, files, error):
    """dbt refuses each of these too."""
    code, output, built = northstar("groups", files)
    assert (code, output.splitlines()[-1], built) == (2, f"Error: {error}", {})
    if DBT:
        assert dbt(tmp_path, "groups", files)[0] != 0


# --- analyses -------------------------------------------------------------------------------------------------------


def test_analyses_are_compiled_with_refs_resolved_and_never_run(northstar, tmp_path, run_cli):
    """`build` leaves analyses alone (no relation, no compiled file), `compile` writes them to target/compiled/ with
    ref() and var() rendered, `ls --resource-type analysis` lists them; manifest.json as dbt writes them."""
    code, output, built = northstar("analyses")
    assert code == 0, output
    assert list(built) == ["main.customers", "main.orders"]
    assert not Path("target/compiled/analysed/analyses").exists()
    compiled = run_cli(Path.cwd(), "compile", "--vars", "{top: 2}")
    assert compiled.exit_code == 0, compiled.output
    assert compiled.output.endswith(f"Compiled 1 models and 1 analysis to {Path.cwd() / 'target/compiled/analysed'}\n")
    sql = Path("target/compiled/analysed/analyses/reports/top_customers.sql").read_text()
    assert sql == "-- the best customers\nselect * from main.customers\norder by revenue desc\nlimit 2\n"
    assert run_cli(Path.cwd(), "ls", "--resource-type", "analysis").output == "top_customers\n"
    assert "top_customers" not in run_cli(Path.cwd(), "ls").output
    manifest = json.loads(Path("target/manifest.json").read_text())
    pytest.importorskip("dbt_artifacts_parser.parser").parse_manifest(manifest)
    keys = ("path", "original_file_path", "fqn", "depends_on", "description", "refs", "alias", "relation_name")
    ours = {k: manifest["nodes"]["analysis.analysed.top_customers"][k] for k in (*keys, "patch_path")}
    assert ours == {
        "path": "analysis/reports/top_customers.sql",
        "original_file_path": "analyses/reports/top_customers.sql",
        "fqn": ["analysed", "analysis", "reports", "top_customers"],
        "depends_on": {"macros": [], "nodes": ["model.analysed.customers"]},
        "description": "The best ones.",
        "refs": [{"name": "customers", "package": None, "version": None}],
        "alias": "top_customers",
        "relation_name": None,
        "patch_path": "analysed://analyses/props.yml",
    }
    if DBT:
        same_as_dbt(tmp_path, "analyses", None, built)
        assert dbt(tmp_path / "again", "analyses", None, "compile", "--vars", "{top: 2}")[0] == 0
        theirs = json.loads((tmp_path / "again" / "dbt" / "target" / "manifest.json").read_text())
        assert {k: theirs["nodes"]["analysis.analysed.top_customers"][k] for k in (*keys, "patch_path")} == ours
        written = tmp_path / "again" / "dbt" / "target/compiled/analysed/analyses/reports/top_customers.sql"
        assert written.read_text().replace('"warehouse"."main"."customers"', "main.customers") + "\n" == sql


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"analyses/reports/top_customers.sql": "select * from {{ ref('customer') }}\n"},
         "analyses/reports/top_customers.sql:1: ref('customer') names no model or seed. Did you mean 'customers'?"),
        ({"analyses/props.yml": "analyses:\n  - name: top_customer\n"},
         "analyses/props.yml:2: Properties are given for analysis 'top_customer', but no analysis has that name. Fix "
         "the name or remove the entry."),
        ({"analyses/props.yml": "analyses:\n  - name: top_customers\n    materialized: table\n"},
         "analyses/props.yml:3: Unknown key 'materialized' in analysis 'top_customers'. Allowed keys: columns, "
         "config, description, docs, meta, name, tags."),
    ],
)  # fmt: skip
def test_an_analysis_mistake_is_an_error(northstar, files, error):
    code, output, built = northstar("analyses", files)
    assert (code, output.splitlines()[-1], built) == (2, f"Error: {error}", {})


# --- dbt 1.10+ spellings ------------------------------------------------------------------------------------------

COLUMN_CONFIG = {
    "models/schema.yml": """
        version: 2
        models:
          - name: customers
            columns:
              - name: revenue
                tags: [money]
                config:
                  meta: {unit: euro}
                  tags: [finance]
                data_tests: [not_null]
              - name: orders
                data_tests: [not_null]
        """
}


def test_a_columns_config_meta_and_tags_are_read_and_its_tests_get_the_tags(northstar, tmp_path, run_cli):
    """dbt 1.10 reads a column's meta and tags under `config:` (it was an unknown key); the column's tags are its
    tests', so `-s tag:finance` selects the test on revenue alone, as dbt ls does."""
    code, output, built = northstar("docsblocks", COLUMN_CONFIG)
    assert code == 0, output
    assert run_cli(Path.cwd(), "ls", "-s", "tag:finance").output == "not_null_customers_revenue\n"
    manifest = json.loads(Path("target/manifest.json").read_text())
    revenue = manifest["nodes"]["model.documented.customers"]["columns"]["revenue"]
    assert (revenue["meta"], revenue["tags"]) == ({"unit": "euro"}, ["money", "finance"])
    if DBT:
        same_as_dbt(tmp_path, "docsblocks", COLUMN_CONFIG, built)
        listed = dbt(tmp_path / "ls", "docsblocks", COLUMN_CONFIG, "ls", "-s", "tag:finance")[1]
        assert "documented.not_null_customers_revenue" in listed
        assert "not_null_customers_orders" not in listed
        theirs = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
        column = theirs["nodes"]["model.documented.customers"]["columns"]["revenue"]
        assert (column["meta"], sorted(column["tags"])) == (
            revenue["meta"],
            sorted(revenue["tags"]),
        )  # dbt's order varies


def test_an_unknown_key_in_a_columns_config_is_refused(northstar):
    files = {"models/schema.yml": COLUMN_CONFIG["models/schema.yml"].replace("meta: {unit: euro}", "colour: red")}
    code, output, _ = northstar("docsblocks", files)
    assert (code, output.splitlines()[-1]) == (
        2,
        "Error: models/schema.yml:8: Unknown key 'colour' in the config of column 'revenue'. Allowed keys: meta, tags.",
    )
