select customer_id, name from {{ ref('dim_customers', version=1) }}
