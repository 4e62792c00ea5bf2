"""DuckDB SQL on Spark: every known pitfall either translates to Spark SQL that answers as DuckDB does, or is refused
with an error naming the construct and its line.

The translations are checked as text here, and by running both engines on the same rows in
``test_spark_pitfalls_answer_the_same`` (which needs PySpark and Java: ``pip install -e '.[spark]'``).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from northstar.spark.transpile import Untranslatable, to_spark

ROWS = """(values
    (1, 'a', timestamp '2026-01-31 23:00:00', timestamp '2026-02-01 01:00:00', 10, null::varchar, 3),
    (2, 'a', timestamp '2026-01-05 00:00:00', timestamp '2026-03-16 12:30:00', 20, 'x', 4),
    (3, 'b', timestamp '2025-12-28 00:00:00', timestamp '2026-01-04 00:00:00', null, 'y', 0),
    (4, 'b', timestamp '2026-02-03 00:00:00', timestamp '2026-02-10 00:00:00', 5, null, 7)
) as t(id, g, a, b, x, s, n)"""

# Each pitfall: a query over ROWS that Spark must answer exactly as DuckDB does.
SAME_ANSWER = {
    "range frame": "select id, sum(x) over (partition by g order by a range between interval 7 days preceding "
    "and current row) as v from t",
    "ignore nulls": "select id, last_value(s ignore nulls) over (partition by g order by id rows between unbounded "
    "preceding and current row) as v from t",
    "date_diff boundaries": "select id, date_diff('month', a, b) as m, date_diff('day', a, b) as d, "
    "date_diff('week', a, b) as w, date_diff('year', a, b) as y, date_diff('quarter', a, b) as q, "
    "date_diff('hour', a, b) as h from t",
    "date_trunc": "select id, date_trunc('month', a) as m, date_trunc('week', b) as w from t",
    "day of week": "select id, dayofweek(a) as d1, extract(dow from b) as d2, isodow(a) as d3, "
    "extract(isodow from b) as d4 from t",
    "concat with nulls": "select id, concat_ws('-', g, s) as c1, g || s as c2, concat(g, s) as c3 from t",
    "qualify": "select id, g from t qualify row_number() over (partition by g order by id) = 1",
    "integer division": "select id, x / n as d1, x // n as d2, 7 / 2 as d3 from t",
    "decimal division": "select id, cast(x as decimal(12, 2)) / 3 as d1, sum(cast(x as decimal(12, 2))) over () / 7 "
    "as d2 from t",
    "lists": "select id, [x, n][1] as l1, [1, 2, 3][2] as l2 from t",
    "string to timestamp": "select id, cast('2026-03-16 10:00:00' as timestamp) as t1, "
    "cast('2026-03-16' as date) as d1, strftime(a, '%Y-%m') as f from t",
}


def test_month_boundaries_not_whole_months() -> None:
    # Spark's DATEDIFF(MONTH, a, b) counts whole months elapsed (0 from Jan 31 to Feb 1); DuckDB counts boundaries (1).
    assert to_spark("select date_diff('month', a, b) from t", pretty=False) == (
        "SELECT (((YEAR(b) * 12) + MONTH(b)) - ((YEAR(a) * 12) + MONTH(a))) FROM t"
    )


def test_day_of_week_counts_from_sunday_zero() -> None:
    assert to_spark("select dayofweek(a), isodow(a) from t", pretty=False) == (
        "SELECT (DAYOFWEEK(a) - 1), (((DAYOFWEEK(a) + 5) % 7) + 1) FROM t"
    )


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (
            "select g,\n  count(distinct x) over (partition by g) as n\nfrom t",
            "line 2: count(DISTINCT ...) OVER (...) (a DISTINCT aggregate over a window) is not supported by Spark. "
            "Aggregate in a subquery and join it back.",
        ),
        (
            "select *\nfrom t\nqualify row_number() over (partition by g order by id) = 1",
            "line 1: QUALIFY (QUALIFY with SELECT *) would add the window column to the output on Spark, which has no "
            "QUALIFY. List the columns, or filter the window in a subquery.",
        ),
        (
            "select\n  id,\n  list_sum(xs) as total\nfrom t",
            "line 3: list_sum(...) is a DuckDB function with no Spark equivalent that Northstar knows. Write it in "
            "standard SQL, or give Spark its own SQL with {% if target.type == 'spark' %} ... {% endif %}.",
        ),
        (
            "select hash(id) from t",
            "line 1: hash(...) gives different numbers in DuckDB and Spark (another hash function). Use md5() or "
            "sha2(), which agree.",
        ),
        (
            "select g, array_agg(s) from t group by g",
            "line 1: array_agg(...) keeps NULLs in DuckDB and drops them in Spark (collect_list). Filter NULLs first "
            "and use a list aggregate that both engines read the same way, or guard the model with "
            "{% if target.type == 'spark' %}.",
        ),
    ],
    ids=["distinct window", "qualify star", "unknown function", "hash", "array_agg"],
)
def test_refused_constructs_name_themselves_and_their_line(sql: str, error: str) -> None:
    with pytest.raises(Untranslatable) as caught:
        to_spark(sql)
    assert str(caught.value) == error


@pytest.mark.parametrize("case", sorted(SAME_ANSWER))
def test_spark_pitfalls_answer_the_same(case: str, spark_session: Any) -> None:
    query = f"select * from ({SAME_ANSWER[case].replace(' from t', ' from ' + ROWS)}) order by 1"
    expected = duckdb.sql(query).fetchall()
    actual = [tuple(row) for row in spark_session.sql(to_spark(query)).collect()]
    assert actual == expected
