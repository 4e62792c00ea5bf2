select customer_id, count(*) as orders, sum(amount) as revenue
from {{ ref('orders') }}
group by customer_id
