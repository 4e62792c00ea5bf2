-- One row per order line, with the product line and the order's status and date: what customers buy.
select
    cast(items.order_id as varchar) || ':' || items.sku as order_item_key,
    items.order_id,
    items.sku,
    orders.user_id,
    orders.ordered_at,
    {{ month_start('orders.ordered_at') }} as order_month,
    orders.status,
    orders.status = 'completed' as is_completed,
    products.product_line,
    items.quantity,
    items.unit_price,
    items.line_total,
    products.list_price
from {{ ref('stg_order_items') }} as items
inner join {{ ref('stg_orders') }} as orders
    on orders.order_id = items.order_id
left join {{ ref('stg_products') }} as products
    on products.sku = items.sku
