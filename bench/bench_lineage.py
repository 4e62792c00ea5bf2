"""Lineage benchmark: column lineage of the whole example project, the manifest a build writes, and `metrics docs`.

Runs on a copy of the example project, seeded and built once (so types come from the warehouse and metric charts
have data). Medians of several runs, through the Python API as the CLI calls it:

- load + compile the project: the baseline every command pays anyway;
- lineage of every model, semantic model and metric, cold (no cache, metric SQL compiled): target under 1 s;
- the same with the cache in target/ warm (what a build pays when models did not change);
- manifest.json with lineage vs without it: what lineage adds to every build;
- a no-change `metrics build` with lineage vs with the manifest's lineage sections switched off;
- `metrics docs` in-process, and as a fresh process (`metrics docs`, Python start-up included): target under 2 s.

Wall times on a busy 2-core machine are inflated by other work, so the table also gives CPU seconds.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))

from common import median_seconds, print_table  # noqa: E402

from northstar import lineage  # noqa: E402
from northstar.console import Reporter  # noqa: E402
from northstar.docs import write_site  # noqa: E402
from northstar.engine import artifacts  # noqa: E402
from northstar.engine.manifest import load_manifest  # noqa: E402
from northstar.engine.pipeline import BuildOptions, build  # noqa: E402
from northstar.project.loader import load_project  # noqa: E402

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data", "*.egg-info", "docs"
)


def _quiet() -> Reporter:
    """A reporter whose summary and notes go nowhere: the benchmark's output is its table."""
    return Reporter(quiet=True, stream=io.StringIO())


def _example(into: Path) -> Path:
    root = into / "growth"
    shutil.copytree(REPO, root, ignore=IGNORE)
    project = load_project(root)
    result = build(project, BuildOptions(kinds=frozenset({"seed", "model"}), command="run"), _quiet())
    if not result.success:
        raise SystemExit("The example project does not build; nothing to measure.")
    return root


def main(quick: bool = False) -> None:
    quick = quick or os.environ.get("NORTHSTAR_BENCH_QUICK") == "1"
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as tmp:
        root = _example(Path(tmp))
        project = load_project(root)
        manifest = load_manifest(project, metrics=False, warn=_quiet().waiting)
        target = project.config.target_dir

        def compile_only() -> None:
            load_manifest(load_project(root), metrics=False, warn=_quiet().waiting)

        def lineage_cold() -> None:
            lineage.build_lineage(manifest)

        def lineage_warm() -> None:
            lineage.project_lineage(manifest)

        def manifest_with() -> None:
            artifacts.write_manifest(manifest, target)

        original = lineage.project_lineage

        def no_lineage(*args: object, **kwargs: object) -> lineage.Lineage:
            return lineage.Lineage({}, {})

        def manifest_without() -> None:
            lineage.project_lineage = no_lineage
            try:
                artifacts.write_manifest(manifest, target)
            finally:
                lineage.project_lineage = original

        options = BuildOptions(kinds=frozenset({"seed", "model"}))

        def build_with() -> None:
            build(load_project(root), options, _quiet())

        def build_without() -> None:
            lineage.project_lineage = no_lineage
            try:
                build(load_project(root), options, _quiet())
            finally:
                lineage.project_lineage = original

        def docs_in_process() -> None:
            write_site(load_manifest(load_project(root), metrics=False, warn=_quiet().waiting))

        metrics = shutil.which("metrics", path=str(Path(sys.executable).parent)) or "metrics"

        def docs_process() -> None:
            subprocess.run([metrics, "docs", "--project-dir", str(root)], check=True, capture_output=True)

        lineage.project_lineage(manifest)  # warm the cache for the warm variants
        found = lineage.build_lineage(manifest)
        columns = sum(len(n.output_columns) for n in found.nodes.values())
        base = median_seconds(compile_only, repeat)
        rows = [["load + compile (baseline)", base, "1.0x", _cpu_seconds(compile_only, repeat), ""]]
        for label, func, goal in (
            (f"lineage, cold ({len(found.graph)} nodes, {columns} columns)", lineage_cold, "< 1 s"),
            ("lineage, warm cache", lineage_warm, ""),
            ("manifest.json without lineage", manifest_without, ""),
            ("manifest.json with lineage (warm)", manifest_with, ""),
            ("no-change build without lineage", build_without, ""),
            ("no-change build with lineage", build_with, ""),
            ("metrics docs, in-process", docs_in_process, "< 2 s"),
            ("metrics docs, new process", docs_process, "< 2 s"),
        ):
            seconds = median_seconds(func, repeat)
            rows.append([label, seconds, f"{seconds / base:.1f}x", _cpu_seconds(func, repeat), goal])
        print_table(
            f"Lineage and docs on the example project (median of {repeat}; cpu: user+system, this process and its"
            " children, which other load on the machine does not inflate)",
            ["what", "seconds", "vs compile", "cpu seconds", "target"],
            rows,
        )


def _cpu_seconds(func, repeat: int) -> float:
    """Median CPU time of ``func``, including child processes (``metrics docs`` run as a command)."""
    import resource
    import statistics

    def used() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    times = []
    for _ in range(repeat):
        start = used()
        func()
        times.append(used() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
