"""Run every benchmark: `.venv/bin/python bench/run.py` (full) or `... bench/run.py --quick` (a fast smoke run).

`bench/run.py targets [--big] [--quick] [--against REV] [--only WORDS] [--metric NAME] [--runs N]` prints only the
performance issue's table (`bench_targets.py`): whole processes against DuckDB alone in the same run; `--big` adds 30
models over 1M orders; `--against REV` measures another revision in the same run, beside this checkout; `--metric`
the metric the query rows ask for (revenue by default); `--runs` how many runs each row takes.

`bench/run.py spark [10000,100000,1000000 [RUNS]]` builds the example project on DuckDB and on Spark as the data grows
(`spark_scale.py`; needs the `spark` extra and Java).

The engine benchmark runs first; then every other ``bench/bench_*.py`` module's ``main()``, in name order. A module
whose ``main`` takes a ``quick`` parameter gets the flag; all of them can also read ``NORTHSTAR_BENCH_QUICK=1``.
One failing benchmark is reported and does not stop the others.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))


def modules() -> list[str]:
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    return sorted(names, key=lambda name: name != "bench_engine")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    if argv[:1] == ["spark"]:
        import spark_scale

        spark_scale.cli(argv[1:])
        return 0
    if "targets" in argv:
        import bench_targets

        bench_targets.cli(argv)
        return 0
    if quick:
        os.environ["NORTHSTAR_BENCH_QUICK"] = "1"
    failed = []
    for name in modules():
        print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
        started = time.perf_counter()
        try:
            run = importlib.import_module(name).main
            if "quick" in inspect.signature(run).parameters:
                run(quick=quick)
            else:
                run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"({name} took {time.perf_counter() - started:.1f}s)", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
