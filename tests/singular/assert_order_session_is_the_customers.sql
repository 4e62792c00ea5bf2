-- An order's checkout session belongs to the same user and started before the order.
select
    orders.order_id,
    orders.user_id,
    sessions.user_id as session_user_id,
    orders.ordered_at,
    sessions.started_at
from {{ ref('fct_orders') }} as orders
inner join {{ ref('fct_sessions') }} as sessions
    on sessions.session_id = orders.session_id
where sessions.user_id <> orders.user_id
   or sessions.started_at > orders.ordered_at
