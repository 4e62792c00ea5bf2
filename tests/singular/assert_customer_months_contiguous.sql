-- Churn needs every month of a customer's life: from the first order month to the last month, without gaps
-- or duplicates.
with per_customer as (
    select
        user_id,
        count(*) as months,
        min(activity_month) as first_month,
        max(activity_month) as last_month
    from {{ ref('fct_customer_months') }}
    group by user_id
),

last_month as (
    select max(activity_month) as last_month from {{ ref('fct_customer_months') }}
)

select per_customer.*
from per_customer
cross join last_month
where per_customer.months <> datediff('month', per_customer.first_month, per_customer.last_month) + 1
   or per_customer.last_month <> last_month.last_month
