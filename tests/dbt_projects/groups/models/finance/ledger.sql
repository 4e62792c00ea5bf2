select order_id, amount * 100 as cents from {{ ref('orders') }}
