select c.country, sum(p.amount) as amount
from {{ source('files', 'payments') }} as p
join {{ source('files', 'customers') }} as c on c.id = p.id
group by 1
