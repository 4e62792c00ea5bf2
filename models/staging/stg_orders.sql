select
    cast(order_id as bigint) as order_id,
    cast(user_id as bigint) as user_id,
    cast(session_id as bigint) as session_id,
    cast(ordered_at as timestamp) as ordered_at,
    lower(status) as status,
    lower(status) = 'completed' as is_completed,
    cast(items_total as decimal(12, 2)) as items_total,
    cast(discount as decimal(12, 2)) as discount,
    cast(payment_total as decimal(12, 2)) as payment_total,
    nullif(trim(promo_code), '') as promo_code
from {{ source('raw', 'orders') }}
