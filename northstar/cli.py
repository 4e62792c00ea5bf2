"""The ``metrics`` command line: each command parses its options and calls one library function.

Heavy modules (duckdb, sqlglot, jinja2) are imported inside the commands so that ``metrics --help`` starts fast.
Exit codes follow dbt: 0 success, 1 a node failed, 2 a usage or project error.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from northstar import __version__
from northstar.errors import CompileError, NorthstarError, ProjectError

if TYPE_CHECKING:
    from datetime import datetime

    from northstar.project.loader import Project


class _Group(click.Group):
    """Turns our errors into a red ``Error: ...`` and an exit code; ``--debug`` shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NorthstarError as error:
            if ctx.meta.get("northstar.debug"):
                raise
            click.echo(click.style("Error: ", fg="red", bold=True) + str(error), err=True)
            ctx.exit(error.exit_code)
        except click.UsageError as error:
            # dbt takes `--select a b`; click reads b as a stray argument. Say how to write it here.
            command = error.ctx.command if error.ctx is not None else None
            takes_select = command is not None and any(p.name == "select" for p in command.params)
            if takes_select and error.message.startswith("Got unexpected extra argument"):
                hint = ". To select several nodes, quote them (-s 'a b') or repeat -s (-s a -s b)."
                raise click.UsageError(error.message + hint, error.ctx) from None
            raise
        except BrokenPipeError:
            # `metrics ls | head -1`: the reader has gone, as it may. Stop quietly like other Unix tools do (they die
            # of SIGPIPE, which shells report as 141); point stdout at /dev/null so the exit flush does not fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except OSError as error:  # a path the user gave that cannot be written: a message, not a traceback
            if ctx.meta.get("northstar.debug"):
                raise
            in_the_way = isinstance(error, FileExistsError | NotADirectoryError)
            why = "a file is in the way where a folder is needed" if in_the_way else (error.strerror or str(error))
            where = f"{error.filename}: " if error.filename else ""
            click.echo(
                click.style("Error: ", fg="red", bold=True) + f"{where}{why}. Check the path and its permissions.",
                err=True,
            )
            ctx.exit(2)
        except KeyboardInterrupt:
            publishes = ctx.invoked_subcommand in ("build", "run", "seed")  # the others write no warehouse
            text = "Interrupted: nothing was published." if publishes else "Interrupted."
            click.echo(click.style(text, fg="red"), err=True)
            ctx.exit(130)


project_dir_option = click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding project.yml (default: the current folder or the nearest one above it).",
)
select_option = click.option(
    "--select",
    "-s",
    multiple=True,
    help="Nodes to include, dbt syntax: name, +name (and parents), name+ (and children), tag:x, path:models/marts, "
    "source:raw.orders, test_type:unit, state:modified+; a,b intersects, 'a b' (or -s a -s b) unites.",
)
exclude_option = click.option("--exclude", multiple=True, help="Nodes to leave out, same syntax as --select.")
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Parallel threads (default: cores)."
)
vars_option = click.option("--vars", "vars_", default=None, help="YAML mapping of vars, e.g. '{vat_rate: 0.2}'.")
target_option = click.option(
    "--target", "-t", default=None, help="Target to build: one of project.yml's targets:, or a target in profiles.yml."
)


def _keep_profiles_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["profiles_dir"] = value


profiles_dir_option = click.option(
    "--profiles-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    expose_value=False,
    callback=_keep_profiles_dir,
    help="Folder holding profiles.yml (dbt projects only; default: $DBT_PROFILES_DIR, the current folder, ~/.dbt).",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print only errors and the summary.")
full_refresh_option = click.option(
    "--full-refresh", is_flag=True, help="Rebuild every node (incremental models from scratch); keep nothing unchanged."
)
no_wait_option = click.option("--no-wait", is_flag=True, help="Fail instead of waiting when another build runs.")
state_option = click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A previous run's target/ folder, for --select state:modified+ (nodes changed since that run).",
)


store_failures_option = click.option(
    "--store-failures", is_flag=True, help="Keep each data test's failing rows in the test_failures schema."
)
junit_option = click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the test results to this file as JUnit XML, for CI.",
)


def _show_engine_logs(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # Set on every invocation, so that one `-v` does not stay on for the next command run in the same process.
    logging.getLogger("northstar.engine_logs").setLevel(logging.DEBUG if value else logging.WARNING)


verbose_option = click.option(
    "--verbose",
    "-v",
    is_flag=True,
    expose_value=False,
    callback=_show_engine_logs,
    help="Also show the engine's own log lines on stderr: a local Spark's JVM start-up and warnings (otherwise "
    "kept in <location>/_northstar/spark.log). DuckDB has none.",
)


def _common(func: Any) -> Any:
    options = (project_dir_option, profiles_dir_option, vars_option, target_option, threads_option, verbose_option)
    for option in reversed(options):
        func = option(func)
    return func


def _load(project_dir: Path | None, vars_: str | None, target: str | None, threads: int | None) -> Project:
    from northstar.project.loader import find_project_root, load_project

    cli_vars = _parse_vars(vars_)
    if project_dir is not None:
        if not project_dir.is_dir():
            raise ProjectError(f"--project-dir {project_dir} is not a folder.")
        root = find_project_root(project_dir)
    else:
        root = find_project_root(Path.cwd())
    env = dict(os.environ)
    context = click.get_current_context(silent=True)
    profiles_dir = context.meta.get("profiles_dir") if context else None
    if profiles_dir is not None:  # as in dbt, the flag wins over $DBT_PROFILES_DIR
        env["DBT_PROFILES_DIR"] = str(profiles_dir)
    return load_project(root, cli_vars, target, threads, env)


def _parse_vars(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    from northstar.project import yamlfile

    data = yamlfile.loads(text, "--vars")
    if not isinstance(data, dict):
        raise ProjectError(f"--vars must be a YAML mapping such as '{{vat_rate: 0.2}}', got: {text}")
    return dict(data)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="northstar")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Northstar: build a DuckDB warehouse and its metrics from SQL models and YAML.

    \b
    Typical use, from a project folder:
      metrics build                 seeds, models, tests and metrics, in DAG order
      metrics build -s +fct_orders  the same for fct_orders and its parents only
      metrics compile stg_orders    print a model's rendered SQL
      metrics query north_star --by month
      metrics ls                    list the project's nodes
    """
    ctx.meta["northstar.debug"] = debug


def console() -> None:
    """The ``metrics`` executable (and ``python -m northstar``): :func:`main` in a short process of its own.

    Such a process makes many small objects and few reference cycles. At Python's default thresholds (700, 10, 10)
    the cycle collector walks the whole heap again and again as the manifest grows: 1.5 s of a 3.6 s
    ``metrics compile`` of 10,000 models. Here young objects are collected every 50,000 allocations and the whole
    heap almost never; at the end the heap is frozen, so the interpreter's exit does not walk it once more (20 ms
    of every command). Code calling :func:`main` itself (tests, a notebook) keeps its process's settings.
    """
    gc.set_threshold(50_000, 20, 100)
    try:
        main()
    finally:
        gc.freeze()


def _run_build(project: Project, quiet: bool, **options: Any) -> None:
    """Build with ``BuildOptions(**options)`` and exit 0 if every node succeeded, else 1."""
    from northstar.console import Reporter
    from northstar.engine.pipeline import BuildOptions, build

    if project.config.target.type == "spark":
        from northstar.spark.pipeline import build
    result = build(project, BuildOptions(**options), Reporter(quiet=quiet))
    sys.exit(0 if result.success else 1)


@main.command()
@_common
@select_option
@exclude_option
@full_refresh_option
@quiet_option
@no_wait_option
@state_option
@store_failures_option
@junit_option
def build(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    quiet: bool,
    no_wait: bool,
    state: Path | None,
    store_failures: bool,
    junit_xml: Path | None,
) -> None:
    """Build seeds, models, their tests and the metrics, in DAG order.

    Each model's tests run right after it; a failing error-severity test skips everything downstream. Each metric
    becomes a table in schema metrics once the models it reads are built, and its tests run after it. Everything
    builds into a private copy of the warehouse, published atomically only when every node succeeded.
    """
    project = _load(project_dir, vars_, target, threads)
    _run_build(
        project,
        quiet,
        command="build",
        kinds=frozenset({"seed", "model", "snapshot", "test", "metric"}),
        select=select,
        exclude=exclude,
        full_refresh=full_refresh,
        wait=not no_wait,
        state=state,
        store_failures=store_failures,
        junit_xml=junit_xml,
    )


@main.command()
@_common
@select_option
@exclude_option
@quiet_option
@no_wait_option
@store_failures_option
@junit_option
def test(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    quiet: bool,
    no_wait: bool,
    store_failures: bool,
    junit_xml: Path | None,
) -> None:
    """Test the published warehouse, and models on unit-test fixtures.

    \b
    -s stg_orders          the tests of stg_orders
    -s test_type:unit      only unit tests (no warehouse needed); also generic, singular
    """
    from northstar.console import Reporter
    from northstar.engine.pipeline import BuildOptions, run_tests

    project = _load(project_dir, vars_, target, threads)
    options = BuildOptions(
        select=select,
        exclude=exclude,
        wait=not no_wait,
        command="test",
        store_failures=store_failures,
        junit_xml=junit_xml,
    )
    if project.config.target.type == "spark":
        from northstar.spark.pipeline import run_tests
    result = run_tests(project, options, Reporter(quiet=quiet))
    sys.exit(0 if result.success else 1)


@main.command()
@_common
@select_option
@exclude_option
@full_refresh_option
@quiet_option
@no_wait_option
@state_option
def run(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    quiet: bool,
    no_wait: bool,
    state: Path | None,
) -> None:
    """Build models only (no seeds, no tests)."""
    project = _load(project_dir, vars_, target, threads)
    _run_build(
        project,
        quiet,
        command="run",
        kinds=frozenset({"model"}),
        select=select,
        exclude=exclude,
        full_refresh=full_refresh,
        wait=not no_wait,
        state=state,
    )


@main.command()
@_common
@select_option
@exclude_option
@quiet_option
@no_wait_option
def seed(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    quiet: bool,
    no_wait: bool,
) -> None:
    """Load the CSV files under seeds/ into the warehouse."""
    project = _load(project_dir, vars_, target, threads)
    _run_build(
        project, quiet, command="seed", kinds=frozenset({"seed"}), select=select, exclude=exclude, wait=not no_wait
    )


@main.command()
@_common
@select_option
@exclude_option
@quiet_option
@no_wait_option
def snapshot(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    quiet: bool,
    no_wait: bool,
) -> None:
    """Record what changed in the snapshots' rows since their last run.

    Snapshots are dbt's: {% snapshot %} blocks under snapshots/, or snapshots: in YAML. Each keeps every version of
    its query's rows; like a build, it runs in a private copy of the warehouse, published only if all succeed.
    """
    project = _load(project_dir, vars_, target, threads)
    _run_build(
        project,
        quiet,
        command="snapshot",
        kinds=frozenset({"snapshot"}),
        select=select,
        exclude=exclude,
        wait=not no_wait,
    )


@main.command(name="compile")
@click.argument("node", required=False)
@_common
@select_option
@exclude_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the SQL to this file.")
@click.option("--by", "by", multiple=True, help="For a metric: month|week|quarter|day|year or a dimension.")
@click.option(
    "--dialect",
    default="duckdb",
    show_default=True,
    help="Write NODE's SQL for this engine (snowflake, bigquery, postgres, ...), transpiled from DuckDB's.",
)
def compile_(
    node: str | None,
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    output: Path | None,
    by: tuple[str, ...],
    dialect: str,
) -> None:
    """Render models to SQL, without building anything.

    With NODE, print its rendered SQL (and write it to target/compiled/); without, write every selected model there.
    When NODE names a metric, print the metric's query (--by to group it, --dialect to transpile it).
    """
    from northstar.engine import artifacts
    from northstar.engine.manifest import load_manifest
    from northstar.engine.pipeline import BuildOptions, select_nodes
    from northstar.errors import did_you_mean
    from northstar.nodes import AnalysisNode, MetricNode, ModelNode, SnapshotNode, TestNode
    from northstar.render.deferred import render_on_published

    project = _load(project_dir, vars_, target, threads)
    if dialect != "duckdb" and not node:
        raise click.UsageError(
            f"--dialect {dialect} transpiles one NODE's SQL (metrics compile fct_orders --dialect {dialect}); "
            "target/compiled/ always holds the DuckDB SQL that builds run."
        )
    if node and _names_metric(project, node):
        from northstar.metrics.cli import compile_metric

        spark = project.config.target.type == "spark"
        sql = compile_metric(project, node, _split(by), "duckdb" if spark else dialect)
        if spark:  # the SQL Spark runs: sqlglot's translation with Northstar's rules (northstar/spark/transpile.py)
            sql = _spark_sql(sql)
        if output:
            _write_sql(output, sql)
        else:
            click.echo(sql)
        return
    manifest = load_manifest(project, metrics=False)  # tests compile too: `metrics compile TEST` shows SQL
    target_dir = project.config.target_dir
    if node:
        if node not in manifest.by_name:
            names = [*manifest.by_name, *_metric_names(project)]
            raise ProjectError(
                f"No model, seed, test or metric named '{node}'.{did_you_mean(node, names)} "
                "Run 'metrics ls' (or 'metrics ls --metrics') to list them."
            )
        # A model that queries the warehouse while rendering renders against the published one, as dbt compile.
        manifest = render_on_published(manifest, [manifest.by_name[node]])
        artifacts.write_manifest(manifest, target_dir)
        model = manifest.node(node)
        if not isinstance(model, ModelNode | SnapshotNode | TestNode | MetricNode | AnalysisNode):
            raise ProjectError(f"'{node}' is a {model.kind}; only models have compiled SQL.")
        spark = project.config.target.type == "spark"
        sql = _spark_sql(model.sql) if spark else model.sql
        artifacts.write_compiled(manifest, target_dir, [model.unique_id], translate=_spark_note if spark else None)
        if dialect != "duckdb":  # models are written in DuckDB's SQL, whatever the target
            from northstar.render.transpile import transpile

            sql = transpile(model.sql, dialect, f"{model.kind.capitalize()} '{node}'", model.path)
        if output:
            _write_sql(output, sql)
        else:
            click.echo(sql)
        return
    kinds = frozenset({"model", "analysis"})  # as dbt compile: analyses too, never run
    selected = select_nodes(manifest, BuildOptions(select=select, exclude=exclude, kinds=kinds))
    manifest = render_on_published(manifest, selected)
    artifacts.write_manifest(manifest, target_dir)
    spark = project.config.target.type == "spark"
    artifacts.write_compiled(manifest, target_dir, selected, translate=_spark_note if spark else None)
    where = artifacts.compiled_path(target_dir, project.config.name, "")
    analyses = sum(1 for uid in selected if isinstance(manifest.nodes[uid], AnalysisNode))
    also = f" and {analyses} {'analysis' if analyses == 1 else 'analyses'}" if analyses else ""
    click.echo(f"Compiled {len(selected) - analyses} models{also} to {where}")


def _spark_sql(sql: str) -> str:
    """The SQL a Spark target runs for ``sql``; a construct Spark cannot say is an error naming it."""
    from northstar.spark.transpile import Untranslatable, to_spark

    try:
        return to_spark(sql)
    except Untranslatable as error:
        raise CompileError(f"Cannot run on Spark: {error}") from None


def _spark_note(sql: str) -> str:
    from northstar.spark.transpile import to_spark_or_note

    return to_spark_or_note(sql)


@main.command(name="ls", short_help="List the project's nodes, or with --metrics its metrics.")
@_common
@select_option
@exclude_option
@click.option(
    "--resource-type",
    type=click.Choice(["model", "seed", "snapshot", "source", "test", "metric", "exposure", "analysis", "all"]),
    default="all",
    help="Only nodes of this kind.",
)
@click.option("--output", type=click.Choice(["name", "path", "json"]), default="name", help="What to print per node.")
@click.option("--metrics", "metrics_", is_flag=True, help="List metrics: type, description and owner.")
@state_option
def ls(
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    resource_type: str,
    output: str,
    metrics_: bool,
    state: Path | None,
) -> None:
    """List the project's nodes in DAG order (or, with --metrics, its metrics)."""
    import json

    from northstar.engine.manifest import load_manifest
    from northstar.engine.pipeline import BuildOptions, select_nodes

    project = _load(project_dir, vars_, target, threads)
    if metrics_:
        if select or exclude:  # it would silently list every metric
            raise click.UsageError(
                "--metrics lists every metric; to select some, use --resource-type metric with -s/--exclude."
            )
        from northstar.metrics.cli import list_metrics_text

        click.echo(list_metrics_text(project, output))
        return
    manifest = load_manifest(project, metrics=resource_type == "metric")  # metric nodes cost the metric compiler
    # As dbt ls, analyses only when asked for.
    kinds = {"model", "seed", "snapshot", "source", "test", "exposure"} if resource_type == "all" else {resource_type}
    modified = None
    if state is not None:
        from northstar.warehouse.state import modified_selector

        modified = modified_selector(manifest, state)
    options = BuildOptions(select=select, exclude=exclude, kinds=frozenset(kinds))
    for uid in select_nodes(manifest, options, modified):
        node = manifest.nodes[uid]
        name = node.display_name
        if output == "json":
            relation = str(node.reads_as) if node.reads_as is not None else None
            click.echo(
                json.dumps(
                    {
                        "unique_id": uid,
                        "resource_type": node.kind,
                        "name": name,
                        "path": node.path,
                        "relation": relation,
                    }
                )
            )
        else:
            click.echo(node.path if output == "path" else name)


QUERY_HINT = "metrics query revenue orders --by month"  # the metrics metrics/orders.yml of a new project defines


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Create a new minimal project in DIRECTORY that builds as it is."""
    from northstar.scaffold import init_project

    written = init_project(directory)
    if directory.resolve() == Path.cwd().resolve():  # `metrics init .`: no "cd ." to suggest
        click.echo(f"Created {len(written)} files in the current folder. Next:\n  metrics build\n  {QUERY_HINT}")
    else:
        click.echo(
            f"Created {len(written)} files in {directory}. Next:\n  cd {directory}\n  metrics build\n  {QUERY_HINT}"
        )


@main.command(name="lineage")
@click.argument("node")
@_common
@click.option("--column", "-c", default=None, help="Follow one column of NODE (or write NODE.COLUMN).")
@click.option(
    "--upstream/--downstream", default=True, help="What NODE reads (default) or what reads NODE, down to metrics."
)
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Follow at most this many edges.")
@click.option(
    "--format", "output", type=click.Choice(["tree", "json", "mermaid", "dot"]), default="tree", help="Output format."
)
def lineage(
    node: str,
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    column: str | None,
    upstream: bool,
    depth: int | None,
    output: str,
) -> None:
    """Trace the column lineage of a node or column, up or downstream.

    NODE is a model, seed, source (raw.orders), metric, or a column (raw.orders.status). By default it prints what
    NODE reads, down to raw columns; --downstream prints every column and metric that reads it.
    """
    from northstar.engine.manifest import load_manifest
    from northstar.lineage import describe
    from northstar.render.deferred import render_on_published

    project = _load(project_dir, vars_, target, threads)

    def warn(text: str) -> None:
        click.echo(click.style("Warning: ", fg="yellow") + text, err=True)

    # A model that queries the warehouse while rendering: its lineage is that of the SQL the published one gives.
    manifest = render_on_published(load_manifest(project, metrics=False), warn=warn)
    click.echo(describe(manifest, node, column, upstream, depth, output, warn))


@main.command(short_help="Write the docs site, and dbt's catalog.json, to target/.")
@click.argument("action", required=False, type=click.Choice(["generate", "serve"]))
@_common
@click.option("--serve", is_flag=True, help="Serve the site on localhost after writing it.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, help="Port for --serve (0: any free).")
def docs(
    action: str | None,
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    serve: bool,
    port: int,
) -> None:
    """Write the static docs site to target/docs/, and target/catalog.json and manifest.json.

    A catalog, the lineage graph and metric charts, in index.html that opens offline (no server needed).
    catalog.json (dbt's catalog v1) describes the published warehouse's tables and columns, read read-only.
    As with dbt, `metrics docs generate` writes them and `metrics docs serve` (or --serve) also serves the site.
    """
    from northstar.docs import serve as serve_site
    from northstar.docs import write_site
    from northstar.engine import artifacts
    from northstar.engine.dbt_catalog import write_catalog
    from northstar.engine.manifest import load_manifest
    from northstar.render.deferred import render_on_published

    project = _load(project_dir, vars_, target, threads)

    def warn(text: str) -> None:
        click.echo(click.style("Warning: ", fg="yellow") + text, err=True)

    # A model that queries the warehouse while rendering: documented with the SQL the published one gives.
    manifest = render_on_published(load_manifest(project, metrics=False), warn=warn)
    target_dir = project.config.target_dir
    artifacts.write_manifest(manifest, target_dir)
    catalog = write_catalog(manifest, target_dir)
    index = write_site(manifest)
    click.echo(f"Wrote {index}\nWrote {catalog}")
    if serve or action == "serve":
        serve_site(index.parent, port, click.echo)


def _write_sql(output: Path, sql: str) -> None:
    """``compile -o PATH``: create missing folders like --junit-xml does; an unwritable path is the user's to fix."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(sql + "\n", encoding="utf-8")
    except OSError as error:
        why = f"{error.filename} is a file, not a folder" if isinstance(error, FileExistsError) else error.strerror
        raise ProjectError(f"Cannot write {output}: {why}. Choose another path for --output.") from None


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--by month,channel`` and ``--by month --by channel`` mean the same."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _metric_names(project: Project) -> list[str]:
    return [
        entry["name"]
        for doc in project.yaml_docs
        for entry in (doc.data.get("metrics") or [])
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    ]


def _names_metric(project: Project, name: str) -> bool:
    return name in _metric_names(project)


@main.command()
@click.argument("metrics", nargs=-1)
@_common
@click.option("--saved-query", "saved_query", default=None, help="Answer a saved query (saved_queries: in YAML).")
@click.option("--by", "by", multiple=True, help="month|week|quarter|day|year (metric time) or a dimension.")
@click.option("--where", default=None, help="A condition on dimensions, e.g. \"channel = 'email'\".")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (inclusive).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (inclusive).")
@click.option("--order", multiple=True, help="Columns to sort by; -name sorts descending.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", help="Output format.")
def query(
    metrics: tuple[str, ...],
    project_dir: Path | None,
    vars_: str | None,
    target: str | None,
    threads: int | None,
    saved_query: str | None,
    by: tuple[str, ...],
    where: str | None,
    start: datetime | None,
    end: datetime | None,
    order: tuple[str, ...],
    limit: int | None,
    fmt: str,
) -> None:
    """Answer metrics from the published warehouse.

    \b
      metrics query north_star --by month
      metrics query --saved-query weekly_revenue
      metrics query --by user__city
      metrics query cpc cpuser --by month --by channel --format json
      metrics query sarpu --by month --by cohort_age
      metrics query revenue --by user__channel --where "user__channel = 'seo'" --order -revenue --limit 5
    """
    from northstar.metrics.cli import query_text

    if start is not None and end is not None and start > end:
        raise click.UsageError(
            f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}: no day can match. Swap them.",
            click.get_current_context(),
        )
    settings = {"vars": vars_, "target": target, "warehouse": os.environ.get("NORTHSTAR_WAREHOUSE")}
    load = lambda: _load(project_dir, vars_, target, threads)  # noqa: E731 - only on a cache miss
    if not metrics and not by and saved_query is None:
        raise click.UsageError(
            "Name a metric (metrics query revenue --by month), a dimension (--by user__city) or --saved-query NAME.",
            click.get_current_context(),
        )
    text = query_text(
        load, project_dir, settings, metrics, _split(by), where, start, end, _split(order), limit, fmt, saved_query
    )
    click.echo(text)
