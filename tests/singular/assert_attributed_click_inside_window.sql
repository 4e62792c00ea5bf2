-- An attributed order's winning click belongs to the same customer and lies inside the attribution window.
select
    orders.order_id,
    orders.ordered_at,
    messages.clicked_at,
    messages.user_id as message_user_id,
    orders.user_id as order_user_id
from {{ ref('fct_orders') }} as orders
inner join {{ ref('fct_communications') }} as messages
    on messages.message_id = orders.attributed_message_id
where messages.user_id <> orders.user_id
   or messages.clicked_at is null
   or messages.clicked_at > orders.ordered_at
   or messages.clicked_at < orders.ordered_at - interval '{{ var("attribution_window_days") }} days'
