-- An order's items_total is the sum of its lines; a mismatch means lost or duplicated order lines.
select
    orders.order_id,
    orders.items_total,
    sum(items.line_total) as lines_total
from {{ ref('fct_orders') }} as orders
inner join {{ ref('fct_order_items') }} as items
    on items.order_id = orders.order_id
group by orders.order_id, orders.items_total
having sum(items.line_total) <> orders.items_total
