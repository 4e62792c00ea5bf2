"""Relations as ``ref()``, ``source()``, ``this`` and ``adapter.get_relation`` return them, and how identifiers are
written: a table or view (:class:`Relation`), files read in place (:class:`External`), an inlined CTE
(:class:`Ephemeral`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from northstar.errors import CompileError

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp

_SIMPLE_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
EPHEMERAL_PREFIX = "__ns_cte__"
_TABLE_FUNCTION = re.compile(r"^\s*[A-Za-z_][\w.]*\s*\(")


# The words sqlglot's DuckDB generator quotes even when they are plain lower-case names (its RESERVED_KEYWORDS;
# tests/test_render.py checks the list against it), so that a plain name is written without asking sqlglot.
# fmt: off
_RESERVED = frozenset({
    "all", "analyse", "analyze", "and", "anti", "any", "array", "as", "asc", "asof", "asymmetric", "at",
    "authorization", "binary", "both", "by", "case", "cast", "check", "collate", "collation", "column", "columns",
    "concurrently", "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "describe", "distinct",
    "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "generated", "glob",
    "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join",
    "lambda", "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp", "map", "natural", "not",
    "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "pivot", "pivot_longer",
    "pivot_wider", "placing", "positional", "primary", "qualify", "references", "returning", "right", "select",
    "semi", "session_user", "show", "similar", "some", "struct", "summarize", "symmetric", "table", "tablesample",
    "then", "to", "trailing", "true", "try_cast", "tuple", "union", "unique", "unpack", "unpivot", "user", "using",
    "variadic", "verbose", "when", "where", "window", "with",
})
# fmt: on


@functools.lru_cache(maxsize=4096)
def quote(identifier: str) -> str:
    """An identifier as DuckDB reads it, written by sqlglot: bare when it is a plain lower-case name (so compiled SQL
    stays readable), quoted otherwise, reserved words included. A plain name that is no reserved word is returned as
    it is without sqlglot (generating each one cost 0.1 ms, 1,000 per 1,000 models).

    >>> quote("orders"), quote("Orders"), quote("select")
    ('orders', '"Orders"', '"select"')
    """
    if _SIMPLE_IDENTIFIER.match(identifier) and identifier not in _RESERVED:
        return identifier
    return exp.Identifier(this=identifier, quoted=not _SIMPLE_IDENTIFIER.match(identifier)).sql(dialect="duckdb")


@functools.lru_cache(maxsize=4096)
def quote_always(identifier: str) -> str:
    """An identifier always in double quotes, as dbt's ``adapter.quote`` writes it (and sqlglot, which doubles a
    double quote inside it and changes nothing else in DuckDB's dialect: tests/test_render.py compares them).

    >>> quote_always("Order Items")
    '"Order Items"'
    """
    return '"' + identifier.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    """A string literal as sqlglot's DuckDB dialect writes it: in single quotes, each one inside doubled, nothing else
    escaped (tests/test_render.py compares them), without loading sqlglot's generator on a build's start-up path.

    >>> sql_string("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Relation:
    """A table or view in the warehouse, as ``ref()``, ``source()`` and ``this`` return it (like dbt's)."""

    schema: str
    identifier: str
    # 'table' or 'view' when known (adapter.get_relation); not part of the relation's identity.
    type: str | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.identifier

    @property
    def database(self) -> None:
        return None

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    def include(self, database: bool = True, schema: bool = True, identifier: bool = True) -> Relation:
        """dbt's ``relation.include(database=False)``: Northstar writes ``schema.identifier`` either way; leaving
        out the schema or the identifier would name another relation, so it is refused."""
        if not (schema and identifier):
            raise CompileError(
                f"{self}.include(schema={schema}, identifier={identifier}): Northstar always writes a relation as "
                "schema.identifier. Use relation.identifier for the bare name."
            )
        return self

    def render(self) -> str:
        return f"{quote(self.schema)}.{quote(self.identifier)}"

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class External:
    """A source read in place from files: ``read_parquet('...')`` or ``read_csv('...')``."""

    location: str

    @property
    def is_expression(self) -> bool:
        """``read_parquet('s3://b/*.parquet', hive_partitioning=true)``: already SQL, used as written (dbt-duckdb)."""
        return _TABLE_FUNCTION.match(self.location) is not None

    def render(self) -> str:
        if self.is_expression:
            return self.location
        literal = sql_string(self.location)
        lowered = self.location.lower()
        if lowered.endswith(".parquet") or ".parquet" in lowered:
            return f"read_parquet({literal})"
        if lowered.endswith((".csv", ".csv.gz", ".tsv")):
            return f"read_csv({literal})"
        return literal

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Ephemeral:
    """An ephemeral model: ``ref()`` returns the name of the CTE it is inlined as."""

    model: str

    @property
    def identifier(self) -> str:
        return EPHEMERAL_PREFIX + self.model

    def __str__(self) -> str:
        return self.identifier
