-- The North Star can never exceed the orders it is a share of: per month, CRM-attributed completed orders
-- must not outnumber completed orders. Returns the offending months.
select
    order_month,
    count(*) filter (where is_completed) as completed_orders,
    count(*) filter (where is_completed and is_crm_attributed) as crm_orders
from {{ ref('fct_orders') }}
group by order_month
having count(*) filter (where is_completed and is_crm_attributed) > count(*) filter (where is_completed)
