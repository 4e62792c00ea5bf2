"""dbt's built-in macros as dbt-duckdb renders them: the cross-database macros (``dbt.dateadd``, ``dbt.type_string``,
...) and the overridable naming macros (``generate_schema_name``, ``generate_alias_name``, ``generate_database_name``).

They live in the ``dbt`` namespace: ``{{ dbt.dateadd('day', 1, 'd') }}`` and, as in dbt, bare ``{{ dateadd(...) }}``.
Each public macro dispatches through ``adapter.dispatch(name, 'dbt')``, so a project's own ``duckdb__dateadd`` or
``default__generate_schema_name`` is found first, as dbt searches the root project before its own macros.

The SQL each renders is DuckDB's spelling of what the macro means (checked against dbt-duckdb's compiled SQL and
tables in tests/test_dbt_projects.py); only the ``default__`` implementation is written here.
"""

from __future__ import annotations

import re

# Macros with the same signature as dbt's, written for DuckDB. A public macro is a one-line dispatcher to default__.
_IMPLEMENTATIONS = r"""
{% macro default__generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}
  {%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

{% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- if custom_alias_name -%}{{ custom_alias_name | trim }}
  {%- elif node.version -%}{{ node.name ~ "_v" ~ (node.version | replace(".", "_")) }}
  {%- else -%}{{ node.name }}{%- endif -%}
{%- endmacro %}

{% macro default__generate_database_name(custom_database_name=none, node=none) -%}
  {%- if custom_database_name is none -%}{{ target.database }}
  {%- else -%}{{ custom_database_name | trim }}{%- endif -%}
{%- endmacro %}

{% macro default__type_string() %}TEXT{% endmacro %}
{% macro default__type_timestamp() %}timestamp{% endmacro %}
{% macro default__type_int() %}integer{% endmacro %}
{% macro default__type_bigint() %}bigint{% endmacro %}
{% macro default__type_float() %}float{% endmacro %}
{% macro default__type_numeric() %}numeric(28,6){% endmacro %}
{% macro default__type_boolean() %}boolean{% endmacro %}

{% macro default__date_trunc(datepart, date) %}date_trunc('{{ datepart }}', {{ date }}){% endmacro %}

{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
({{ from_date_or_timestamp }} + cast({{ interval }} as bigint) * interval 1 {{ datepart }})
{%- endmacro %}

{% macro default__datediff(first_date, second_date, datepart) -%}
{%- set days = "date_diff('day', (" ~ first_date ~ ")::timestamp, (" ~ second_date ~ ")::timestamp)" -%}
{%- if datepart | lower == 'week' -%}
{#- Whole weeks between the two days, counted the way dbt-duckdb counts them: floor(days / 7), then one more
    (or one less) when the second day's weekday comes before (or after) the first's. -#}
({{ days }} // 7 + case
    when date_part('dow', ({{ first_date }})::timestamp) <= date_part('dow', ({{ second_date }})::timestamp)
    then case when {{ first_date }} <= {{ second_date }} then 0 else -1 end
    else case when {{ first_date }} <= {{ second_date }} then 1 else 0 end
end)
{%- else -%}
date_diff('{{ datepart }}', ({{ first_date }})::timestamp, ({{ second_date }})::timestamp)
{%- endif -%}
{%- endmacro %}

{% macro default__last_day(date, datepart) -%}
cast({{ dbt.dateadd('day', -1, dbt.dateadd(datepart, 1, dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro %}

{% macro default__concat(fields) %}{{ fields | join(' || ') }}{% endmacro %}
{% macro default__hash(field) %}md5(cast({{ field }} as {{ dbt.type_string() }})){% endmacro %}
{% macro default__safe_cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro default__cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro default__split_part(string_text, delimiter_text, part_number) -%}
string_split({{ string_text }}, {{ delimiter_text }})[{{ part_number }}]
{%- endmacro %}

{% macro default__listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
{%- if limit_num -%}
list_aggr((array_agg({{ measure }} {{ order_by_clause or '' }}))[1:{{ limit_num }}], 'string_agg', {{ delimiter_text }})
{%- else -%}
string_agg({{ measure }}, {{ delimiter_text }} {{ order_by_clause or '' }})
{%- endif -%}
{%- endmacro %}

{% macro default__current_timestamp() %}now(){% endmacro %}
{% macro default__current_timestamp_backcompat() %}current_timestamp::timestamp{% endmacro %}
{% macro default__current_timestamp_in_utc_backcompat() %}current_timestamp::timestamp{% endmacro %}
{% macro default__snapshot_get_time() %}now(){% endmacro %}
{% macro default__any_value(expression) %}arbitrary({{ expression }}){% endmacro %}
{% macro default__bool_or(expression) %}bool_or({{ expression }}){% endmacro %}
{% macro default__cast_bool_to_text(field) %}cast({{ field }} as {{ dbt.type_string() }}){% endmacro %}
{% macro default__escape_single_quotes(expression) %}{{ expression | replace("'", "''") }}{% endmacro %}
{% macro default__string_literal(value) %}'{{ value }}'{% endmacro %}
{% macro default__right(string_text, length_expression) -%}
right({{ string_text }}, {{ length_expression }})
{%- endmacro %}
{% macro default__length(expression) %}length({{ expression }}){% endmacro %}
{% macro default__replace(field, old_chars, new_chars) -%}
replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro %}
{% macro default__position(substring_text, string_text) -%}
position({{ substring_text }} in {{ string_text }})
{%- endmacro %}
{% macro default__equals(expr1, expr2) -%}
(({{ expr1 }} = {{ expr2 }}) or ({{ expr1 }} is null and {{ expr2 }} is null))
{%- endmacro %}
{% macro default__except() %}except{% endmacro %}
{% macro default__intersect() %}intersect{% endmacro %}

{% macro default__array_construct(inputs=[], data_type=none) -%}
{%- if inputs -%}[{{ inputs | join(', ') }}]{%- else -%}cast([] as {{ data_type or 'integer' }}[]){%- endif -%}
{%- endmacro %}
{% macro default__array_append(array, new_element) %}array_append({{ array }}, {{ new_element }}){% endmacro %}
{% macro default__array_concat(array_1, array_2) %}array_cat({{ array_1 }}, {{ array_2 }}){% endmacro %}

{% macro default__generate_series(upper_bound) -%}
{#- dbt-duckdb's series is DuckDB's generate_series, so its numbers are BIGINT; so are these. -#}
select generated_number
from generate_series(1, {{ upper_bound }}) as series(generated_number)
order by generated_number
{%- endmacro %}

{% macro default__date_spine(datepart, start_date, end_date) -%}
{#- One row per period from start_date up to (not including) end_date, without a query while rendering: DuckDB
    counts the periods itself. -#}
select date_day from (
    select {{ dbt.dateadd(datepart, 'period_number', start_date) }} as date_day
    from (select unnest(range(0, {{ dbt.datediff(start_date, end_date, datepart) }})) as period_number)
) as spine
where date_day <= {{ end_date }}
{%- endmacro %}
"""

# Public name -> its parameters as dbt spells them, forwarded to the dispatched implementation.
_SIGNATURES = {
    "generate_schema_name": "custom_schema_name=none, node=none",
    "generate_alias_name": "custom_alias_name=none, node=none",
    "generate_database_name": "custom_database_name=none, node=none",
    "type_string": "",
    "type_timestamp": "",
    "type_int": "",
    "type_bigint": "",
    "type_float": "",
    "type_numeric": "",
    "type_boolean": "",
    "date_trunc": "datepart, date",
    "dateadd": "datepart, interval, from_date_or_timestamp",
    "datediff": "first_date, second_date, datepart",
    "last_day": "date, datepart",
    "concat": "fields",
    "hash": "field",
    "safe_cast": "field, type",
    "cast": "field, type",
    "split_part": "string_text, delimiter_text, part_number",
    "listagg": "measure, delimiter_text=\"','\", order_by_clause=none, limit_num=none",
    "current_timestamp": "",
    "current_timestamp_backcompat": "",
    "current_timestamp_in_utc_backcompat": "",
    "snapshot_get_time": "",
    "any_value": "expression",
    "bool_or": "expression",
    "cast_bool_to_text": "field",
    "escape_single_quotes": "expression",
    "string_literal": "value",
    "right": "string_text, length_expression",
    "length": "expression",
    "replace": "field, old_chars, new_chars",
    "position": "substring_text, string_text",
    "equals": "expr1, expr2",
    "except": "",
    "intersect": "",
    "array_construct": "inputs=[], data_type=none",
    "array_append": "array, new_element",
    "array_concat": "array_1, array_2",
    "generate_series": "upper_bound",
    "date_spine": "datepart, start_date, end_date",
}


def _dispatcher(name: str, signature: str) -> str:
    names = ", ".join(re.findall(r"(?:^|,\s*)(\w+)(?=\s*(?:=|,|$))", signature))
    call = f"adapter.dispatch('{name}', 'dbt')({names})"
    return f"{{% macro {name}({signature}) %}}{{{{ return({call}) }}}}{{% endmacro %}}\n"


BUILTIN_MACROS = _IMPLEMENTATIONS + "".join(_dispatcher(name, sig) for name, sig in _SIGNATURES.items())
BUILTIN_MACROS_PATH = "<dbt built-in macros>"
NAMING_MACROS = ("generate_schema_name", "generate_alias_name", "generate_database_name")
