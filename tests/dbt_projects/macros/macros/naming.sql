{# A custom schema is used as written (no target prefix); seeds keep theirs; a 'stg_' alias for staging models. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}{{ custom_alias_name | trim }}
    {%- elif node.resource_type == 'model' and 'staging' in node.fqn -%}stg_{{ node.name }}
    {%- else -%}{{ node.name }}{%- endif -%}
{%- endmacro %}
