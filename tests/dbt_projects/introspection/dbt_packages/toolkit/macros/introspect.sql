{# A tiny stand-in for the introspecting macros of utility packages, written for this suite. #}

{% macro columns_except(relation, except=[]) %}
  {{ return(adapter.dispatch('columns_except', 'toolkit')(relation, except)) }}
{% endmacro %}

{% macro default__columns_except(relation, except=[]) %}
  {%- if not execute -%}{{ return('*') }}{%- endif -%}
  {%- set skipped = except | map('lower') | list -%}
  {%- set kept = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- if column.name | lower not in skipped -%}{%- do kept.append(adapter.quote(column.name)) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(kept | join(', ')) }}
{% endmacro %}

{% macro distinct_values(relation, column, order_by=none) %}
  {{ return(adapter.dispatch('distinct_values', 'toolkit')(relation, column, order_by)) }}
{% endmacro %}

{% macro default__distinct_values(relation, column, order_by=none) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set query -%}
    select distinct {{ column }} from {{ relation }} order by {{ order_by or column }}
  {%- endset -%}
  {%- set result = run_query(query) -%}
  {{ return(result.columns[0].values() | list) }}
{% endmacro %}

{% macro spread(column, values, then_value, prefix='') %}
  {{ return(adapter.dispatch('spread', 'toolkit')(column, values, then_value, prefix)) }}
{% endmacro %}

{% macro default__spread(column, values, then_value, prefix='') %}
  {%- for value in values -%}
    sum(case when {{ column }} = '{{ value }}' then {{ then_value }} else 0 end) as {{ adapter.quote(prefix ~ value) }}
    {%- if not loop.last %},
    {% endif -%}
  {%- endfor -%}
{% endmacro %}
