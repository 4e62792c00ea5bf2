{# The project's own implementation of a dbt macro for DuckDB wins over dbt's, through adapter.dispatch. #}
{% macro duckdb__safe_cast(field, type) %}try_cast({{ field }} as {{ type }}){% endmacro %}

{% macro cents(column) %}{{ dbt.safe_cast(column ~ ' * 100', dbt.type_int()) }}{% endmacro %}
