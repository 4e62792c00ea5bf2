select
    o.order_id,
    {{ my_utils.add_suffix("cast(o.order_id as varchar)", 'x') }} as tag,
    {{ my_utils.times('o.amount') }} as scaled,
    {{ my_utils.scale('o.amount') }} as scaled_by_var,
    c.label,
    o.amount
from {{ ref('orders') }} as o
join {{ ref('util_codes') }} as c using (code)
