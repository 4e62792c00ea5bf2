select
    sku,
    lower(product_line) as product_line,
    name as product_name,
    cast(list_price as decimal(12, 2)) as list_price
from {{ source('raw', 'products') }}
