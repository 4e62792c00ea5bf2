"""``ref()`` and ``source()`` written in YAML, read by one function.

A generic test's argument (``to: ref('dim_users')``), a unit test's input and a semantic model's ``model:`` name
relations the way dbt users write them in SQL. :func:`parse_relation_call` reads such a call (optionally inside
``{{ }}``) into a :class:`RelationCall`; :func:`resolve_relation_call` finds the relation it names in a manifest.

>>> parse_relation_call("ref('dim_users')")
RelationCall(function='ref', args=('dim_users',), text="ref('dim_users')")
>>> parse_relation_call("{{ source('raw', 'orders') }}").key
'raw.orders'
>>> parse_relation_call("dim_users") is None
True
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from northstar.errors import CompileError, did_you_mean
from northstar.render.jinja import Ephemeral, External, Relation, RenderEnv

_Id = TypeVar("_Id", bound=str)  # a node id as the caller's name index holds it

_CALL = re.compile(r"^\s*(?:\{\{\s*(?P<inner>.*?)\s*\}\}|(?P<bare>.*?))\s*$", re.DOTALL)
_FUNCTIONS = ("ref", "source")


@dataclass(frozen=True)
class RelationCall:
    """A ``ref(...)`` or ``source(...)`` call with literal arguments, as written."""

    function: str  # "ref" or "source"
    args: tuple[str, ...]  # ref: (name,) or (package, name); source: (source, table)
    text: str

    @property
    def name(self) -> str:
        """The model, seed or source table named (a ref's package is not part of the name)."""
        return self.args[-1]

    @property
    def key(self) -> str:
        """How the manifest names the node: ``name`` for a ref, ``source.table`` for a source."""
        return f"{self.args[0]}.{self.args[1]}" if self.function == "source" else self.name


def parse_relation_call(text: object, path: str | Path | None = None, line: int | None = None) -> RelationCall | None:
    """The call ``text`` makes, or None when it is not a ``ref``/``source`` call (a plain value).

    A call whose arguments are not quoted names, or not as many as the function takes, is an error at path:line.
    Keyword arguments (dbt's ``version=``) are read and not used, as in a model's ``ref()``.
    """
    if not isinstance(text, str):
        return None
    match = _CALL.match(text)
    assert match is not None  # the pattern matches any text
    body = match.group("inner") if match.group("inner") is not None else match.group("bare")
    if not re.match(r"(ref|source)\s*\(", body):
        return None
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        raise CompileError(f"Cannot evaluate {text!r}: it is not a call such as ref('model').", path, line) from None
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name) or tree.func.id not in _FUNCTIONS:
        return None
    args = [arg.value for arg in tree.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    count = (1, 2) if tree.func.id == "ref" else (2,)
    keywords = tree.keywords if tree.func.id == "source" else []
    if len(args) != len(tree.args) or len(args) not in count or keywords:
        example = "ref('model')" if tree.func.id == "ref" else "source('source', 'table')"
        raise CompileError(f"Cannot evaluate {text!r}: write it as {example}, with quoted names.", path, line)
    return RelationCall(tree.func.id, tuple(args), text.strip())


def resolve_relation_call(
    renv: RenderEnv, by_name: Mapping[str, _Id], text: object, path: str, line: int | None
) -> tuple[Relation | External | Ephemeral, _Id] | None:
    """The relation ``ref('x')`` or ``source('s', 't')`` written in YAML names, and that node's id.

    Returns None when ``text`` is not such a call.
    """
    call = parse_relation_call(text, path, line)
    if call is None:
        return None
    if call.function == "ref":
        if call.name not in renv.relations:
            raise CompileError(
                f"{call.text} names no model or seed.{did_you_mean(call.name, renv.relations)}", path, line
            )
        return renv.relations[call.name], by_name[call.name]
    key = (call.args[0], call.args[1])
    if key not in renv.sources:
        known = [f"{s}.{t}" for s, t in renv.sources]
        raise CompileError(f"{call.text} names no declared source table.{did_you_mean(call.key, known)}", path, line)
    return renv.sources[key], by_name[call.key]
