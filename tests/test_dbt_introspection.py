"""dbt projects whose Jinja asks the warehouse while rendering (run_query, statement/load_result, adapter.get_relation,
adapter.get_columns_in_relation, execute), and hooks (pre_hook/post_hook, on-run-start/on-run-end).

Each suite project (tests/dbt_projects/introspection, tests/dbt_projects/hooks) is built by Northstar and its tables
compared whole; with NORTHSTAR_TEST_DBT=1 (or the path of a dbt executable) dbt-duckdb builds the same project and
every relation is compared table by table.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import test_dbt_projects as suite
from test_dbt_projects import DBT, dbt, same_as_dbt

northstar = suite.northstar  # the suite's fixture: build a copy of a tests/dbt_projects project

# --- introspection -------------------------------------------------------------------------------------------------

PAYMENTS = [
    (1, 1, "card", 10.5, date(2024, 1, 2)),
    (2, 1, "cash", 4.0, date(2024, 1, 3)),
    (3, 2, "card", 7.25, date(2024, 1, 3)),
    (4, 3, "voucher", 2.0, date(2024, 1, 5)),
    (5, 2, "cash", 1.75, date(2024, 1, 6)),
]
FACTS = (
    5, Decimal("25.5"), "2024-01-06", "voucher", Decimal("5.1"), True, 1, "5",
    "n,total,last_day,last_method,mean,big", True, True, "payments",
    "payment_id,customer_id,method,amount,paid_on", "payment_id,customer_id,method,amount,paid_on",
    "INTEGER,INTEGER,character varying(256),DOUBLE,DATE", "INTEGER,INTEGER,VARCHAR,DOUBLE,DATE",
    2, "ab", 2, True,
)  # fmt: skip
INTROSPECTION_TABLES = {
    "main.payment_facts": [FACTS],
    "main.payments": PAYMENTS,
    "main.payments_by_method": [(1, 10.5, 4.0, 0.0), (2, 7.25, 1.75, 0.0), (3, 0.0, 0.0, 2.0)],
    "main.payments_parsed": [(5, 5)],
    "main.payments_slim": [(i, c, m) for i, c, m, _, _ in PAYMENTS],
}


def test_models_that_query_their_parents_while_rendering_build_as_with_dbt(northstar, tmp_path):
    """A pivot whose columns come from run_query on the seed, a column list from get_columns_in_relation (dispatched
    macros of a package written for this suite), statement/load_result, get_relation, api.Relation.create, Column
    objects, agate-like tables, and `execute` false while parsing (payments_parsed would say -1)."""
    code, output, built = northstar("introspection")
    assert code == 0, output
    assert built == INTROSPECTION_TABLES
    compiled = Path("target/compiled/shop/models/payments_by_method.sql").read_text()
    assert compiled.splitlines()[4:8] == [
        "    sum(case when method = 'card' then amount else 0 end) as \"paid_card\",",
        "    sum(case when method = 'cash' then amount else 0 end) as \"paid_cash\",",
        "    sum(case when method = 'voucher' then amount else 0 end) as \"paid_voucher\"",
        "from main.payments",
    ]
    if DBT:
        same_as_dbt(tmp_path, "introspection", None, built)


def test_an_introspecting_model_sees_what_its_parents_hold_on_every_build(northstar, run_cli):
    code, output, built = northstar("introspection")
    assert code == 0, output
    seed = Path("seeds/payments.csv")
    seed.write_text(seed.read_text() + "6,3,transfer,3.00,2024-01-07\n")
    result = run_cli(Path.cwd(), "build", "-s", "payments+")
    assert result.exit_code == 0, result.output
    with duckdb.connect("warehouse.duckdb", read_only=True) as connection:
        pivot = connection.execute("select * from main.payments_by_method order by all")
        assert [d[0] for d in pivot.description] == [
            "customer_id",
            "paid_card",
            "paid_cash",
            "paid_transfer",
            "paid_voucher",
        ]
        assert pivot.fetchall() == [(1, 10.5, 4.0, 0.0, 0.0), (2, 7.25, 1.75, 0.0, 0.0), (3, 0.0, 0.0, 3.0, 2.0)]
    # Nothing changed, yet what the warehouse holds decides its SQL: it is built again, never kept.
    again = run_cli(Path.cwd(), "build", "-s", "payments_by_method")
    assert "created table main.payments_by_method" in again.output


def test_a_ref_made_only_while_running_is_an_error_asking_for_depends_on(northstar, tmp_path):
    """As dbt: the statement block's ref() is not seen while parsing, so the DAG does not know the edge."""
    facts = (Path(__file__).parent / "dbt_projects/introspection/models/payment_facts.sql").read_text()
    files = {"models/payment_facts.sql": facts.split("\n", 1)[1]}  # without its `-- depends_on:` line
    code, output, built = northstar("introspection", files)
    assert code == 1
    assert output.split("\n\n")[-1] == (
        "ERROR models/payment_facts.sql:5: Model 'payment_facts' calls ref('payments') only while it runs (inside "
        "{% if execute %} or a statement block), so the build did not know it reads 'payments' and may not have "
        "built it first. Add `-- depends_on: {{ ref('payments') }}` at the top of the model.\n"
    )
    assert built == {}
    if DBT:
        code, output, _ = dbt(tmp_path, "introspection", files)
        assert code == 1
        assert "-- depends_on: {{ ref('payments') }}" in output


def test_compile_renders_an_introspecting_model_against_the_published_warehouse(northstar, run_cli):
    code, output, _ = northstar("introspection", None, "compile", "payments_by_method")
    assert (code, output) == (
        2,
        "Error: models/payments_by_method.sql: Model 'payments_by_method' calls run_query() at line 2, so its SQL "
        "depends on what its parents hold in the warehouse (read there, as dbt compile does), and warehouse.duckdb "
        "does not exist yet. Build its parents first: `metrics build -s +payments_by_method --exclude "
        "payments_by_method`, then compile again.\n",
    )
    assert run_cli(Path.cwd(), "seed").exit_code == 0
    result = run_cli(Path.cwd(), "compile", "payments_by_method")
    assert result.exit_code == 0, result.output
    assert 'as "paid_voucher"\nfrom main.payments\ngroup by customer_id\n' in result.output
    lineage = run_cli(Path.cwd(), "lineage", "payments_by_method")  # of the SQL the published warehouse gives
    assert lineage.output.splitlines()[3:7] == [
        "├── payments_by_method.paid_card",
        "│   ├── payments.amount",
        "│   ├── payments.method",
        "│   └── payments.customer_id [filter]",
    ]


def test_a_model_may_only_read_while_it_renders(northstar):
    model = (
        "{% if execute %}{% do run_query('create table main.sneaky as select 1 as x') %}{% endif %}\nselect 1 as x\n"
    )
    code, output, built = northstar("introspection", {"models/writer.sql": model})
    assert code == 1
    assert output.split("\n\n")[-1] == (
        "ERROR models/writer.sql:1: A query run while rendering (statement 'run_query_statement') is a CREATE "
        "statement. A model's SQL may only read the warehouse while it renders (SELECT, DESCRIBE, SHOW); make "
        "changes in a pre_hook or an on-run-start hook.\n"
    )
    assert built == {}


def test_an_ephemeral_model_that_introspects_is_refused(northstar):
    model = "{{ config(materialized='ephemeral') }}\nselect {{ toolkit.columns_except(ref('payments')) }}\n"
    model += "from {{ ref('payments') }}\n"
    code, output, _ = northstar("introspection", {"models/eph.sql": model})
    assert (code, output) == (
        2,
        "Error: models/eph.sql:2: Model 'eph' is ephemeral and calls adapter.get_columns_in_relation() at line 2, "
        "which queries the warehouse while rendering; Northstar inlines ephemeral models before the build starts. "
        "Materialize it as a view.\n",
    )


def test_using_run_query_results_while_parsing_is_an_error_as_in_dbt(northstar):
    model = "{% set r = run_query('select 1 as a') %}\nselect {{ r.columns[0].values()[0] }} as a\n"
    code, output, _ = northstar("introspection", {"models/unguarded.sql": model})
    assert code == 2
    assert output.startswith(
        "Error: models/unguarded.sql:2: Jinja error: run_query() answers nothing while execute is false (as when "
        "dbt parses the project): use its result inside {% if execute %} ... {% endif %}."
    )


# --- hooks ---------------------------------------------------------------------------------------------------------

HOOK_LOG = [
    (1, "start nightly dev True"),
    (2, "seed post orders 3"),
    (3, "before begin"),
    (4, "folder pre customers"),
    (5, "model pre main customers"),
    (6, "folder post 2"),
    (7, "model post 70"),
    (8, "folder after commit"),
    (9, "after commit"),
    (10, "end orders success main"),
    (11, "end customers success main"),
    (12, "schemas main 1"),
]


def test_hooks_run_in_dbt_order_with_their_jinja_rendered(northstar, tmp_path):
    """on-run-start, a seed's post-hook, then per model: before_begin pre-hooks, the folder's +pre-hook, the model's,
    the model, the post-hooks (a folder's `{sql, transaction: false}` and after_commit() last), then on-run-end
    with results, schemas and database_schemas; hooks see this, var, target and execute."""
    code, output, built = northstar("hooks")
    assert code == 0, output
    assert built == {
        "main.customers": [(1, 2, 60), (2, 1, 10)],  # the post-hook doubled the revenue
        "main.hook_log": HOOK_LOG,
        "main.orders": [(1, 1, 10), (2, 1, 20), (3, 2, 5)],
    }
    manifest = json.loads(Path("target/manifest.json").read_text())
    hooks = manifest["nodes"]["model.shop.customers"]["config"]["post-hook"]
    assert [(hook["transaction"], hook["index"]) for hook in hooks] == [
        (False, 0),
        (True, 1),
        (False, 2),
        (True, 3),
        (True, 4),
    ]
    if DBT:
        same_as_dbt(tmp_path, "hooks", None, built)


def test_a_failing_run_hook_fails_the_build_and_publishes_nothing(northstar):
    project = (Path(__file__).parent / "dbt_projects/hooks/dbt_project.yml").read_text()
    broken = project.replace("create table if not exists main.hook_log", "create tabel main.hook_log")
    code, output, built = northstar("hooks", {"dbt_project.yml": broken})
    assert code == 1
    assert output.splitlines()[-4:] == [
        'Error: dbt_project.yml:7: on-run-start hook 1 failed: Parser Error: syntax error at or near "tabel"',
        "The statement, as rendered:",
        "create tabel main.hook_log (seq integer, event varchar)",
        "Nothing was published.",
    ]
    assert built == {}


def test_a_hook_whose_jinja_fails_names_the_hook(northstar):
    model = (Path(__file__).parent / "dbt_projects/hooks/models/marts/customers.sql").read_text()
    code, output, built = northstar("hooks", {"models/marts/customers.sql": model.replace("'scale', 2", "'scael'")})
    assert code == 1
    assert output.split("\n\n")[-1] == (
        "ERROR models/marts/customers.sql: post_hook 4 of model 'customers' (\"update {{ this }} set revenue = "
        "revenue * {{ var('scael') }}\"): var('scael') is not defined. Set it under `vars:` in the project file, "
        "pass --vars '{scael: ...}', or give a default: var('scael', ...).\n"
    )
    assert built == {}


def test_a_package_with_run_hooks_is_refused_by_name(northstar):
    package = "name: my_utils\nversion: '1.0.0'\nconfig-version: 2\non-run-end: [\"select 1\"]\n"
    code, output, _ = northstar("packages", {"dbt_packages/my_utils/dbt_project.yml": package})
    assert (code, output) == (
        2,
        "Error: dbt_packages/my_utils/dbt_project.yml:4: Package 'my_utils' has 'on-run-end' hooks; Northstar runs "
        "the root project's run hooks only, not those of installed packages. Copy the statements into the root "
        "dbt_project.yml, or remove the package.\n",
    )


class _Counting:
    """A DuckDB connection that counts the queries it runs."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.queries: list[str] = []

    def execute(self, sql: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        self.queries.append(sql)
        return self.connection.execute(sql, parameters)

    def extract_statements(self, sql: str) -> list[duckdb.Statement]:  # parses, runs nothing
        return self.connection.extract_statements(sql)


def test_each_introspecting_call_is_one_duckdb_query():
    from northstar.render.introspect import Live
    from northstar.render.jinja import Relation

    connection = duckdb.connect()
    connection.execute("create table payments as select 1 as id, 'card' as method")
    counting = _Counting(connection)
    live = Live(counting, "m.sql", read_only=True, database="memory")  # type: ignore[arg-type]
    table = live.run_query("select distinct method from payments")
    relation = live.get_relation(None, "MAIN", "payments")
    columns = live.get_columns_in_relation(Relation("main", "payments"))
    live.statement("s", fetch_result=True, caller=lambda: "select 42 as n")
    assert len(counting.queries) == 4
    assert (table.columns[0].values(), relation, relation.is_table) == (("card",), Relation("main", "payments"), True)
    assert [(c.name, c.dtype, c.data_type) for c in columns] == [
        ("id", "INTEGER", "INTEGER"),
        ("method", "VARCHAR", "character varying(256)"),
    ]
    assert live.load_result("s")["data"] == [(42,)] and str(live.load_result("s")["response"]) == "OK"
    assert live.get_relation("other_db", "main", "payments") is None and len(counting.queries) == 4
