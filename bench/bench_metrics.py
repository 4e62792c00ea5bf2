"""Metrics benchmark: answering and compiling metrics on the example warehouse.

- `metrics query north_star --by month`, end to end (a new process, start to output), with the compiled SQL cached
  (the usual case: the same question asked again) and uncached (the first time after an edit);
- baseline: a new Python process that imports DuckDB and runs the same SQL (what any answer must at least cost);
- compiling every metric of the project at its defaults in-process (load the project, validate the YAML, build and
  print each query), after a warm-up so imports are not counted; baseline: sqlglot parsing and printing the same SQL.

Targets: the cached query under 0.5 s end to end; compiling all metrics under 0.2 s.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))

from common import print_table  # noqa: E402

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data", "*.egg-info", "tests"
)
METRICS = str(Path(sys.executable).with_name("metrics"))


def _run(args: list[str], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _timed(args: list[str], cwd: Path, repeat: int, before=lambda: None) -> tuple[float, float]:
    """Median wall and CPU seconds (user + system of the child process) of running ``args``."""
    walls, cpus = [], []
    for _ in range(repeat):
        before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        _run(args, cwd)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
    return _median(walls), _median(cpus)


def _in_process(func, repeat: int) -> tuple[float, float]:
    func()  # warm-up: imports and caches
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return _median(walls), _median(cpus)


def main(quick: bool = False) -> None:
    quick = quick or os.environ.get("NORTHSTAR_BENCH_QUICK") == "1"
    repeat = 3 if quick else 9
    from northstar.console import Reporter
    from northstar.engine.pipeline import BuildOptions, build
    from northstar.metrics import load_semantics
    from northstar.metrics.compile import compile_request, default_request
    from northstar.project.loader import load_project

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "growth"
        shutil.copytree(REPO, root, ignore=IGNORE)
        project = load_project(root)
        options = BuildOptions(kinds=frozenset({"seed", "model", "metric"}))
        if not build(project, options, Reporter(quiet=True, stream=io.StringIO())).success:
            raise RuntimeError("the example project does not build")
        sem = load_semantics(project)
        sql = compile_request(sem, default_request(sem.metric("north_star")))
        query = [METRICS, "query", "north_star", "--by", "month"]
        cache = root / "target" / "metric_cache"
        _run(query, root)  # fills the cache
        cached = _timed(query, root, repeat)
        uncached = _timed(query, root, repeat, before=lambda: shutil.rmtree(cache, ignore_errors=True))
        script = (
            "import duckdb, sys\n"
            "with duckdb.connect(sys.argv[1], read_only=True) as c:\n"
            "    print(c.execute(sys.argv[2]).fetchall())\n"
        )
        baseline = _timed([sys.executable, "-c", script, str(project.config.warehouse), sql], root, repeat)

        def compile_all() -> None:
            semantics = load_semantics(load_project(root))
            for metric in semantics.spec.metrics:
                compile_request(semantics, default_request(metric))

        compiled = [compile_request(sem, default_request(m)) for m in sem.spec.metrics]

        def reparse() -> None:
            import sqlglot

            for text in compiled:
                sqlglot.parse_one(text, dialect="duckdb").sql(dialect="duckdb", pretty=True)

        compile_time = _in_process(compile_all, repeat)
        reparse_time = _in_process(reparse, repeat)
    n = len(compiled)
    rows = [
        ("python + duckdb, same SQL (baseline)", *baseline, "1.00x", ""),
        ("metrics query north_star --by month (cached)", *cached, f"{cached[0] / baseline[0]:.2f}x", "< 0.5 s"),
        ("metrics query north_star --by month (uncached)", *uncached, f"{uncached[0] / baseline[0]:.2f}x", ""),
        (f"sqlglot parse + print of {n} metric queries (baseline)", *reparse_time, "1.00x", ""),
        (
            f"compile all {n} metrics (load, validate, build SQL)",
            *compile_time,
            f"{compile_time[0] / reparse_time[0]:.2f}x",
            "< 0.2 s",
        ),
    ]
    headers = ("what", "wall s", "cpu s", "vs baseline (wall)", "target")
    print_table("Metrics: median seconds (cpu: user + system; wall time grows on a busy machine)", headers, rows)


if __name__ == "__main__":
    main("--quick" in sys.argv)
