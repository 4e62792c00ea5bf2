"""Metric filters and ``--where``: MetricFlow's ``{{ Dimension('user__channel') }}`` syntax to a checked sqlglot AST.

A filter is a SQL condition whose columns are dimension names (``channel``, ``user__channel``,
``metric_time__month``). The reader parses each filter once, when the YAML is read (``spec.Filter``); anything but a
plain condition (a subquery, a second statement, a qualified or unknown column) is refused with an error naming
where the filter was written.

>>> render_filter("{{ Dimension('user__channel') }} = 'paid_search'")
"user__channel = 'paid_search'"
>>> written = "{{ TimeDimension('metric_time', 'month') }} >= '2025-01-01' and channel = 'seo'"
>>> sorted(referenced_names(parse_condition(written, "Filter")))
['channel', 'metric_time__month']
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from northstar.errors import CompileError, ProjectError

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
else:
    from northstar.lazy import exp, sqlglot


class _Name:
    """What ``Dimension('x')`` returns in a filter: the name, with MetricFlow's ``.grain()`` chain (and, in a saved
    query's ``order_by``, ``.descending(True)``)."""

    def __init__(self, name: str, descending: bool = False) -> None:
        self.name = name
        self.is_descending = descending

    def grain(self, grain: str) -> _Name:
        return _Name(f"{self.name}__{str(grain).lower()}", self.is_descending)

    def date_part(self, part: str) -> _Name:
        return _Name(f"{self.name}__extract_{str(part).lower()}", self.is_descending)

    def descending(self, value: bool = True) -> _Name:
        return _Name(self.name, bool(value))

    def __str__(self) -> str:
        return f"-{self.name}" if self.is_descending else self.name


def _time_dimension(
    name: str, grain: str | None = None, descending: bool = False, date_part_name: str | None = None
) -> _Name:
    if date_part_name:
        return _Name(f"{name}__extract_{str(date_part_name).lower()}", bool(descending))
    return _Name(f"{name}__{str(grain).lower()}" if grain else name, bool(descending))


def _metric_name(name: str, descending: bool = False) -> _Name:
    return _Name(name, bool(descending))


@lru_cache(maxsize=256)
def render_object(text: str) -> str:
    """A saved query's ``group_by``/``order_by`` item as a ``--by``/``--order`` name: ``TimeDimension('metric_time',
    'month')`` -> ``metric_time__month``, ``Dimension('user__city')`` -> ``user__city``, ``Entity('order')`` ->
    ``order``, ``Metric('revenue').descending(True)`` -> ``-revenue``; a plain name stays as it is.

    >>> render_object("TimeDimension('metric_time', 'MONTH')"), render_object("Metric('revenue').descending(True)")
    ('metric_time__month', '-revenue')
    """
    import jinja2

    body = text.strip()
    if body.startswith("{{") and body.endswith("}}"):
        body = body[2:-2].strip()
    if "(" not in body:
        return body
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return env.from_string("{{ " + body + " }}").render(
            Dimension=_Name, TimeDimension=_time_dimension, Entity=_Name, Metric=_metric_name
        )
    except (jinja2.TemplateError, TypeError) as error:
        raise ProjectError(
            f"{text!r} does not read as a name: {error}. Write Dimension('entity__name'), "
            "TimeDimension('metric_time', 'month'), Entity('name') or Metric('name')."
        ) from None


def _metric_dimension(name: str, group_by: object = None) -> _Name:
    """``Metric('revenue', group_by=['customer'])`` in a filter: the metric per customer, a dimension of the
    customer named ``customer__revenue`` (as MetricFlow names it)."""
    entities = [group_by] if isinstance(group_by, str) else group_by
    if not isinstance(entities, list | tuple) or len(entities) != 1 or not isinstance(entities[0], str):
        raise CompileError(
            f"Metric('{name}') in a filter needs the one entity it is computed per: "
            f"Metric('{name}', group_by=['customer'])."
        )
    return _Name(f"{entities[0]}__{name}")


@lru_cache(maxsize=1024)  # a pure function of the text; filters repeat across metrics and queries
def render_filter(text: str) -> str:
    """Replace ``{{ Dimension(...) }}``, ``{{ TimeDimension(...) }}`` and ``{{ Entity(...) }}`` by names."""
    if "{" not in text:
        return text
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return env.from_string(text).render(
            Dimension=_Name, TimeDimension=_time_dimension, Entity=_Name, Metric=_metric_dimension
        )
    except (jinja2.TemplateError, TypeError) as error:
        # TypeError: Dimension() and the like called with the wrong arguments; Python's wording names our classes.
        why = "a function gets the wrong arguments" if isinstance(error, TypeError) else str(error)
        raise CompileError(
            f"Filter {text!r} does not render: {why}. Use {{{{ Dimension('entity__name') }}}}, "
            "{{ TimeDimension('name', 'month') }}, {{ Entity('name') }} or {{ Metric('name', group_by=['entity']) }}."
        ) from None


def parse_condition(text: str, what: str) -> exp.Expr:
    """Parse a filter into a condition AST, refusing subqueries, statements and qualified columns."""
    return _parse_condition(text, what).copy()


@lru_cache(maxsize=1024)
def _parse_condition(text: str, what: str) -> exp.Expr:
    rendered = render_filter(text)
    try:
        statements = [s for s in sqlglot.parse(rendered, dialect="duckdb") if s is not None]
    except sqlglot.errors.TokenError:  # an unclosed quote: the tokenizer fails before the parser
        raise ProjectError(f"{what} {text!r} is not valid SQL: a quote is not closed.") from None
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        detail = first.get("description") or str(error).splitlines()[0]
        if "<class" in detail:  # "Required keyword: 'expression' missing for <class '...GT'>" names sqlglot's insides
            detail = "an operator has nothing on one side"
        raise ProjectError(
            f"{what} {text!r} is not valid SQL: {detail}. Write a condition such as channel = 'email'."
        ) from None
    if len(statements) != 1:
        raise ProjectError(f"{what} {text!r} must be one condition, not several statements.")
    condition = statements[0]
    if isinstance(condition, exp.Query | exp.Command | exp.DDL | exp.DML) or condition.find(exp.Query):
        raise ProjectError(
            f"{what} {text!r} contains a query; only conditions on dimensions are allowed, e.g. channel = 'email'."
        )
    if not isinstance(condition, exp.Condition):
        raise ProjectError(f"{what} {text!r} is not a condition, e.g. channel = 'email'.")
    _refuse_double_quoted_strings(condition, text, what)
    for column in condition.find_all(exp.Column):
        if column.table or isinstance(column.this, exp.Star):
            raise ProjectError(
                f"{what} {text!r} uses '{column.sql()}'; refer to dimensions by name (e.g. user__channel), "
                "without a table."
            )
    return condition


def _meant_as_string(column: exp.Column) -> bool:
    """A double-quoted name compared with a column or listed in IN (...): in SQL a column, surely meant as text."""
    parent = column.parent
    if not column.this.args.get("quoted"):
        return False
    if isinstance(parent, exp.In):
        return column is not parent.this
    if isinstance(parent, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)):
        other = parent.left if column is parent.right else parent.right
        # "a" = "b": the right one is the text; "a" = b or a = "b": the quoted one.
        return isinstance(other, exp.Column) and (column is parent.right or not other.this.args.get("quoted"))
    return False


def _refuse_double_quoted_strings(condition: exp.Expr, text: str, what: str) -> None:
    """``channel = "seo"`` compares two columns in SQL; the user meant the string 'seo'. Say so, with the fix."""
    fixed = condition.copy()
    suspects = [column for column in fixed.find_all(exp.Column) if _meant_as_string(column)]
    if not suspects:
        return
    names = ", ".join(f'"{column.name}"' for column in suspects)
    for column in suspects:
        column.replace(exp.Literal.string(column.name))
    raise ProjectError(
        f"{what} {text!r} writes {names} in double quotes, which SQL reads as a column name. String literals take "
        f"single quotes: {fixed.sql(dialect='duckdb')}"
    )


def referenced_names(condition: exp.Expr) -> set[str]:
    """The dimension names a parsed filter refers to."""
    return {column.name for column in condition.find_all(exp.Column)}
