-- One row per SKU with lifetime sales from completed orders.
with sales as (
    select
        items.sku,
        sum(items.quantity) as units_sold,
        sum(items.line_total) as items_revenue,
        count(distinct orders.user_id) as customers
    from {{ ref('stg_order_items') }} as items
    inner join {{ ref('stg_orders') }} as orders
        on orders.order_id = items.order_id
    where orders.is_completed
    group by items.sku
)

select
    products.sku,
    products.product_line,
    products.product_name,
    products.list_price,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.items_revenue, 0) as items_revenue,
    coalesce(sales.customers, 0) as customers
from {{ ref('stg_products') }} as products
left join sales
    on sales.sku = products.sku
