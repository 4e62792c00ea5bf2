select id, name, tier from {{ ref('customers_history') }} where dbt_valid_to is null
