{#- Calendar helpers: a "month" is a calendar month in UTC, represented by its first day. -#}

{% macro month_start(column) -%}
    cast(date_trunc('month', {{ column }}) as date)
{%- endmacro %}

{% macro in_list(column, values) -%}
    {{ column }} in ({% for value in values %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
