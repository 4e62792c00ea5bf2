"""The few errors Northstar raises for user mistakes.

Every message says what is wrong, where (file and line when known), and how to fix it. The CLI turns these into a
red ``Error: ...`` line and an exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class NorthstarError(Exception):
    """Base class: a user mistake that the CLI reports without a traceback."""

    exit_code = 2

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ProjectError(NorthstarError):
    """The project's files are wrong: bad YAML, unknown keys, missing files, bad CLI input."""


class CompileError(NorthstarError):
    """A model, test or metric cannot be rendered or resolved: Jinja error, unknown ref, cycle, bad metric."""


class ExecutionError(NorthstarError):
    """DuckDB rejected a statement while building."""

    exit_code = 1


class DataTestFailure(NorthstarError):
    """One or more data tests of severity ``error`` failed."""

    exit_code = 1


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A suggestion sentence for a misspelled name, or an empty string.

    >>> did_you_mean("custmers", ["customers", "orders"])
    " Did you mean 'customers'?"
    """
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""
