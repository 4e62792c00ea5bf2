select l.customer_id, l.country, o.name as old_name, n.orders
from {{ ref('dim_customers') }} as l
join {{ ref('dim_customers', v=1) }} as o using (customer_id)
join {{ ref('dim_customers', version=3) }} as n using (customer_id)
