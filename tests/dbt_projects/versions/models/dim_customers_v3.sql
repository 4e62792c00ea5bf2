select customer_id, name, country, orders from {{ ref('customers') }}
