"""Progress output: one line per node as it finishes, like dbt, then a summary line.

Thread-safe: workers report from several threads. ``quiet`` keeps only errors and the summary.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

import click

from northstar.engine.execute import NodeResult

_STATUS = {
    "success": ("OK", "green"),
    "pass": ("PASS", "green"),
    "warn": ("WARN", "yellow"),
    "fail": ("FAIL", "red"),
    "error": ("ERROR", "red"),
    "skipped": ("SKIP", "yellow"),
}


class Reporter:
    """Prints progress for one invocation."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, width: int = 80) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.width = width
        self.total = 0
        self.done = 0
        self.names: Mapping[str, str] = {}
        self._lock = threading.Lock()
        self._started = time.perf_counter()

    def echo(self, message: str = "", err: bool = False, force: bool = False) -> None:
        if self.quiet and not force and not err:
            return
        with self._lock:
            click.echo(message, file=sys.stderr if err else self.stream)

    def waiting(self, message: str) -> None:
        self.echo(click.style(message, fg="yellow"), force=True)

    def begin(self, total: int, names: Mapping[str, str], summary: str) -> None:
        self.total, self.done, self.names = total, 0, names
        self._started = time.perf_counter()
        self.echo(summary)
        if total:
            self.echo("")

    def result(self, result: NodeResult) -> None:
        with self._lock:
            self.done += 1
            index = self.done
        if self.quiet:
            return
        label, color = _STATUS.get(result.status, (result.status.upper(), "white"))
        name = self.names.get(result.unique_id, result.unique_id)
        what = result.message.splitlines()[0] if result.status == "success" else name
        detail = label
        if result.rows is not None and result.status == "success":
            detail += f" {result.rows:,} row{'s' if result.rows != 1 else ''}"
        if result.failures:
            detail += f" {result.failures:,} failing row{'s' if result.failures != 1 else ''}"
        text = f"{index:>3} of {self.total} {label:<5} {what} "
        right = f" [{detail} in {result.elapsed:.2f}s]"
        dots = "." * max(3, self.width - len(text) - len(right))
        self.echo(f"{text}{dots} [{click.style(detail, fg=color)} in {result.elapsed:.2f}s]")

    def summary(self, results: list[NodeResult], tail: str = "") -> None:
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        elapsed = time.perf_counter() - self._started
        order = ["success", "pass", "warn", "fail", "error", "skipped"]
        parts = [f"{counts[s]} {_STATUS[s][0]}" for s in order if counts.get(s)]
        failed = counts.get("error", 0) + counts.get("fail", 0)
        color = "red" if failed else "green"
        self.echo("", force=True)
        nodes = f"{len(results)} node{'s' if len(results) != 1 else ''}"
        line = f"Finished {nodes} in {elapsed:.2f}s: {', '.join(parts) or 'nothing to do'}."
        self.echo(click.style(line, fg=color) + (f" {tail}" if tail else ""), force=True)
        problems = [r for r in results if r.status in ("error", "fail", "warn") and r.message]
        for result in problems:
            label, color = _STATUS[result.status]
            self.echo("", force=True)
            self.echo(click.style(f"{label} ", fg=color, bold=True) + result.message, force=True)
