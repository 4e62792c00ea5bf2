-- Legacy spelling: a block with config(); target_schema comes from dbt_project.yml.
{% snapshot customers_history %}
{{
    config(
        unique_key='id',
        strategy='timestamp',
        updated_at='updated_at',
        invalidate_hard_deletes=True,
    )
}}
select * from {{ ref('customers') }}
{% endsnapshot %}
