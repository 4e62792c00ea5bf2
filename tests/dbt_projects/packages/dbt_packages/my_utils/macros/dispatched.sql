{% macro add_suffix(column, suffix) %}{{ return(adapter.dispatch('add_suffix', 'my_utils')(column, suffix)) }}{% endmacro %}
{% macro default__add_suffix(column, suffix) %}{{ column }} || '{{ suffix }}'{% endmacro %}
{% macro duckdb__add_suffix(column, suffix) %}concat({{ column }}, '{{ suffix }}', '!'){% endmacro %}

{% macro times(column) %}{{ return(adapter.dispatch('times', 'my_utils')(column)) }}{% endmacro %}
{% macro default__times(column) %}({{ column }} * {{ var('my_utils_multiplier', 3) }}){% endmacro %}

{% macro scale(column) %}{{ my_utils.default__times(column) }}{% endmacro %}
