"""Publishing and state benchmark: what a build costs when little or nothing changed, and what publishing costs.

On a generated 100-model project (threads: 2) it prints the median wall time (in-process ``build()``: render, plan,
copy, build, publish, artifacts) of
- a build with ``--full-refresh`` (the baseline: every node re-executed),
- a build with nothing changed (every node kept from the copy),
- a build after a change to one leaf-level model, and to one staging model (with how many nodes re-ran),
and the same no-change build as a user runs it (``metrics build`` in a subprocess, Python start-up included).

Then, on a warehouse of about 1 GB (a table loaded "by an EL tool", read by one model through source(), plus the
project), it reports the cost of publishing: the copy (and which method the filesystem allowed: reflink,
copy_file_range or a plain copy), the checkpoint + fsync + rename, whole builds with nothing changed, with one leaf
model changed, and after the EL tool appended rows, and the extra disk used while a build runs.

Run: ``.venv/bin/python bench/bench_publish.py`` (``--quick``: a 0.1 GB warehouse, fewer repeats).
"""

from __future__ import annotations

import io
import os
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

import duckdb  # noqa: E402
from common import median_seconds, print_table  # noqa: E402

from northstar import warehouse  # noqa: E402
from northstar.console import Reporter  # noqa: E402
from northstar.engine.pipeline import BuildOptions, build  # noqa: E402
from northstar.project.loader import load_project  # noqa: E402

MODELS = 100
STAGING = 10
LEAF = f"m{MODELS - STAGING - 1:03d}"


def generate(root: Path) -> None:
    """Two seeds, 10 staging views, then 90 table models in layers; the last layer's models have no children."""
    (root / "seeds").mkdir(parents=True)
    (root / "models/staging").mkdir(parents=True)
    (root / "models/marts").mkdir(parents=True)
    (root / "project.yml").write_text(
        "name: bench\nwarehouse: warehouse.duckdb\nthreads: 2\n"
        "models:\n  +materialized: table\n  staging:\n    +materialized: view\nseeds:\n  +schema: raw\n"
    )
    (root / "seeds/orders.csv").write_text(
        "order_id,customer_id,amount\n" + "".join(f"{i},{i % 97},{i % 13 * 1.5}\n" for i in range(5000))
    )
    (root / "seeds/customers.csv").write_text(
        "customer_id,region\n" + "".join(f"{i},{'eu' if i % 2 else 'us'}\n" for i in range(97))
    )
    for i in range(STAGING):
        (root / f"models/staging/stg_{i:02d}.sql").write_text(
            f"select o.order_id, o.customer_id, o.amount + {i} as amount, c.region\n"
            "from {{ ref('orders') }} o join {{ ref('customers') }} c using (customer_id)\n"
        )
    names = [f"stg_{i:02d}" for i in range(STAGING)]
    layer = names
    index = 0
    while index < MODELS - STAGING:
        next_layer = []
        for j in range(min(30, MODELS - STAGING - index)):
            parents = [layer[j % len(layer)], layer[(j * 7 + 3) % len(layer)]]
            name = f"m{index:03d}"
            (root / f"models/marts/{name}.sql").write_text(
                f"select a.customer_id, a.region, sum(a.amount) + count(b.customer_id) * 0 as amount\n"
                f"from {{{{ ref('{parents[0]}') }}}} a\n"
                f"left join (select distinct customer_id from {{{{ ref('{parents[1]}') }}}}) b using (customer_id)\n"
                "group by all\n"
            )
            next_layer.append(name)
            index += 1
        layer = next_layer


def run_build(root: Path, **options: object) -> list:
    quiet = Reporter(quiet=True, stream=io.StringIO())  # the summary line too: the tables are the output
    result = build(load_project(root), BuildOptions(**options), quiet)  # type: ignore[arg-type]
    assert result.success, [r.message for r in result.results if r.status != "success"]
    return [r for r in result.results if r.details.get("state") != "unchanged"]


class Editor:
    """Change one model a little before each run, so every measured build sees a fresh change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = path.read_text()
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        self.path.write_text(self.original + f"-- edit {self.count}\nlimit {1_000_000 + self.count}\n")


def bench_state(quick: bool) -> list[list[object]]:
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="northstar-bench-") as tmp:
        root = Path(tmp) / "project"
        generate(root)
        run_build(root)
        full = median_seconds(lambda: run_build(root, full_refresh=True), repeat=repeat)
        same = median_seconds(lambda: run_build(root), repeat=repeat)
        rows = [["full refresh (baseline)", full, "1.00x", MODELS + 2], ["no change", same, f"{same / full:.2f}x", 0]]
        for label, path in (
            (f"one leaf model changed ({LEAF})", root / f"models/marts/{LEAF}.sql"),
            ("one staging model changed (stg_03)", root / "models/staging/stg_03.sql"),
        ):
            edit = Editor(path)
            reran: list[int] = []

            def changed(edit: Editor = edit, reran: list[int] = reran) -> None:
                edit()
                reran.append(len(run_build(root)))

            seconds = median_seconds(changed, repeat=repeat)
            path.write_text(edit.original)
            run_build(root)
            rows.append([label, seconds, f"{seconds / full:.2f}x", max(reran)])
        cli = [str(REPO / ".venv/bin/metrics"), "build", "-q", "--project-dir", str(root)]
        subprocess_seconds = median_seconds(lambda: subprocess.run(cli, check=True, capture_output=True), repeat=repeat)
        rows.append(
            ["no change, `metrics build` subprocess", subprocess_seconds, f"{subprocess_seconds / full:.2f}x", 0]
        )
    return rows


def _make_big(path: Path, gigabytes: float) -> None:
    """A warehouse holding ~``gigabytes`` of incompressible data in a table an EL tool would have loaded."""
    rows = int(gigabytes * (1 << 30) / 7.2)  # random doubles still compress a little
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema el")
        connection.execute(f"create table el.big as select random() as x from range({rows})")


def bench_publish(quick: bool) -> list[list[object]]:
    gigabytes = 0.1 if quick else 1.0
    repeat = 3
    with tempfile.TemporaryDirectory(prefix="northstar-bench-") as tmp:
        root = Path(tmp) / "project"
        generate(root)
        published = root / "warehouse.duckdb"
        _make_big(published, gigabytes)
        # A model reading the big table as a source, as a project over an EL tool's raw data would.
        (root / "models/sources.yml").write_text("sources:\n  - name: el\n    tables:\n      - name: big\n")
        (root / "models/marts/big_total.sql").write_text(
            "select count(*) as n, sum(x) as s from {{ source('el', 'big') }}\n"
        )
        run_build(root)
        size = published.stat().st_size
        methods: list[str] = []

        def copy_only() -> None:
            with warehouse.build_lock(published):
                work = warehouse.start_build(published)
                methods.append(work.method)
                warehouse.abandon(work)

        copy_seconds = median_seconds(copy_only, repeat=repeat)

        def publish_only() -> float:
            with warehouse.build_lock(published):
                work = warehouse.start_build(published)
                with duckdb.connect(str(work.path)) as connection:  # a build that changed something
                    connection.execute("create or replace table main.bench_touch as select 1 as x")
                start = time.perf_counter()
                warehouse.publish(work, frozenset())
                return time.perf_counter() - start

        publish_seconds = sorted(publish_only() for _ in range(repeat))[repeat // 2]
        build_seconds = median_seconds(lambda: run_build(root), repeat=repeat)
        edit = Editor(root / f"models/marts/{LEAF}.sql")
        changed_seconds = median_seconds(lambda: (edit(), run_build(root)), repeat=repeat)
        appended: list[int] = []

        def el_load_then_build() -> None:
            with duckdb.connect(str(published)) as connection:
                connection.execute("insert into el.big select random() from range(1000)")
            appended.append(len(run_build(root)))

        el_seconds = median_seconds(el_load_then_build, repeat=repeat)
        free_before = shutil.disk_usage(root).free
        with warehouse.build_lock(published):
            work = warehouse.start_build(published)
            extra = free_before - shutil.disk_usage(root).free
            warehouse.abandon(work)
        label = f"{size / (1 << 30):.2f} GB warehouse"
        return [
            [f"copy ({methods[0]})", label, copy_seconds, f"{size / copy_seconds / (1 << 30):.2f} GB/s"],
            ["checkpoint + fsync + rename (publish)", label, publish_seconds, ""],
            ["whole build, nothing changed (copy dropped)", label, build_seconds, ""],
            [f"whole build, {LEAF} changed (published)", label, changed_seconds, ""],
            [
                "EL appends 1000 rows to el.big, then a build",
                label,
                el_seconds,
                f"{max(appended)} node re-run (rescan of el.big)",
            ],
            ["extra disk during a build", label, "", f"{extra / (1 << 30):.2f} GB"],
        ]


def main(quick: bool = False) -> None:
    quick = quick or os.environ.get("NORTHSTAR_BENCH_QUICK") == "1"
    print_table(
        f"State: builds of a {MODELS}-model project (threads 2), median seconds",
        ["build", "seconds", "vs full refresh", "nodes re-run"],
        bench_state(quick),
    )
    print_table(
        "Publishing a large warehouse (filesystem: " + _filesystem(REPO) + ")",
        ["step", "size", "seconds", "rate / disk"],
        bench_publish(quick),
    )


def _filesystem(path: Path) -> str:
    try:
        out = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True).stdout
        return out.split()[-1]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main("--quick" in sys.argv)
