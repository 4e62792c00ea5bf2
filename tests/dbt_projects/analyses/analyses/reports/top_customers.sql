-- the best customers
select * from {{ ref('customers') }}
order by revenue desc
limit {{ var('top', 1) }}
