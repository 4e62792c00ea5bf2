"""The example project on both engines as the data grows: `.venv/bin/python bench/run.py spark [SIZES [RUNS]]`.

For each size (users; default 10000,100000,1000000) the generator writes Parquet files once (cached under
bench/.data/), and the example project is built from them, read in place (`--vars '{raw_data_dir: ...}'`), as whole
`metrics build` processes: on DuckDB (the `dev` target) and on a local Spark (`--target spark`, `local[*]`). Each
row is the median of the runs (3 below 1M users, 1 at 1M and above); peak memory is the largest resident set of the
process tree (a local Spark runs in a child JVM). Needs `pip install -e '.[spark]'` and Java 17+.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(fields[21]) * PAGE
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


def measure(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of the process tree of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()  # -q: the failures and the summary only
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return time.perf_counter() - started, peak


def data_for(users: int) -> Path:
    folder = DATA / f"users_{users}"
    if not (folder / "orders.parquet").exists():
        print(f"  generating {users:,} users of Parquet data...", flush=True)
        generator = [sys.executable, str(ROOT / "scripts/generate_data.py"), "--users", str(users)]
        subprocess.run([*generator, "--format", "parquet", "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder


def project_copy() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="northstar-scale-")) / "growth"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data", "spark-warehouse"
    )
    shutil.copytree(ROOT, folder, ignore=ignore)
    return folder


def main(sizes: list[int], runs: int | None = None) -> None:
    metrics = str(Path(sys.executable).with_name("metrics"))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'users':>10}  {'DuckDB s':>9}  {'DuckDB MB':>9}  {'Spark s':>8}  {'Spark MB':>8}  {'Spark/DuckDB':>12}")
    for users in sizes:
        data = data_for(users)
        repeat = runs or (3 if users < 1_000_000 else 1)
        results: dict[str, list[tuple[float, int]]] = {"dev": [], "spark": []}
        for _ in range(repeat):
            for target in ("dev", "spark"):  # alternating, so both see the same machine
                project = project_copy()
                command = [metrics, "build", "-q", "--full-refresh", "--target", target]
                command += ["--vars", f"{{raw_data_dir: {data}}}"]
                results[target].append(measure(command, project))
                shutil.rmtree(project.parent, ignore_errors=True)
        duck_s = statistics.median(r[0] for r in results["dev"])
        spark_s = statistics.median(r[0] for r in results["spark"])
        duck_mb = max(r[1] for r in results["dev"]) / 2**20
        spark_mb = max(r[1] for r in results["spark"]) / 2**20
        ratio = spark_s / duck_s
        print(f"{users:>10,}  {duck_s:>9.1f}  {duck_mb:>9.0f}  {spark_s:>8.1f}  {spark_mb:>8.0f}  {ratio:>11.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def cli(argv: list[str]) -> None:
    """``[SIZES [RUNS]]``: comma-separated user counts, and how many runs of each (default 3, 1 from 1M users)."""
    sizes = [int(size) for size in (argv[0] if argv else "10000,100000,1000000").split(",")]
    main(sizes, int(argv[1]) if len(argv) > 1 else None)


if __name__ == "__main__":
    cli(sys.argv[1:])
