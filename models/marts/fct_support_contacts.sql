-- One row per support contact: channel, scenario (the user's job to be done), cost, and the week and month it
-- was opened in, with the status of the order it is about.
select
    contacts.contact_id,
    contacts.user_id,
    contacts.order_id,
    contacts.opened_at,
    cast(date_trunc('week', contacts.opened_at) as date) as opened_week,
    {{ month_start('contacts.opened_at') }} as opened_month,
    contacts.channel,
    contacts.scenario,
    contacts.cost,
    contacts.user_id is not null as is_identified,
    orders.status as order_status
from {{ ref('stg_support_contacts') }} as contacts
left join {{ ref('stg_orders') }} as orders
    on orders.order_id = contacts.order_id
