"""DuckDB SQL to Spark SQL: sqlglot's transpiler plus the rules that keep the meaning the same.

Models are written once, in DuckDB's SQL. sqlglot translates most of it, but a few constructs translate to Spark SQL
that runs and means something else (``date_diff('month', ...)`` counts month boundaries in DuckDB and whole months
in Spark; ``dayofweek`` starts at 0 in DuckDB and 1 in Spark), and a few have no Spark equivalent at all. Each such
construct is either rewritten to Spark SQL with DuckDB's meaning, or refused with an error naming it: never a silent
difference.

>>> to_spark("select date_diff('month', a, b) as months from t", pretty=False)
'SELECT (((YEAR(b) * 12) + MONTH(b)) - ((YEAR(a) * 12) + MONTH(a))) AS months FROM t'
>>> try:
...     to_spark("select list_sum(xs) from t")
... except Untranslatable as error:
...     print(error)  # doctest: +ELLIPSIS
line 1: list_sum(...) is a DuckDB function with no Spark equivalent that Northstar knows. ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


class Untranslatable(Exception):
    """A construct that Spark cannot run with DuckDB's meaning. ``line`` is the line in the SQL that was given."""

    def __init__(self, line: int | None, construct: str, reason: str) -> None:
        self.line = line
        self.construct = construct
        self.reason = reason
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{construct} {reason}")


# Functions sqlglot does not know (exp.Anonymous) that exist in Spark with DuckDB's meaning.
SAME_IN_SPARK = frozenset({"now"})


def _date(text: str) -> exp.Expr:
    return exp.cast(exp.Literal.string(text), "date")


# A date_diff unit -> the number of that unit's boundaries from the epoch, as a Spark expression of one argument.
# DuckDB's date_diff counts the boundaries crossed between two values; Spark's counts whole units elapsed.
_BOUNDARIES: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "year": lambda v: exp.func("YEAR", v.copy()),
    "quarter": lambda v: exp.func("YEAR", v.copy()) * 4 + exp.func("QUARTER", v.copy()),
    "month": lambda v: exp.func("YEAR", v.copy()) * 12 + exp.func("MONTH", v.copy()),
    # Spark's two-argument DATEDIFF counts days between dates; weeks start on Monday in both engines' date_trunc.
    "day": lambda v: exp.func("DATEDIFF", exp.cast(v.copy(), "date"), _date("1970-01-01")),
    "week": lambda v: (
        exp.func(
            "DATEDIFF",
            exp.cast(exp.func("DATE_TRUNC", exp.Literal.string("WEEK"), v.copy()), "date"),
            _date("1970-01-05"),  # a Monday
        )
        / 7
    ),
    "hour": lambda v: exp.func("FLOOR", exp.func("UNIX_SECONDS", exp.cast(v.copy(), "timestamp")) / 3600),
    "minute": lambda v: exp.func("FLOOR", exp.func("UNIX_SECONDS", exp.cast(v.copy(), "timestamp")) / 60),
    "second": lambda v: exp.func("UNIX_SECONDS", exp.cast(v.copy(), "timestamp")),
}


@dataclass(frozen=True)
class Rule:
    """One construct that sqlglot's plain translation would get wrong on Spark, and what to do with it."""

    name: str
    applies: Callable[[exp.Expr], bool]
    rewrite: Callable[[exp.Expr], exp.Expr] | None  # None: refuse
    reason: str


def _date_diff(node: exp.Expr) -> exp.Expr:
    unit = _unit(node)
    if unit not in _BOUNDARIES:
        raise Untranslatable(_line(node), f"date_diff('{unit}', ...)", "has no Spark translation Northstar knows.")
    count = _BOUNDARIES[unit]
    start, end = node.expression, node.this  # sqlglot keeps date_diff(unit, start, end) as DateDiff(this=end)
    if unit == "week":
        return exp.paren(exp.cast(exp.paren(count(end)), "bigint") - exp.cast(exp.paren(count(start)), "bigint"))
    return exp.paren(exp.paren(count(end)) - exp.paren(count(start)))


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    name = unit.name if isinstance(unit, exp.Expr) else str(unit or "day")
    return name.lower().rstrip("s")


def _float_division(node: exp.Expr) -> exp.Expr:
    # DuckDB's `/` always answers a DOUBLE (DECIMAL / DECIMAL included); Spark's keeps DECIMALs as a DECIMAL rounded
    # to 6 places. Dividing a DOUBLE gives DuckDB's answer on Spark for every numeric type.
    node.set("this", exp.cast(node.this, "double"))
    return node


def _float_average(node: exp.Expr) -> exp.Expr:
    # DuckDB's AVG of a DECIMAL is a DOUBLE; Spark's is a DECIMAL rounded to 4 more places.
    node.set("this", exp.cast(node.this, "double"))
    return node


def _is_average(node: exp.Expr) -> bool:
    return isinstance(node, exp.Avg) and not (isinstance(node.this, exp.Cast) and node.this.to.is_type("double"))


def _is_division(node: exp.Expr) -> bool:
    return isinstance(node, exp.Div) and not (isinstance(node.this, exp.Cast) and node.this.to.is_type("double"))


def _quarters(node: exp.Expr) -> exp.Expr:
    # Spark has no QUARTER interval unit: n quarters are 3n months, which is what DuckDB adds.
    count = node.this.name if isinstance(node.this, exp.Literal) else None
    if count is None or not count.lstrip("-").isdigit():
        raise Untranslatable(_line(node), node.sql(dialect="duckdb"), "has no Spark translation Northstar knows.")
    return exp.Interval(this=exp.Literal.string(str(3 * int(count))), unit=exp.var("MONTH"))


def _is_quarter_interval(node: exp.Expr) -> bool:
    unit = node.args.get("unit") if isinstance(node, exp.Interval) else None
    return isinstance(unit, exp.Expr) and unit.name.lower() in ("quarter", "quarters")


_DATE_STEPS = ("day", "days", "week", "weeks", "month", "months", "quarter", "quarters", "year", "years")


def _is_date_series(node: exp.Expr) -> bool:
    """``CAST(UNNEST(GENERATE_SERIES(a, b, step)) AS DATE)`` with a step of whole days or more."""
    if not (isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE)):
        return False
    series = node.this.this if isinstance(node.this, exp.Explode | exp.Unnest) else None
    step = series.args.get("step") if isinstance(series, exp.GenerateSeries) else None
    unit = step.args.get("unit") if isinstance(step, exp.Interval) else None
    return isinstance(unit, exp.Expr) and unit.name.lower() in _DATE_STEPS


def _date_series(node: exp.Expr) -> exp.Expr:
    # Spark allows no expression around a generator. With a step of whole days or more, casting the bounds to DATE
    # gives the same dates as DuckDB's cast of each element, and Spark's SEQUENCE of DATEs is DATEs already.
    generator: exp.Expr = node.this
    series = generator.this
    for bound in ("start", "end"):
        series.set(bound, exp.cast(series.args[bound], "date"))
    return generator


def _day_of_week(node: exp.Expr) -> exp.Expr:
    value = node.this if isinstance(node, exp.DayOfWeek) else node.expression
    return exp.paren(exp.func("DAYOFWEEK", value.copy()) - 1)


def _iso_day_of_week(node: exp.Expr) -> exp.Expr:
    # Spark's DAYOFWEEK counts Sunday = 1 ... Saturday = 7; ISO counts Monday = 1 ... Sunday = 7. (sqlglot's own
    # translation, ((DAYOFWEEK(x) % 7) + 1), makes Saturday 1.)
    if isinstance(node, exp.Anonymous):
        value = node.expressions[0]
    else:
        value = node.this if isinstance(node, exp.DayOfWeekIso) else node.expression
    return exp.paren(exp.paren(exp.func("DAYOFWEEK", value.copy()) + 5) % 7 + 1)


def _is_dow_extract(node: exp.Expr) -> bool:
    return isinstance(node, exp.Extract) and node.this.name.lower() in ("dow", "dayofweek")


def _is_isodow(node: exp.Expr) -> bool:
    if isinstance(node, exp.Anonymous):
        return node.name.lower() == "dayofweekiso"
    return isinstance(node, exp.DayOfWeekIso) or (
        isinstance(node, exp.Extract) and node.this.name.lower() in ("isodow", "dayofweekiso")
    )


def _distinct_window(node: exp.Expr) -> bool:
    return isinstance(node, exp.Window) and node.find(exp.Distinct) is not None


def _qualify_with_star(node: exp.Expr) -> bool:
    return isinstance(node, exp.Select) and node.args.get("qualify") is not None and node.is_star


def _unknown_function(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() not in SAME_IN_SPARK


RULES: tuple[Rule, ...] = (
    Rule("date_diff", lambda n: isinstance(n, exp.DateDiff), _date_diff, ""),
    Rule("division", _is_division, _float_division, ""),
    Rule("average", _is_average, _float_average, ""),
    Rule("quarter interval", _is_quarter_interval, _quarters, ""),
    Rule("date series", _is_date_series, _date_series, ""),
    Rule("dayofweek", lambda n: isinstance(n, exp.DayOfWeek) or _is_dow_extract(n), _day_of_week, ""),
    Rule("isodow", _is_isodow, _iso_day_of_week, ""),
    Rule(
        "distinct window",
        _distinct_window,
        None,
        "(a DISTINCT aggregate over a window) is not supported by Spark. Aggregate in a subquery and join it back.",
    ),
    Rule(
        "qualify *",
        _qualify_with_star,
        None,
        "(QUALIFY with SELECT *) would add the window column to the output on Spark, which has no QUALIFY. "
        "List the columns, or filter the window in a subquery.",
    ),
    Rule(
        "hash",
        lambda n: isinstance(n, exp.Anonymous) and n.name.lower() == "hash",
        None,
        "gives different numbers in DuckDB and Spark (another hash function). Use md5() or sha2(), which agree.",
    ),
    Rule(
        "array_agg",
        lambda n: isinstance(n, exp.ArrayAgg),
        None,
        "keeps NULLs in DuckDB and drops them in Spark (collect_list). Filter NULLs first and use a list aggregate "
        "that both engines read the same way, or guard the model with {% if target.type == 'spark' %}.",
    ),
    Rule(
        "unknown function",
        _unknown_function,
        None,
        "is a DuckDB function with no Spark equivalent that Northstar knows. Write it in standard SQL, or give "
        "Spark its own SQL with {% if target.type == 'spark' %} ... {% endif %}.",
    ),
)


def to_spark(sql: str, pretty: bool = True) -> str:
    """DuckDB SQL (one or more statements) as Spark SQL with DuckDB's meaning; :class:`Untranslatable` if it
    cannot be said."""
    try:
        expressions = sqlglot.parse(sql, read="duckdb")
    except SqlglotError as error:
        raise Untranslatable(None, "the SQL", f"does not parse as DuckDB SQL: {error}") from None
    statements = [_apply_rules(expression) for expression in expressions if expression is not None]
    return ";\n".join(statement.sql(dialect="spark", pretty=pretty) for statement in statements)


def _apply_rules(tree: exp.Expr) -> exp.Expr:
    for node in list(tree.walk()):
        for rule in RULES:
            if not rule.applies(node):
                continue
            if rule.rewrite is None:
                raise Untranslatable(_line(node), _construct(node), rule.reason)
            replacement = rule.rewrite(node)
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
            break
    return tree


def _construct(node: exp.Expr) -> str:
    """A short name of the construct for an error: ``list_sum(...)``, ``QUALIFY``, ``count(DISTINCT ...) OVER``."""
    if isinstance(node, exp.Anonymous):
        return f"{node.name.lower()}(...)"
    if isinstance(node, exp.Select):
        return "QUALIFY"
    if isinstance(node, exp.Window):
        return f"{node.this.key}(DISTINCT ...) OVER (...)"
    if isinstance(node, exp.ArrayAgg):
        return "array_agg(...)"
    return node.sql(dialect="duckdb")[:60]


def _line(node: exp.Expr) -> int | None:
    """The line of the given SQL where ``node`` starts, from the positions sqlglot keeps on tokens."""
    for descendant in node.walk():
        line = descendant.meta.get("line") if descendant.meta else None
        if isinstance(line, int):
            return line
    return None


def to_spark_or_note(sql: str) -> str:
    """The Spark SQL of ``sql``, or, where Spark cannot say it, the DuckDB SQL under a comment saying why: what
    ``target/compiled/`` keeps for a Spark target."""
    try:
        return to_spark(sql)
    except Untranslatable as error:
        return f"-- Cannot run on Spark: {error}\n{sql}"
