select
    cast(order_id as bigint) as order_id,
    sku,
    cast(quantity as integer) as quantity,
    cast(unit_price as decimal(12, 2)) as unit_price,
    cast(quantity * unit_price as decimal(14, 2)) as line_total
from {{ source('raw', 'order_items') }}
