{% snapshot customer_tiers %}
{{ config(unique_key='id', strategy='check', check_cols=['tier']) }}
select id, name, tier from {{ ref('customers') }}
{% endsnapshot %}
