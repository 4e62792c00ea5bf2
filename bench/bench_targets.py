"""The performance issue's table: whole processes on generated dbt projects, against DuckDB alone in the same run.

    .venv/bin/python bench/run.py targets            # 100 and 1,000 models, compile, 10,000-model parse, example
    .venv/bin/python bench/run.py targets --big      # also 30 models over 1M orders (writes ~150 MB of Parquet)
    .venv/bin/python bench/run.py targets --quick    # one run of each, smaller sizes: a smoke test
    .venv/bin/python bench/run.py targets --against main~3 --only "nothing"   # before/after: see below
    .venv/bin/python bench/run.py targets --only "small models" --runs 11      # tighter medians for two rows

Every row runs a whole ``metrics`` process (start-up, render, build, publish, artifacts), as a user does, and where
there is one the *floor* beside it: plain Python running the same compiled SQL through DuckDB (``workload.py
floor``). Tool and floor runs alternate, so a noisy neighbour slows both; the table shows medians of wall seconds
and of CPU seconds (user + system of the child, from ``wait4``), and the ratio of the medians. The machine is shared:
the load average is printed before and after; compare ratios, and CPU seconds, more than wall seconds.

Peak memory is the child's maximum resident set size. ``dbt run`` on the same project is timed once per size when
dbt with dbt-duckdb is installed (``/tmp/dbtvenv/bin/dbt`` or on PATH); it is never required.

``--against REV[,REV...]`` measures other revisions of Northstar in the same run, beside this checkout: their source
is exported (``git archive``) under the bench folder and run with this venv's Python and packages, in alternation
with this checkout and the floor, each on its own copy of the project (so their ``target/`` caches do not mix); the
table gains each revision's CPU seconds and this checkout's change against it. ``--only WORDS`` keeps the rows whose
label contains one of the words separated by | (``--only "nothing changed|compile"``; labels hold commas).

The projects and their Parquet data are kept in ``$NORTHSTAR_BENCH_DIR`` (default ``/tmp/northstar-bench``), so a
second run skips generating the data.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import workload  # noqa: E402
from common import print_table  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
METRICS = REPO / ".venv" / "bin" / "metrics"
WORKLOAD = BENCH_DIR / "workload.py"


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


# As a user's shell runs it: Python caches compiled modules (a pip install writes them; a bench run does on the
# first, unmeasured, run of each row), which PYTHONDONTWRITEBYTECODE in a sandbox would turn off.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def measure(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run one whole process; its wall time, CPU time and peak memory (from the kernel, for this child alone)."""
    env = env or ENV
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{err.read().decode()[-3000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(frozen=True)
class Tool:
    """A Northstar to measure: this checkout (``tree`` None), or another revision's source run by this venv."""

    name: str = ""
    tree: Path | None = None

    def command(self, *args: str) -> list[str]:
        if self.tree is None:
            return [str(METRICS), *args]
        return [str(PYTHON), "-m", "northstar", *args]

    @property
    def env(self) -> dict[str, str]:
        return ENV if self.tree is None else {**ENV, "PYTHONPATH": str(self.tree)}

    def project(self, project: Path) -> Path:
        """The copy of ``project`` this tool builds (its own warehouse and target/)."""
        if self.tree is None:
            return project
        copy = project.with_name(f"{project.name}-{self.name}")
        if not copy.exists():
            shutil.copytree(project, copy, ignore=shutil.ignore_patterns("target", "warehouse.duckdb*", ".warehouse*"))
        return copy

    def measure(self, cwd: Path, *args: str) -> Sample:
        return measure(self.command(*args), cwd, self.env)


THIS = Tool()


def checkout(revision: str, folder: Path) -> Tool:
    """Another revision's source, exported under ``folder``."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", revision], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = folder / f"rev-{sha}"
    if not tree.exists():  # an export of the files, not a worktree: the repository's worktree list stays as it was
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return Tool(f"rev-{sha}", tree)


@dataclass
class Row:
    workload: str
    tool: list[Sample]
    floor: list[Sample]
    target: str = ""
    dbt: float | None = None
    before: tuple[list[Sample], ...] = ()  # each --against revision's runs

    def cells(self) -> tuple[object, ...]:
        tool_wall = _median(s.wall for s in self.tool)
        tool_cpu = _median(s.cpu for s in self.tool)
        floor_wall = _median(s.wall for s in self.floor) if self.floor else None
        floor_cpu = _median(s.cpu for s in self.floor) if self.floor else None
        return (
            self.workload,
            tool_wall,
            tool_cpu,
            floor_wall if floor_wall is not None else "",
            floor_cpu if floor_cpu is not None else "",
            f"{tool_wall / floor_wall:.2f}x" if floor_wall else "",
            f"{tool_cpu / floor_cpu:.2f}x" if floor_cpu else "",
            len(self.tool),
            self.target,
            f"{self.dbt:.1f}" if self.dbt is not None else "",
        )

    def compared(self) -> tuple[object, ...]:
        """The row's cells, then each --against revision's CPU seconds and this checkout's change against it."""
        after = _median(s.cpu for s in self.tool)
        extra: list[object] = []
        for runs in self.before:
            before = _median(s.cpu for s in runs) if runs else None
            extra += [before, f"{(after - before) / before:+.0%}"] if before else ["", ""]
        return (*self.cells(), *extra)


def _median(values: object) -> float:
    return statistics.median(list(values))  # type: ignore[call-overload]


def alternate(
    repeat: int, tool: Callable[[], Sample], floor: Callable[[], Sample] | None = None
) -> tuple[list[Sample], list[Sample]]:
    """``repeat`` runs of the tool and of the floor, one after the other, so both see the same neighbours; after one
    unmeasured run of each (files in the page cache, compiled modules written, the warehouse there as between a
    user's runs)."""
    tool()
    if floor is not None:
        floor()
    tools, floors = [], []
    for _ in range(repeat):
        tools.append(tool())
        if floor is not None:
            floors.append(floor())
    return tools, floors


def paired(
    repeat: int,
    run: Callable[[Tool], Sample],
    against: tuple[Tool, ...],
    floor: Callable[[], Sample] | None = None,
) -> tuple[list[Sample], list[Sample], tuple[list[Sample], ...]]:
    """:func:`alternate` of this checkout and the floor, with each --against revision's runs between them."""
    befores: tuple[list[Sample], ...] = tuple([] for _ in against)

    def each() -> Sample:
        for tool, runs in zip(against, befores, strict=True):
            runs.append(run(tool))
        return run(THIS)

    tools, floors = alternate(repeat, each, floor)
    return tools, floors, tuple(runs[1:] for runs in befores)  # the first of each was the unmeasured run


def floor_of(root: Path) -> Callable[[], Sample]:
    # Named by its format: a floor file of an earlier bench, in another format, is not reused (DuckDB keeps a file's).
    database = root / f"floor-{workload.STORAGE_VERSION}.duckdb"
    return lambda: measure([str(PYTHON), str(WORKLOAD), "floor", str(root), str(database)], root)


def find_dbt() -> str | None:
    candidate = Path("/tmp/dbtvenv/bin/dbt")
    return str(candidate) if candidate.is_file() else shutil.which("dbt")


def dbt_run(dbt: str, project: Path) -> float:
    """One ``dbt run --full-refresh`` of a copy of the project (its own warehouse file), after one unmeasured run."""
    env = {**ENV, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    copy = project.with_name("dbt")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("target", "warehouse.duckdb*", ".warehouse*"))
    project = copy
    command = [dbt, "run", "--full-refresh", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    measure(command, project, env)
    return measure(command, project, env).wall


def full_refresh_row(
    label: str, root: Path, repeat: int, target: str, dbt: str | None, against: tuple[Tool, ...] = ()
) -> Row:
    def run(tool: Tool) -> Sample:
        return tool.measure(tool.project(root / "project"), "run", "--full-refresh", "--quiet")

    tools, floors, before = paired(repeat, run, against, floor_of(root))
    return Row(label, tools, floors, target, dbt_run(dbt, root / "project") if dbt else None, before)


def no_change_row(label: str, root: Path, repeat: int, target: str, against: tuple[Tool, ...] = ()) -> Row:
    def build(tool: Tool) -> Sample:
        return tool.measure(tool.project(root / "project"), "build", "--quiet")

    tools, _, before = paired(repeat, build, against)
    return Row(label, tools, [], target, before=before)


# Another tool's table in the warehouse (an EL tool's raw events, say): ~1 GB of doubles that do not compress.
PADDING_ROWS = 18_000_000


def large_warehouse_row(folder: Path, models: int, repeat: int, target: str, against: tuple[Tool, ...] = ()) -> Row:
    """A no-change build of ``models`` models in a warehouse of ~1 GB (most of it another tool's table): the build
    decides what to rebuild before it would copy the file, so it copies nothing."""
    root = workload.generate(folder, models, 1000, name=f"n{models}_o1000_1gb")
    columns = ", ".join(f"random() AS v{i}" for i in range(8))
    load = f"CREATE OR REPLACE TABLE el.events AS SELECT {columns} FROM range({PADDING_ROWS})"
    code = (
        "import sys, duckdb\n"
        "with duckdb.connect(sys.argv[1]) as c:\n"
        "    c.execute('SET enable_progress_bar = false')\n"
        "    c.execute('CREATE SCHEMA IF NOT EXISTS el')\n"
        "    c.execute(sys.argv[2])\n"
    )

    def build(tool: Tool) -> Sample:
        project = tool.project(root / "project")
        warehouse = project / "warehouse.duckdb"
        if not warehouse.exists():  # the first build, then the other tool's load
            tool.measure(project, "build", "--quiet")
            subprocess.run([str(PYTHON), "-c", code, str(warehouse), load], check=True, env=ENV)
        return tool.measure(project, "build", "--quiet")

    tools, _, before = paired(repeat, build, against)
    size = (root / "project" / "warehouse.duckdb").stat().st_size / 1e9
    return Row(f"build, {models} models + {size:.1f} GB table, nothing changed", tools, [], target, before=before)


def compile_row(label: str, root: Path, repeat: int, target: str, against: tuple[Tool, ...] = ()) -> Row:
    def compile_(tool: Tool) -> Sample:
        return tool.measure(tool.project(root / "project"), "compile")

    tools, _, before = paired(repeat, compile_, against)
    return Row(label, tools, [], target, before=before)


def example_project(folder: Path) -> Path:
    root = folder / "example"
    if root.exists():
        shutil.rmtree(root)
    for copy in folder.glob("example-*"):
        shutil.rmtree(copy)
    keep = ("project.yml", "models", "seeds", "metrics", "macros", "tests/singular")
    for name in keep:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    return root


def example_floor(folder: Path, example: Path) -> Callable[[], Sample]:
    """DuckDB alone building the example into a new file: the seeds, models, data tests and metrics a build runs,
    read from the artifacts of one build (``workload.example_statements``), one statement after another."""
    if not (example / "target" / "manifest.json").exists():
        THIS.measure(example, "build", "--quiet")
    statements = folder / "example_statements.json"
    statements.write_text(json.dumps(workload.example_statements(example)), encoding="utf-8")
    database = folder / "example-floor" / "warehouse.duckdb"  # named as the example's, which its SQL names
    database.parent.mkdir(exist_ok=True)
    return lambda: measure([str(PYTHON), str(WORKLOAD), "statements", str(statements), str(database)], example)


def query_floor(example: Path, sql_file: Path) -> Callable[[], Sample]:
    """DuckDB alone answering the metric: open the warehouse read-only and run the compiled query."""
    code = (
        "import sys, duckdb\n"
        "with duckdb.connect(sys.argv[1], read_only=True) as c: c.execute(open(sys.argv[2]).read()).fetchall()\n"
    )
    return lambda: measure([str(PYTHON), "-c", code, str(example / "warehouse.duckdb"), str(sql_file)], example)


def example_rows(
    folder: Path, repeat: int, against: tuple[Tool, ...] = (), only: tuple[str, ...] = (), metric: str = "revenue"
) -> list[Row]:
    example = example_project(folder)
    rows = []

    def from_empty(tool: Tool) -> Sample:
        project = tool.project(example)
        for path in project.glob("warehouse.duckdb*"):
            path.unlink()
        shutil.rmtree(project / "target", ignore_errors=True)
        return tool.measure(project, "build", "--quiet")

    label = "example project: build, no warehouse, no target/"
    if wanted(label, only):
        empty, _, before = paired(repeat, from_empty, against)
        rows.append(Row(label, empty, [], "", before=before))

    def empty_warehouse(tool: Tool) -> Sample:  # as a user rebuilding from scratch: target/ (caches) is still there
        project = tool.project(example)
        for path in project.glob("warehouse.duckdb*"):
            path.unlink()
        return tool.measure(project, "build", "--quiet")

    label = "example project: build, empty warehouse"
    if wanted(label, only):
        rebuilt, floors, before = paired(repeat, empty_warehouse, against, example_floor(folder, example))
        rows.append(Row(label, rebuilt, floors, "< 2 s", before=before))

    labels = (f"query {metric} --by month, cold", f"query {metric} --by month, warm")
    if not any(wanted(label, only) for label in labels):
        return rows
    for tool in (THIS, *against):
        project = tool.project(example)
        if not (project / "warehouse.duckdb").exists():
            tool.measure(project, "build", "--quiet")
    sql_file = folder / f"{metric}_by_month.sql"
    THIS.measure(example, "compile", metric, "--by", "month", "-o", str(sql_file))
    query = ("query", metric, "--by", "month")

    def cold(tool: Tool) -> Sample:
        project = tool.project(example)
        shutil.rmtree(project / "target" / "metric_cache", ignore_errors=True)
        return tool.measure(project, *query)

    floor = query_floor(example, sql_file)
    cold_runs, floors, cold_before = paired(repeat, cold, against, floor)
    warm_runs, warm_floors, warm_before = paired(
        repeat, lambda tool: tool.measure(tool.project(example), *query), against, floor
    )
    return [
        *rows,
        Row(labels[0], cold_runs, floors, "", before=cold_before),
        Row(labels[1], warm_runs, warm_floors, "< 0.3 s", before=warm_before),
    ]


def help_row(repeat: int, against: tuple[Tool, ...] = ()) -> Row:
    tools, floors, before = paired(
        repeat, lambda tool: tool.measure(REPO, "--help"), against, lambda: measure([str(PYTHON), "-c", "pass"], REPO)
    )
    return Row("metrics --help (floor: python -c pass)", tools, floors, "< 0.1 s", before=before)


def parse_row(folder: Path, models: int, repeat: int, against: tuple[Tool, ...] = ()) -> Row:
    """Parse + render + DAG in-process (the issue's figure), each run in a fresh process: CPU and wall of that part."""
    root = workload.generate(folder, models, 1000)
    code = (
        "import sys, time, resource\n"
        "from pathlib import Path\n"
        "from northstar.project.loader import load_project\n"
        "from northstar.render.manifest import compile_project\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "manifest = compile_project(load_project(Path(sys.argv[1])), env_vars={})\n"
        "manifest.dag.sorted()\n"
        "print(time.perf_counter() - t, time.process_time() - c)\n"
    )

    def parse(tool: Tool) -> Sample:
        command = [str(PYTHON), "-c", code, str(root / "project")]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=tool.env).stdout.split()
        return Sample(float(out[0]), float(out[1]), 0.0)

    samples, _, before = paired(repeat, parse, against)
    label = f"parse + render + DAG, {models:,} models (in-process)"
    return Row(label, samples, [], "< 3 s" if models >= 10000 else "", before=before)


def wanted(label: str, only: tuple[str, ...]) -> bool:
    return not only or any(word in label for word in only)


def workload_rows(
    folder: Path,
    sizes: tuple[int, int],
    repeats: tuple[int, int],
    big: bool,
    against: tuple[Tool, ...],
    only: tuple[str, ...],
) -> tuple[list[Row], list[tuple[object, ...]]]:
    """The rows of the generated projects: full refreshes, no-change builds, compile; and their peak memory."""
    dbt = find_dbt()
    (small, large), (repeat, slow_repeat) = sizes, repeats
    rows: list[Row] = []
    memory: list[tuple[object, ...]] = []

    def full_refresh(label: str, root: Path, runs: int, target: str, note: str) -> None:
        row = full_refresh_row(label, root, runs, target, dbt, against)
        rows.append(row)
        ours, duck = max(s.rss_mb for s in row.tool), max(s.rss_mb for s in row.floor)
        memory.append((label, ours, duck, ours - duck, note))

    root = workload.generate(folder, small, 1000)
    label = f"run --full-refresh, {small} small models"
    if wanted(label, only):
        rows.append(full_refresh_row(label, root, repeat, "<= 1.3x", dbt, against))
    label = f"build, {small} models, nothing changed"
    if wanted(label, only):
        rows.append(no_change_row(label, root, repeat, "< 0.6 s", against))
    label = f"build, {small} models + 1 GB table, nothing changed"
    if wanted(label, only):
        rows.append(large_warehouse_row(folder, small, repeat, "copies nothing", against))

    root = workload.generate(folder, large, 1000)
    label = f"run --full-refresh, {large:,} small models"
    if wanted(label, only):
        full_refresh(label, root, slow_repeat, "<= 1.15x", "<= +100 MB")
    label = f"build, {large:,} models, nothing changed"
    if wanted(label, only):
        rows.append(no_change_row(label, root, slow_repeat, "< 1.5 s", against))
    label = f"compile, {large:,} models"
    if wanted(label, only):
        rows.append(compile_row(label, root, repeat, "< 1.0 s", against))

    label = "run --full-refresh, 30 models over 1M orders"
    if big and wanted(label, only):
        full_refresh(label, workload.generate(folder, 30, 1_000_000), slow_repeat, "<= 1.05x", "")
    return rows, memory


def main(
    quick: bool = False,
    big: bool = False,
    against: str | None = None,
    only: tuple[str, ...] = (),
    metric: str = "revenue",
    runs: int | None = None,
) -> None:
    folder = Path(os.environ.get("NORTHSTAR_BENCH_DIR", "/tmp/northstar-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    other = tuple(checkout(revision, folder) for revision in against.split(",")) if against else ()
    sizes = (20, 200) if quick else (100, 1000)
    huge = 2000 if quick else 10000
    repeat = runs or (1 if quick else 5)
    slow_repeat = runs or (1 if quick else 3)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows, memory = workload_rows(folder, sizes, (repeat, slow_repeat), big, other, only)
    if wanted(f"parse + render + DAG, {huge:,} models", only):
        rows.append(parse_row(folder, huge, slow_repeat, other))
    rows.extend(example_rows(folder, repeat, other, only, metric))
    if wanted("metrics --help", only):
        rows.append(help_row(repeat if quick else 10, other))

    headers = ["workload", "wall s", "CPU s", "floor wall s", "floor CPU s", "wall ratio", "CPU ratio", "runs"]
    headers += ["target", "dbt s"]
    for revision in against.split(",") if against else ():
        headers += [f"{revision} CPU s", "change"]
    print_table(
        "Whole processes: medians of wall and CPU (user+sys) seconds; floor = DuckDB alone, same SQL, same run",
        headers,
        [row.compared() if other else row.cells() for row in rows],
    )
    if memory:
        print_table(
            "Peak memory (max RSS of the process, MB)",
            ["workload", "Northstar MB", "DuckDB alone MB", "difference MB", "target"],
            memory,
        )
    if find_dbt() is None:
        print("dbt not found (/tmp/dbtvenv/bin/dbt or PATH): dbt column empty.")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def cli(argv: list[str]) -> None:
    """``[--quick] [--big] [--against REV] [--only WORDS] [--metric NAME] [--runs N]``: the metric the query rows
    ask for; N runs of every row (default 5, 3 for the slow ones), for tighter medians where a ratio is near its
    target."""
    only = tuple(word for word in (_option(argv, "--only") or "").split("|") if word)
    metric = _option(argv, "--metric") or "revenue"
    runs = _option(argv, "--runs")
    if runs is not None and not (runs.isdigit() and int(runs) > 0):
        raise SystemExit(f"--runs takes a whole number of runs, such as 11; got {runs!r}")
    main(
        quick="--quick" in argv,
        big="--big" in argv,
        against=_option(argv, "--against"),
        only=only,
        metric=metric,
        runs=int(runs) if runs is not None else None,
    )


if __name__ == "__main__":
    cli(sys.argv[1:])
