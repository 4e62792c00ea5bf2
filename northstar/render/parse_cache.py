"""Parsed model templates and compiled macros kept in ``target/`` between runs, by the hash of their text.

Jinja's parser is most of the cost of compiling a project: 1,000 models took ~0.5 s to parse, every run, though few
change between runs. A model made of SQL text and literal calls (:class:`SimpleTemplate`) is kept here as what the
compiler needs of its tree: its literal ``config()`` arguments, the keys given another expression, and its parts.
Other templates are compiled by Jinja and not kept. Macro files (dbt's built-in macros, the project's, its
packages') are kept as the Python code Jinja generated for each macro, by the file's path and text and the
environment's filters, tests and extensions: generating it cost ~60 ms a run for the built-in macros alone.

The file is written with :mod:`marshal`, which keeps Python's constants exactly (a tuple stays a tuple, unlike JSON),
and belongs to one Python and one Jinja version; a file of another version, or one that does not read, counts as
empty.

>>> cache = ParseCache(None)
>>> cache.get("select 1") is None
True
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from northstar.render.jinja import Call, SimpleTemplate

CACHE_FILE = "template_cache.bin"
# Bumped when what is kept changes shape.
_VERSION = ("northstar-templates-2", jinja2.__version__, tuple(sys.version_info[:2]))

# What the compiler needs of a parsed model: literal config() arguments, keys given another expression (with the line
# of their first call), and the template.
Parsed = tuple[dict[str, Any], dict[str, int], SimpleTemplate]


def _key(source: str) -> str:
    return hashlib.blake2b(source.encode(), digest_size=16).hexdigest()


def _code_key(env: jinja2.Environment, source: str, path: str, kind: str) -> str:
    """Compiled code's key: what Jinja's code depends on (the code names filters and tests it checked)."""
    made_with = (sorted(env.filters), sorted(env.tests), sorted(env.extensions), path)
    return f"{kind}:" + _key(repr(made_with) + "\0" + source)


class ParseCache:
    """Kept templates of the last run; :meth:`save` writes back those this run used, when one is new."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.previous = _read(path) if path is not None else {}
        self.used: dict[str, tuple[Any, ...]] = {}
        self.written = set(self.previous)  # the keys the file holds

    def get(self, source: str) -> Parsed | None:
        key = _key(source)
        entry = self.previous.get(key)
        if entry is None:
            return None
        try:
            static, dynamic, parts = entry
            template = SimpleTemplate(tuple(p if isinstance(p, str) else Call(*p) for p in parts))
            parsed = (dict(static), dict(dynamic), template)
        except (TypeError, ValueError):  # not what this version writes
            return None
        self.used[key] = entry
        return parsed

    def put(self, source: str, static: dict[str, Any], dynamic: dict[str, int], template: SimpleTemplate) -> None:
        parts = tuple(p if isinstance(p, str) else (p.name, p.args, p.kwargs, p.line) for p in template.parts)
        self.used[_key(source)] = (tuple(static.items()), tuple(dynamic.items()), parts)

    def codes(self, env: jinja2.Environment, source: str, path: str, kind: str) -> tuple[CodeType, ...] | None:
        """The compiled code of a template or macro file seen before (:class:`northstar.render.jinja.CodeStore`)."""
        key = _code_key(env, source, path, kind)
        entry = self.previous.get(key)
        if not isinstance(entry, tuple) or not all(isinstance(code, CodeType) for code in entry):
            return None
        self.used[key] = entry
        return entry

    def keep_codes(
        self, env: jinja2.Environment, source: str, path: str, kind: str, codes: tuple[CodeType, ...]
    ) -> None:
        self.used[_code_key(env, source, path, kind)] = codes

    def save(self) -> None:
        """Write the templates this run used, when the file lacks one of them and ``target/`` exists (a command that
        writes no artifacts does not create it for this). Called again after more were used (the tests' templates,
        compiled after the models), it writes only if those are new; entries no longer used go at the next write."""
        if self.path is None or self.used.keys() <= self.written or not self.path.parent.is_dir():
            return
        self.written = set(self.used)
        try:
            data = marshal.dumps((_VERSION, self.used))
        except ValueError:  # a constant marshal cannot write: keep nothing rather than fail the command
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, tuple[Any, ...]]:
    try:
        version, entries = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return entries if version == _VERSION and isinstance(entries, dict) else {}
