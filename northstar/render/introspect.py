"""Introspection while rendering, as dbt defines it: ``execute``, ``run_query``, ``{% call statement() %}`` with
``load_result``, ``adapter.get_relation`` and ``adapter.get_columns_in_relation``.

What these calls do depends on when the template renders, so each render is given an :class:`Introspector`:

- :class:`Probe` while the project compiles: ``execute`` is true, as when dbt runs a model, and the first call that
  would query the warehouse stops the render (:class:`Introspects`). Such a model renders again with
- :class:`Offline`, dbt's parse: ``execute`` is false, queries answer nothing (``None``, ``[]``), so the render only
  records the model's ``ref()``/``source()`` edges; its SQL is rendered when its parents are built, with
- :class:`Live`: one DuckDB round trip per call, on the build's own working copy (read-only for a model's SQL,
  writable for hooks).
- :class:`Refused` everywhere else (tests, unit tests, naming macros): a call is an error saying so.

Results come back as dbt gives them: an agate-like :class:`Table` (the subset macros use, see docs/dbt.md) and
dbt-duckdb's :class:`Column`.

>>> import duckdb
>>> table = Live(duckdb.connect(), "m.sql", read_only=True).run_query("select 1 as n, 2.5 as x, 'a' as s")
>>> table.column_names, table.rows[0]["x"], table.columns[0].values()
(('n', 'x', 's'), Decimal('2.5'), (1,))
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import jinja2

from northstar.errors import CompileError, ExecutionError
from northstar.render.relations import Relation
from northstar.warehouse import catalog


class Introspects(Exception):  # noqa: N818  (a signal, not an error: the model is rendered later)
    """Raised by :class:`Probe`: the template queries the warehouse while rendering."""

    def __init__(self, call: str) -> None:
        super().__init__(call)
        self.call = call
        self.line: int | None = None  # the template line, set by the render


@dataclass(frozen=True)
class IntrospectingCall:
    """Where a model first queries the warehouse while rendering: ``run_query`` at line 3."""

    name: str
    line: int | None

    def describe(self) -> str:
        return f"{self.name}()" + (f" at line {self.line}" if self.line else "")


class ParseUndefined(jinja2.Undefined):
    """A name that is not set while dbt parses (``execute`` false), e.g. one set only inside ``{% if execute %}``:
    every attribute, item and call of it is itself, and it renders as nothing."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self


# --- results as dbt gives them -----------------------------------------------------------------------------------


class Named(Sequence[Any]):
    """A sequence also indexed by name (agate's ``MappedSequence``): ``table.columns['id']``, ``table.columns[0]``."""

    def __init__(self, names: tuple[str, ...], items: tuple[Any, ...]) -> None:
        self._names = names
        self._items = items

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._names:
                raise KeyError(key)
            return self._items[self._names.index(key)]
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def keys(self) -> tuple[str, ...]:
        return self._names

    def values(self) -> tuple[Any, ...]:
        return self._items

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self._items, strict=True))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._names else default


class Row(Named):
    """One row, by position or by column name (agate's ``Row``)."""

    def __eq__(self, other: object) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, Sequence) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        return f"<Row: {self._items!r}>"


class TableColumn:
    """One column of a :class:`Table` (agate's ``Column``): its name, index and values."""

    def __init__(self, name: str, index: int, values: tuple[Any, ...]) -> None:
        self.name = name
        self.index = index
        self._values = values

    def values(self) -> tuple[Any, ...]:
        return self._values

    def values_distinct(self) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(self._values))

    def values_without_nulls(self) -> tuple[Any, ...]:
        return tuple(value for value in self._values if value is not None)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, index: int) -> Any:
        return self._values[index]

    def __repr__(self) -> str:
        return f"<Column: {self.name}>"


class Table:
    """A query's result as dbt's ``run_query`` returns it (an agate table): ``columns``, ``rows``, ``column_names``,
    iteration over rows, ``len()``. Values are typed as dbt types them: whole numbers stay ``int``, other numbers
    become ``Decimal``, dates and timestamps stay so, text stays text, and anything else (lists, structs, UUIDs,
    times, intervals) becomes text, lists and structs as JSON."""

    def __init__(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.column_names = tuple(names)
        columns = [_typed([row[i] for row in rows]) for i in range(len(self.column_names))]
        values = [tuple(column[r] for column in columns) for r in range(len(rows))]
        self.rows = Named(tuple(str(r) for r in range(len(rows))), tuple(Row(self.column_names, v) for v in values))
        self.columns = Named(
            self.column_names,
            tuple(TableColumn(name, i, tuple(columns[i])) for i, name in enumerate(self.column_names)),
        )

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<Table: {len(self)} rows, columns {', '.join(self.column_names)}>"


def _typed(values: list[Any]) -> list[Any]:
    """One column's values typed as dbt's agate helper types them (the first type every value fits)."""
    present = [value for value in values if value is not None]
    if all(type(value) is int for value in present):
        return values
    if all(isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool) for value in present):
        return [_number(value) for value in values]
    kinds = (datetime.datetime, datetime.date, bool, str)
    for kind in kinds:
        if all(type(value) is kind for value in present):
            return values
    return [None if value is None else _text(value) for value in values]


def _number(value: Any) -> decimal.Decimal | None:
    if value is None or isinstance(value, decimal.Decimal):
        return value
    return decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)


def _text(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


class Column:
    """A column of a relation as dbt-duckdb's ``adapter.get_columns_in_relation`` gives it: ``name`` (and
    ``column``), ``dtype`` as DuckDB names the type, ``data_type`` as dbt writes it (strings as
    ``character varying(256)``), ``quoted``, and the ``is_string()``/``is_number()``... questions."""

    def __init__(
        self,
        column: str,
        dtype: str,
        char_size: int | None = None,
        numeric_precision: int | None = None,
        numeric_scale: int | None = None,
    ) -> None:
        self.column = column
        self.dtype = dtype
        self.char_size = char_size
        self.numeric_precision = numeric_precision
        self.numeric_scale = numeric_scale

    @property
    def name(self) -> str:
        return self.column

    @property
    def quoted(self) -> str:
        return f'"{self.column}"'

    @property
    def data_type(self) -> str:
        if self.is_string():
            return f"character varying({self.string_size()})"
        if self.is_numeric() and self.numeric_precision is not None and self.numeric_scale is not None:
            return f"{self.dtype}({self.numeric_precision},{self.numeric_scale})"
        return self.dtype

    def string_size(self) -> int:
        return 256 if self.dtype == "text" or self.char_size is None else int(self.char_size)

    def is_string(self) -> bool:
        return self.dtype.lower() in ("text", "character varying", "character", "varchar")

    def is_numeric(self) -> bool:
        return self.dtype.lower() in ("numeric", "decimal")

    def is_float(self) -> bool:
        return self.dtype.lower() in ("real", "float", "float4", "float8", "double", "double precision")

    def is_integer(self) -> bool:
        return self.dtype.lower() in _INTEGER_TYPES

    def is_number(self) -> bool:
        return self.is_integer() or self.is_numeric() or self.is_float()

    def literal(self, value: Any) -> str:
        return f"{value}::{self.data_type}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Column):
            return NotImplemented
        return (self.column, self.dtype) == (other.column, other.dtype)

    def __hash__(self) -> int:
        return hash((self.column, self.dtype))

    def __repr__(self) -> str:
        return f"<Column {self.column} ({self.data_type})>"


_INTEGER_TYPES = frozenset(
    [
        "tinyint",
        "smallint",
        "integer",
        "bigint",
        "hugeint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "int1",
        "int2",
        "int4",
        "int8",
        "short",
        "int",
        "signed",
        "long",
    ]
)


@dataclass(frozen=True)
class Response:
    """``load_result(name)['response']``: what the statement did (dbt's adapter response)."""

    _message: str
    rows_affected: int
    code: str = "OK"

    def __str__(self) -> str:
        return self._message


class Result(dict[str, Any]):
    """``load_result(name)``: ``['response']``, ``['data']`` (rows as tuples), ``['table']``; or as attributes."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


# --- who answers the calls ---------------------------------------------------------------------------------------


class Introspector(Protocol):
    """What a render's introspection calls do."""

    @property
    def execute(self) -> bool: ...

    def run_query(self, sql: str) -> Table | None: ...

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str: ...

    def load_result(self, name: str) -> Result | None: ...

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None: ...

    def get_columns_in_relation(self, relation: Any) -> list[Column]: ...


class Offline:
    """dbt's parse: ``execute`` is false and nothing is asked of the warehouse. ``run_query`` answers an undefined
    value that is an error to use, as dbt's is then; ``load_result`` answers None."""

    execute = False

    def run_query(self, sql: str) -> Any:
        return jinja2.StrictUndefined(
            hint="run_query() answers nothing while execute is false (as when dbt parses the project): use its "
            "result inside {% if execute %} ... {% endif %}"
        )

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str:
        return ""

    def load_result(self, name: str) -> Result | None:
        return None

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None:
        return None

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        return []


class Probe:
    """``execute`` is true; the first call that would query the warehouse stops the render."""

    execute = True

    def run_query(self, sql: str) -> Table | None:
        raise Introspects("run_query")

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str:
        raise Introspects("statement")

    def load_result(self, name: str) -> Result | None:
        return None  # nothing ran, so nothing is stored (as in dbt)

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None:
        raise Introspects("adapter.get_relation")

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        raise Introspects("adapter.get_columns_in_relation")


class Refused(Offline):
    """Where the warehouse cannot be asked: a call is an error naming what was called and where."""

    execute = True

    def __init__(self, where: str) -> None:
        self._where = where

    def _refuse(self, call: str) -> CompileError:
        return CompileError(
            f"{call}() queries the warehouse while rendering, which {self._where} cannot do. Northstar runs "
            "introspection in models (rendered when their parents are built) and in hooks."
        )

    def run_query(self, sql: str) -> Table | None:
        raise self._refuse("run_query")

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str:
        raise self._refuse("statement")

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None:
        raise self._refuse("adapter.get_relation")

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        raise self._refuse("adapter.get_columns_in_relation")


# Statements a model's SQL may run while it renders: it reads what its parents hold, it changes nothing.
_READS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class Live:
    """Calls answered by the build's working copy, one DuckDB round trip each. ``read_only``: a model's SQL may only
    read (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); hooks may write."""

    execute = True

    def __init__(self, cursor: duckdb.DuckDBPyConnection, path: str, read_only: bool, database: str = "") -> None:
        self._cursor = cursor
        self._path = path
        self._read_only = read_only
        self._database = database
        self._results: dict[str, Result] = {}

    def run_query(self, sql: str) -> Table | None:
        self.statement("run_query_statement", fetch_result=True, caller=lambda: sql)
        return self._results["run_query_statement"]["table"]  # type: ignore[no-any-return]

    def statement(
        self,
        name: str | None = None,
        fetch_result: bool = False,
        auto_begin: bool = True,
        language: str = "sql",
        caller: Callable[[], str] | None = None,
    ) -> str:
        if language != "sql":
            raise CompileError(f"statement(language='{language}'): Northstar runs SQL statements only.", self._path)
        sql = str(caller()) if caller is not None else ""
        if self._read_only:
            self._check_reads(sql, name)
        try:
            result = self._cursor.execute(sql)
            names = [d[0] for d in result.description or ()]
            rows = result.fetchall() if names else []
        except duckdb.Error as error:
            first = str(error).splitlines()[0]
            raise ExecutionError(
                f"A query run while rendering (statement '{name}') failed: {first}\nThe query:\n{sql.strip()}",
                self._path,
            ) from None
        if name is not None:
            table = Table(names, rows) if fetch_result else Table([], [])
            self._results[name] = Result(
                response=Response("OK", len(rows)),
                data=[tuple(row) for row in table.rows] if fetch_result else [],
                table=table,
            )
        return ""

    def _check_reads(self, sql: str, name: str | None) -> None:
        try:
            statements = self._cursor.extract_statements(sql)
        except duckdb.Error:
            return  # executing it reports the syntax error with its context
        for statement in statements:
            if statement.type not in _READS:
                kind = str(statement.type).rsplit(".", 1)[-1]
                raise CompileError(
                    f"A query run while rendering (statement '{name}') is a {kind} statement. A model's SQL may only "
                    "read the warehouse while it renders (SELECT, DESCRIBE, SHOW); make changes in a pre_hook or an "
                    "on-run-start hook.",
                    self._path,
                )

    def load_result(self, name: str) -> Result | None:
        return self._results.get(name)

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None:
        if database and self._database and database.lower() != self._database.lower():
            return None  # one database: nothing lives in another
        found = catalog.find_relation(self._cursor, schema, identifier)
        if found is None:
            return None
        stored_schema, stored_name, kind = found
        return Relation(stored_schema, stored_name, type="view" if kind == "VIEW" else "table")

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        if not isinstance(relation, Relation):
            raise CompileError(
                f"adapter.get_columns_in_relation({relation!r}): give it a relation, e.g. ref('orders'), "
                "adapter.get_relation(...) or api.Relation.create(schema=..., identifier=...).",
                self._path,
            )
        rows = catalog.column_details(self._cursor, relation.schema, relation.identifier)
        return [Column(*row) for row in rows]
