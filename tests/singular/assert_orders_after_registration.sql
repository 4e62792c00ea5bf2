-- Checkout needs an account: every order is placed by a registered user, after the registration.
select
    orders.order_id,
    orders.user_id,
    orders.ordered_at,
    users.registered_at
from {{ ref('fct_orders') }} as orders
inner join {{ ref('dim_users') }} as users
    on users.user_id = orders.user_id
where users.registered_at is null
   or orders.ordered_at < users.registered_at
