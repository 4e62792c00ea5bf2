"""Tests benchmark: the time the example project's tests add to `metrics build`.

Each variant builds a fresh copy of the example project from scratch (the warehouse file removed first, so nothing
is kept from a previous build) through the Python API, as `metrics build` does, and reports the median wall time:

- build without tests (seeds, models and metrics), the baseline;
- build with every data test (generic and singular, and the metrics' checks), each right after what it tests;
- build with every test, unit tests (of models and metrics) included;
- `metrics test` of the data tests alone against the built warehouse.

Target: the data tests add under a second to the build.
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))

from common import print_table  # noqa: E402

from northstar.console import Reporter  # noqa: E402
from northstar.engine.pipeline import BuildOptions, build, run_tests  # noqa: E402
from northstar.project.loader import load_project  # noqa: E402

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data", "*.egg-info"
)


def _copy_example(into: Path) -> Path:
    root = into / "growth"
    shutil.copytree(REPO, root, ignore=IGNORE)
    return root


def main(quick: bool = False) -> None:
    quick = quick or os.environ.get("NORTHSTAR_BENCH_QUICK") == "1"
    repeat = 2 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy_example(Path(tmp))
        project = load_project(root)
        warehouse = project.config.warehouse

        def fresh_build(options: BuildOptions) -> None:
            warehouse.unlink(missing_ok=True)
            result = build(project, options, Reporter(quiet=True, stream=io.StringIO()))
            if not result.success:
                failed = [r.unique_id for r in result.results if r.status in ("error", "fail")]
                raise RuntimeError(f"the example project does not build cleanly: {failed[:5]}")

        # The kinds `metrics build` builds; the baseline leaves every test out.
        kinds = frozenset({"seed", "model", "test", "metric"})
        unit = "test_type:unit test_type:metric_unit"
        variants = [
            ("build, no tests (baseline)", BuildOptions(kinds=kinds, exclude=("resource_type:test",))),
            ("build + data tests", BuildOptions(kinds=kinds, exclude=(unit,))),
            ("build + all tests (unit too)", BuildOptions(kinds=kinds)),
        ]
        data_only = BuildOptions(exclude=(unit,), command="test")

        def data_tests_alone() -> None:
            run_tests(project, data_only, Reporter(quiet=True, stream=io.StringIO()))

        runs = [(label, lambda o=options: fresh_build(o)) for label, options in variants]
        runs.append(("metrics test, data tests alone", data_tests_alone))
        # Variants take turns, round after round, so a slow spell of the machine hits them all alike.
        for _, func in runs:
            func()  # warm-up
        times: dict[str, list[float]] = {label: [] for label, _ in runs}
        cpu: dict[str, list[float]] = {label: [] for label, _ in runs}
        for _ in range(repeat):
            for label, func in runs:
                started, cpu_started = time.perf_counter(), time.process_time()
                func()
                times[label].append(time.perf_counter() - started)
                cpu[label].append(time.process_time() - cpu_started)
        timings = [(label, statistics.median(times[label]), statistics.median(cpu[label])) for label, _ in runs]

    base, base_cpu = timings[0][1], timings[0][2]
    rows = [
        (label, seconds, seconds - base if i else 0.0, f"{seconds / base:.2f}x", cpu_seconds, cpu_seconds - base_cpu)
        for i, (label, seconds, cpu_seconds) in enumerate(timings)
    ]
    # CPU seconds (all threads of this process) do not grow when other work shares the machine; wall time does.
    print_table(
        f"Tests of the example project (median of {repeat}, threads = cores, load average {os.getloadavg()[0]:.1f})",
        ["variant", "median s", "added s", "vs baseline", "CPU s", "added CPU s"],
        rows,
    )
    added = timings[1][1] - base
    verdict = "meets" if added < 1.0 else "MISSES"
    print(f"\nData tests add {added:.2f}s to a fresh build: {verdict} the target of under 1 s.")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
