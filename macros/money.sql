{#- Money helpers. Ad platforms report spend net of VAT and of the agency's commission: both are paid on top. -#}

{% macro gross_spend(spend, fee_rate) -%}
    cast({{ spend }} * (1 + {{ var('vat_rate') }}) * (1 + coalesce({{ fee_rate }}, 0)) as decimal(14, 2))
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
