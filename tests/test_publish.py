"""Publishing: BI readers across builds, builds killed at random moments, concurrent builds, other tools' data."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import query

from northstar.console import Reporter
from northstar.engine.pipeline import BuildOptions, build
from northstar.errors import ProjectError
from northstar.project.loader import load_project
from northstar.warehouse import working_copy as warehouse

# Every model carries the build's version; a consistent warehouse has one version everywhere.
VERSIONED = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        models:
          +materialized: table
        seeds:
          +schema: raw
    """,
    "seeds/orders.csv": "order_id,customer_id,amount\n1,1,10.5\n2,1,20\n3,2,7.25\n",
    **{
        f"models/m{i}.sql": (
            "select {{ var('version', 0) }} as version, count(*) as n, sum(range % 7) as s "
            f"from {{{{ ref('{'orders' if i == 0 else f'm{i - 1}'}') }}}}, range(2000000 + {i})\n"
        )
        for i in range(6)
    },
}
MODELS = [f"m{i}" for i in range(6)]


def metrics(root: Path, *args: str, **kwargs) -> subprocess.Popen:
    """``metrics ARGS`` in a separate process, as a user or a scheduler would run it."""
    script = Path(sys.executable).with_name("metrics")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "northstar"]
    return subprocess.Popen(
        [*command, *args, "--project-dir", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def versions(root: Path) -> set[int]:
    """The versions found in the published warehouse, after checking it is readable and every table complete."""
    sql = " union all ".join(f"select '{m}', version, n from main.{m}" for m in MODELS)
    rows = query(root / "warehouse.duckdb", sql)
    assert sorted((m, n) for m, _, n in rows) == [
        (m, (3 if i == 0 else 1) * (2000000 + i)) for i, m in enumerate(MODELS)
    ]
    return {version for _, version, _ in rows}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".warehouse.duckdb"))


READER = textwrap.dedent(
    """
    import sys, duckdb
    connection = duckdb.connect(sys.argv[1], read_only=True)
    for line in sys.stdin:
        if line.strip() == "reconnect":
            connection.close()
            connection = duckdb.connect(sys.argv[1], read_only=True)
        print(connection.execute("select sum(revenue) from marts.customers").fetchone()[0], flush=True)
    """
)


def test_a_reader_in_another_process_keeps_working_across_a_build(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root / "warehouse.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def ask(command: str = "query") -> str:
            reader.stdin.write(command + "\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert ask() == "37.75"
        (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,1,100.5\n")
        result = run_cli(root, "build")
        assert result.exit_code == 0, result.output
        assert ask() == "37.75"  # the reader still holds the previous complete warehouse
        assert ask("reconnect") == "100.5"
    finally:
        reader.stdin.close()
        reader.wait(timeout=10)
    assert leftovers(root) == []


def test_builds_killed_at_random_moments_never_damage_the_published_warehouse(make_project):
    root = make_project(VERSIONED, base={})
    first = metrics(root, "build", "-q", "--vars", "{version: 1}")
    assert first.wait(timeout=60) == 0, first.stdout.read()
    assert versions(root) == {1}
    started = time.perf_counter()
    timed = metrics(root, "build", "-q", "--vars", "{version: 2}")
    assert timed.wait(timeout=60) == 0
    duration = time.perf_counter() - started
    published = 2
    rng = random.Random(7)
    for attempt in range(3, 9):
        process = metrics(root, "build", "-q", "--vars", f"{{version: {attempt}}}")
        time.sleep(rng.uniform(0.0, duration * 1.1))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        found = versions(root)
        assert found in ({published}, {attempt}), (attempt, found)
        published = found.pop()
    final = metrics(root, "build", "-q", "--vars", "{version: 99}")
    output = final.communicate(timeout=60)[0]
    assert final.returncode == 0, output
    assert versions(root) == {99}
    assert leftovers(root) == []


def test_a_second_build_waits_for_the_first(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    with warehouse.build_lock(root / "warehouse.duckdb"):
        waiting = metrics(root, "build", "-q")
        line = waiting.stdout.readline()
        assert line == f"Waiting for another build of warehouse.duckdb (pid {os.getpid()}) to finish...\n"
        assert waiting.poll() is None
    output = waiting.communicate(timeout=60)[0]
    assert waiting.returncode == 0, output
    assert output.startswith("\nFinished 3 nodes")


def test_no_wait_fails_clearly_while_another_build_runs(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    before = query(root / "warehouse.duckdb", "select * from marts.customers order by 1")
    with warehouse.build_lock(root / "warehouse.duckdb"):
        result = run_cli(root, "build", "--no-wait")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {root / 'warehouse.duckdb.lock'}: Another build of warehouse.duckdb is running (pid {os.getpid()}). "
        "Wait for it to finish, or run without --no-wait to queue behind it.\n"
    )
    assert query(root / "warehouse.duckdb", "select * from marts.customers order by 1") == before


def test_two_builds_started_together_both_succeed(make_project):
    root = make_project(VERSIONED, base={})
    one = metrics(root, "build", "-q", "--vars", "{version: 1}")
    two = metrics(root, "build", "-q", "--vars", "{version: 2}")
    assert one.wait(timeout=120) == 0
    assert two.wait(timeout=120) == 0
    assert versions(root) in ({1}, {2})
    assert leftovers(root) == []


def load_events(path: Path, sql: str = "create or replace table el.raw_events as select range as id from range(5)"):
    """What an EL tool does: open the published warehouse for writing and load a raw table."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists el")
        connection.execute(sql)


def test_tables_other_tools_load_between_builds_are_kept(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    load_events(root / "warehouse.duckdb")
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("create view el.recent as select * from el.raw_events where id > 2")
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,1,100\n")
    assert run_cli(root, "build").exit_code == 0
    assert run_cli(root, "build", "--full-refresh").exit_code == 0
    assert query(root / "warehouse.duckdb", "select count(*) from el.raw_events") == [(5,)]
    assert query(root / "warehouse.duckdb", "select id from el.recent order by 1") == [(3,), (4,)]
    assert query(root / "warehouse.duckdb", "select revenue from marts.customers") == [(100.0,)]


class LoadDuringBuild(Reporter):
    """A reporter that, when the first node finishes, lets an EL tool write into the published file."""

    def __init__(self, action) -> None:
        super().__init__(quiet=True)
        self.action = action
        self.notes: list[str] = []
        self._done = False

    def result(self, result) -> None:
        super().result(result)
        if not self._done:
            self._done = True
            self.action()

    def waiting(self, message: str) -> None:
        self.notes.append(message)


def test_a_load_during_a_build_is_carried_into_the_new_version(make_project, run_cli):
    root = make_project()
    published = root / "warehouse.duckdb"
    assert run_cli(root, "build").exit_code == 0
    load_events(published)
    load_events(published, "create table el.old_snapshot as select 1 as x")
    load_events(published, "create table el.steady as select 1 as x")  # not touched during the build
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,1,100\n")

    def el_tool() -> None:
        load_events(published, "insert into el.raw_events select range from range(5, 8)")
        load_events(published, "create table el.new_table as select 42 as answer")
        load_events(published, "drop table el.old_snapshot")

    reporter = LoadDuringBuild(el_tool)
    result = build(load_project(root), BuildOptions(), reporter)
    assert result.success
    assert query(published, "select count(*) from el.raw_events") == [(8,)]
    assert query(published, "select answer from el.new_table") == [(42,)]
    assert query(published, "select count(*) from information_schema.tables where table_name = 'old_snapshot'") == [
        (0,)
    ]
    assert query(published, "select revenue from marts.customers") == [(100.0,)]
    assert query(published, "select x from el.steady") == [(1,)]
    assert reporter.notes == [
        "el.old_snapshot was dropped by another tool during the build; dropped it too.",
        "el.new_table was written by another tool during the build; kept its latest data.",
        "el.raw_events was written by another tool during the build; kept its latest data.",
    ]


def test_a_build_waits_for_a_writer_to_close_the_published_file(make_project, run_cli):
    root = make_project()
    published = root / "warehouse.duckdb"
    assert run_cli(root, "build").exit_code == 0
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\n"
            "c = duckdb.connect(sys.argv[1])\n"
            "c.execute('create schema el; create table el.raw_events as select 1 as id')\n"
            "print('open', flush=True)\n"
            "sys.stdin.readline()\n"
            "c.execute('insert into el.raw_events values (2)')\n"
            "c.close()\n",
            str(published),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline() == "open\n"
    messages: list[str] = []
    reporter = Reporter(quiet=True)
    reporter.waiting = messages.append  # type: ignore[method-assign]
    released = threading.Timer(0.5, lambda: (writer.stdin.write("go\n"), writer.stdin.flush()))
    released.start()
    result = build(load_project(root), BuildOptions(), reporter)
    writer.wait(timeout=10)
    assert result.success
    assert messages[0] == f"Waiting for process {writer.pid} to finish writing to warehouse.duckdb..."
    assert query(published, "select id from el.raw_events order by 1") == [(1,), (2,)]


def test_a_crashed_writers_log_is_folded_in_and_never_left_behind(make_project, run_cli):
    root = make_project()
    published = root / "warehouse.duckdb"
    assert run_cli(root, "build").exit_code == 0
    crash = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, duckdb\n"
            "c = duckdb.connect(sys.argv[1])\n"
            "c.execute('create schema el; create table el.raw_events as select 7 as id')\n"
            "os._exit(0)\n",
            str(published),
        ]
    )
    assert crash.returncode == 0
    assert (root / "warehouse.duckdb.wal").exists()
    assert run_cli(root, "build").exit_code == 0
    assert not (root / "warehouse.duckdb.wal").exists()
    assert query(published, "select id from el.raw_events") == [(7,)]


def test_a_build_killed_between_moving_the_log_aside_and_the_swap_loses_nothing(make_project, run_cli):
    root = make_project()
    published = root / "warehouse.duckdb"
    assert run_cli(root, "build").exit_code == 0
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, duckdb\n"
            "c = duckdb.connect(sys.argv[1])\n"
            "c.execute('create schema el; create table el.raw_events as select 7 as id')\n"
            "os._exit(0)\n",
            str(published),
        ],
        check=True,
    )
    # What a kill right after publish() set the log aside, before the rename, leaves behind:
    os.replace(root / "warehouse.duckdb.wal", root / f".warehouse.duckdb.wal-set-aside-{published.stat().st_ino}")
    (root / ".warehouse.duckdb.build-1-2").write_bytes(b"half a copy")
    assert run_cli(root, "build").exit_code == 0
    assert query(published, "select id from el.raw_events") == [(7,)]
    assert leftovers(root) == []


def test_copy_file_reports_how_it_copied(tmp_path):
    source = tmp_path / "a"
    source.write_bytes(os.urandom(3 << 20))
    method = warehouse.copy_file(source, tmp_path / "b")
    assert method in ("reflink", "copy_file_range", "copy")
    assert (tmp_path / "b").read_bytes() == source.read_bytes()


def test_a_failed_build_leaves_no_copy_behind(make_project, run_cli):
    root = make_project({"models/marts/broken.sql": "select nope from {{ ref('stg_orders') }}\n"})
    assert run_cli(root, "build").exit_code == 1
    assert not (root / "warehouse.duckdb").exists()
    assert leftovers(root) == []


def test_a_build_that_changed_nothing_leaves_the_published_file_in_place(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    before = (root / "warehouse.duckdb").stat()
    assert run_cli(root, "build").exit_code == 0
    after = (root / "warehouse.duckdb").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    (root / "models/marts/customers.sql").write_text("select 1 as customer_id\n")
    assert run_cli(root, "build").exit_code == 0
    assert (root / "warehouse.duckdb").stat().st_ino != before.st_ino
    assert query(root / "warehouse.duckdb", "select * from marts.customers") == [(1,)]
    assert leftovers(root) == []


def test_a_writer_that_never_lets_go_is_named_in_a_clear_error(make_project, run_cli):
    root = make_project()
    published = root / "warehouse.duckdb"
    assert run_cli(root, "build").exit_code == 0
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\nc = duckdb.connect(sys.argv[1])\nprint('open', flush=True)\nsys.stdin.readline()\n",
            str(published),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline() == "open\n"
        with pytest.raises(ProjectError) as caught, warehouse.no_writers(published, timeout=0.2):
            pass
        assert str(caught.value) == (
            f"{published}: Process {writer.pid} keeps warehouse.duckdb open for writing. Nothing was published. "
            "Close that connection (or make the tool disconnect between loads) and build again."
        )
    finally:
        writer.stdin.close()
        writer.wait(timeout=10)


def test_working_copy_publishes_only_when_asked_and_never_after_an_exception(tmp_path):
    from northstar.warehouse.working_copy import working_copy

    published = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(published)) as connection:
        connection.execute("create table kept as select 1 as x")

    def tables() -> list[str]:
        with duckdb.connect(str(published), read_only=True) as connection:
            return [
                row[0] for row in connection.execute("select table_name from duckdb_tables() order by 1").fetchall()
            ]

    def add_table(path) -> None:
        with duckdb.connect(str(path)) as connection:
            connection.execute("create table added as select 2 as y")

    with working_copy(published) as draft:  # not asked to publish: dropped
        add_table(draft.path)
    assert tables() == ["kept"]
    with pytest.raises(RuntimeError), working_copy(published) as draft:
        add_table(draft.path)
        draft.publish_on_exit(frozenset({("main", "added")}))
        raise RuntimeError("a node failed")
    assert tables() == ["kept"]
    with working_copy(published) as draft:
        add_table(draft.path)
        draft.publish_on_exit(frozenset({("main", "added")}))
    assert tables() == ["added", "kept"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["warehouse.duckdb"]


def copies_of(monkeypatch) -> list[Path]:
    """The working copies builds make from now on (their paths), as a list that fills as they are made."""
    copies: list[Path] = []
    real_copy = warehouse.copy_file
    monkeypatch.setattr(
        warehouse, "copy_file", lambda source, target: copies.append(target) or real_copy(source, target)
    )
    return copies


def test_a_build_that_keeps_everything_copies_nothing(make_project, run_cli, monkeypatch):
    root = make_project(
        {
            "models/marts/_tests.yml": """
                version: 2
                models:
                  - name: customers
                    columns:
                      - name: customer_id
                        data_tests: [unique, not_null]
            """
        }
    )
    assert run_cli(root, "build").exit_code == 0
    copies = copies_of(monkeypatch)
    published = root / "warehouse.duckdb"
    before = published.stat()

    result = run_cli(root, "build")  # every model kept, the tests run on the published file, read-only
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("Nothing changed: warehouse.duckdb is up to date."), result.output
    assert "PASS  unique_customers_customer_id" in result.output
    assert copies == []
    after = published.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert leftovers(root) == []

    # A failing test still fails the build, and still copies nothing.
    with duckdb.connect(str(published)) as connection:
        connection.execute("insert into marts.customers values (1, 1, 1)")
    before = published.stat()
    result = run_cli(root, "build")
    assert result.exit_code == 1, result.output
    assert "FAIL  unique_customers_customer_id" in result.output
    assert "Nothing published: warehouse.duckdb is unchanged." in result.output
    assert copies == []
    assert published.stat().st_mtime_ns == before.st_mtime_ns

    # Whatever has to be written goes through a copy as before: a test that stores its failing rows...
    result = run_cli(root, "build", "--store-failures")
    assert result.exit_code == 1, result.output
    assert len(copies) == 1
    # ...and a changed model.
    (root / "models/marts/customers.sql").write_text("select 1 as customer_id\n")
    assert run_cli(root, "build").exit_code == 0
    assert len(copies) == 2
    assert query(published, "select * from marts.customers") == [(1,)]
    assert leftovers(root) == []


def test_a_full_refresh_of_everything_starts_from_an_empty_file(make_project, run_cli, monkeypatch):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    copies = copies_of(monkeypatch)
    published = root / "warehouse.duckdb"

    result = run_cli(root, "build", "--full-refresh")  # the file holds only what the build makes again
    assert result.exit_code == 0, result.output
    assert copies == []
    assert query(published, "select count(*) from marts.customers") == [(2,)]
    result = run_cli(root, "build")  # the new file records what it holds, as a copy would
    assert result.output.rstrip().endswith("Nothing changed: warehouse.duckdb is up to date."), result.output
    assert leftovers(root) == []

    # A full refresh of some nodes only keeps the others' tables: it copies.
    assert run_cli(root, "run", "--full-refresh", "-s", "customers").exit_code == 0
    assert len(copies) == 1
    assert query(published, "select count(*) from raw.orders") == [(3,)]


@pytest.mark.parametrize(
    ("made", "check", "expected"),
    [
        ("create table el.raw_events as select 1 as id", "select count(*) from el.raw_events", (1,)),
        ("create macro main.twice(x) as x * 2", "select main.twice(21)", (42,)),
        (
            "create sequence main.ids start 7",
            "select start_value from duckdb_sequences() where sequence_name = 'ids'",
            (7,),
        ),
        ("create type main.mood as enum ('ok')", "select 'ok'::main.mood::varchar", ("ok",)),
        ("select 1", "select count(*) from duckdb_schemas() where schema_name = 'el'", (1,)),  # an empty schema
    ],
    ids=["table", "macro", "sequence", "type", "schema"],
)
def test_a_full_refresh_keeps_what_other_tools_made(make_project, run_cli, monkeypatch, made, check, expected):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    load_events(root / "warehouse.duckdb", made)
    copies = copies_of(monkeypatch)
    result = run_cli(root, "build", "--full-refresh")
    assert result.exit_code == 0, result.output
    assert len(copies) == 1  # built in a copy of the file, so what the other tool made is still there
    assert query(root / "warehouse.duckdb", check) == [expected]


def test_a_plan_made_before_another_tool_wrote_is_made_again_on_the_copy(make_project, run_cli, monkeypatch):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    published = root / "warehouse.duckdb"
    real_start = warehouse.start_build

    def start_after_another_tool(path, on_wait=lambda message: None, replaced=None):
        # Between the plan (made on the published file) and the copy, another tool drops a table the plan keeps.
        with duckdb.connect(str(path)) as connection:
            connection.execute("drop view staging.stg_orders")
        return real_start(path, on_wait, replaced)

    monkeypatch.setattr(warehouse, "start_build", start_after_another_tool)
    (root / "models/marts/customers.sql").write_text("select customer_id from {{ ref('stg_orders') }} group by 1\n")
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    assert "created view staging.stg_orders" in result.output  # rebuilt: the plan was made again on the copy
    assert query(published, "select count(*) from staging.stg_orders") == [(3,)]
    assert query(published, "select * from marts.customers order by 1") == [(1,), (2,)]


def test_a_full_refresh_planned_before_another_tool_wrote_builds_in_a_copy(make_project, run_cli, monkeypatch):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    real_start = warehouse.start_build

    def start_after_another_tool(path, on_wait=lambda message: None, replaced=None):
        # The plan found only what the build makes again; before the copy, another tool loads a table.
        load_events(path)
        return real_start(path, on_wait, replaced)

    monkeypatch.setattr(warehouse, "start_build", start_after_another_tool)
    result = run_cli(root, "build", "--full-refresh")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select count(*) from el.raw_events") == [(5,)]
