"""The performance issue's table: whole processes on generated dbt projects, against DuckDB alone in the same run.

    .venv/bin/python bench/run.py targets            # 100 and 1,000 models, compile, 10,000-model parse, example
    .venv/bin/python bench/run.py targets --big      # also 30 models over 1M orders (writes ~150 MB of Parquet)
    .venv/bin/python bench/run.py targets --quick    # one run of each, smaller sizes: a smoke test

Every row runs a whole ``metrics`` process (start-up, render, build, publish, artifacts), as a user does, and where
there is one the *floor* beside it: plain Python running the same compiled SQL through DuckDB (``workload.py
floor``). Tool and floor runs alternate, so a noisy neighbour slows both; the table shows medians of wall seconds
and of CPU seconds (user + system of the child, from ``wait4``), and the ratio of the medians. The machine is shared:
the load average is printed before and after; compare ratios, and CPU seconds, more than wall seconds.

Peak memory is the child's maximum resident set size. ``dbt run`` on the same project is timed once per size when
dbt with dbt-duckdb is installed (``/tmp/dbtvenv/bin/dbt`` or on PATH); it is never required.

The projects and their Parquet data are kept in ``$NORTHSTAR_BENCH_DIR`` (default ``/tmp/northstar-bench``), so a
second run skips generating the data.
"""

from __future__ import annotations

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


@dataclass
class Row:
    workload: str
    tool: list[Sample]
    floor: list[Sample]
    target: str = ""
    dbt: float | None = None

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


def metrics(*args: str) -> list[str]:
    return [str(METRICS), *args]


def floor_of(root: Path) -> Callable[[], Sample]:
    database = root / "floor.duckdb"
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


def full_refresh_row(label: str, root: Path, repeat: int, target: str, dbt: str | None) -> Row:
    project = root / "project"
    run = lambda: measure(metrics("run", "--full-refresh", "--quiet"), project)  # noqa: E731
    tools, floors = alternate(repeat, run, floor_of(root))
    return Row(label, tools, floors, target, dbt_run(dbt, project) if dbt else None)


def no_change_row(label: str, root: Path, repeat: int, target: str) -> Row:
    project = root / "project"
    build = lambda: measure(metrics("build", "--quiet"), project)  # noqa: E731
    tools, _ = alternate(repeat, build)
    return Row(label, tools, [], target)


def example_project(folder: Path) -> Path:
    root = folder / "example"
    if root.exists():
        shutil.rmtree(root)
    keep = ("project.yml", "models", "seeds", "metrics", "macros", "tests/singular")
    for name in keep:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    return root


def query_floor(example: Path, sql_file: Path) -> Callable[[], Sample]:
    """DuckDB alone answering the metric: open the warehouse read-only and run the compiled query."""
    code = (
        "import sys, duckdb\n"
        "with duckdb.connect(sys.argv[1], read_only=True) as c: c.execute(open(sys.argv[2]).read()).fetchall()\n"
    )
    return lambda: measure([str(PYTHON), "-c", code, str(example / "warehouse.duckdb"), str(sql_file)], example)


def example_rows(folder: Path, repeat: int) -> list[Row]:
    example = example_project(folder)

    def from_empty() -> Sample:
        for path in example.glob("warehouse.duckdb*"):
            path.unlink()
        shutil.rmtree(example / "target", ignore_errors=True)
        return measure(metrics("build", "--quiet"), example)

    empty, _ = alternate(repeat, from_empty)

    def empty_warehouse() -> Sample:  # as a user rebuilding from scratch: target/ (lineage cache) is still there
        for path in example.glob("warehouse.duckdb*"):
            path.unlink()
        return measure(metrics("build", "--quiet"), example)

    rebuilt, _ = alternate(repeat, empty_warehouse)
    sql_file = folder / "revenue_by_month.sql"
    measure(metrics("compile", "revenue", "--by", "month", "-o", str(sql_file)), example)
    query = metrics("query", "revenue", "--by", "month")

    def cold() -> Sample:
        shutil.rmtree(example / "target" / "metric_cache", ignore_errors=True)
        return measure(query, example)

    floor = query_floor(example, sql_file)
    cold_runs, floors = alternate(repeat, cold, floor)
    measure(query, example)
    warm_runs, warm_floors = alternate(repeat, lambda: measure(query, example), floor)
    return [
        Row("example project: build, no warehouse, no target/", empty, [], ""),
        Row("example project: build, empty warehouse", rebuilt, [], "< 2 s"),
        Row("query revenue --by month, cold", cold_runs, floors, ""),
        Row("query revenue --by month, warm", warm_runs, warm_floors, "< 0.3 s"),
    ]


def help_row(repeat: int) -> Row:
    tools, floors = alternate(
        repeat, lambda: measure(metrics("--help"), REPO), lambda: measure([str(PYTHON), "-c", "pass"], REPO)
    )
    return Row("metrics --help (floor: python -c pass)", tools, floors, "< 0.1 s")


def parse_row(folder: Path, models: int, repeat: int) -> Row:
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
    samples = []
    for _ in range(repeat):
        command = [str(PYTHON), "-c", code, str(root / "project")]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=ENV).stdout.split()
        samples.append(Sample(float(out[0]), float(out[1]), 0.0))
    return Row(f"parse + render + DAG, {models:,} models (in-process)", samples, [], "< 3 s" if models >= 10000 else "")


def main(quick: bool = False, big: bool = False) -> None:
    folder = Path(os.environ.get("NORTHSTAR_BENCH_DIR", "/tmp/northstar-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    dbt = find_dbt()
    small, large, huge = (20, 200, 2000) if quick else (100, 1000, 10000)
    repeat = 1 if quick else 5
    slow_repeat = 1 if quick else 3
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows: list[Row] = []
    memory: list[tuple[object, ...]] = []

    root = workload.generate(folder, small, 1000)
    rows.append(full_refresh_row(f"run --full-refresh, {small} small models", root, repeat, "<= 1.3x", dbt))
    rows.append(no_change_row(f"build, {small} models, nothing changed", root, repeat, "< 0.6 s"))

    root = workload.generate(folder, large, 1000)
    big_row = full_refresh_row(f"run --full-refresh, {large:,} small models", root, slow_repeat, "<= 1.15x", dbt)
    rows.append(big_row)
    rows.append(no_change_row(f"build, {large:,} models, nothing changed", root, slow_repeat, "< 1.5 s"))
    compile_runs, _ = alternate(repeat, lambda: measure(metrics("compile"), root / "project"))
    rows.append(Row(f"compile, {large:,} models", compile_runs, [], "< 1.0 s"))
    ours = max(s.rss_mb for s in big_row.tool)
    duck = max(s.rss_mb for s in big_row.floor)
    memory.append((f"run --full-refresh, {large:,} models", ours, duck, ours - duck, "<= +100 MB"))

    if big:
        root = workload.generate(folder, 30, 1_000_000)
        row = full_refresh_row("run --full-refresh, 30 models over 1M orders", root, slow_repeat, "<= 1.05x", dbt)
        rows.append(row)
        ours = max(s.rss_mb for s in row.tool)
        duck = max(s.rss_mb for s in row.floor)
        memory.append(("run --full-refresh, 30 models over 1M orders", ours, duck, ours - duck, ""))

    rows.append(parse_row(folder, huge, slow_repeat))
    rows.extend(example_rows(folder, repeat))
    rows.append(help_row(repeat if quick else 10))

    print_table(
        "Whole processes: medians of wall and CPU (user+sys) seconds; floor = DuckDB alone, same SQL, same run",
        [
            "workload",
            "wall s",
            "CPU s",
            "floor wall s",
            "floor CPU s",
            "wall ratio",
            "CPU ratio",
            "runs",
            "target",
            "dbt s",
        ],  # fmt: skip
        [row.cells() for row in rows],
    )
    print_table(
        "Peak memory (max RSS of the process, MB)",
        ["workload", "Northstar MB", "DuckDB alone MB", "difference MB", "target"],
        memory,
    )
    if dbt is None:
        print("dbt not found (/tmp/dbtvenv/bin/dbt or PATH): dbt column empty.")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv, big="--big" in sys.argv)
