WITH orders AS (
  /* orders: revenue = sum of amount; order_count = count of order_id, per customer__city */
  SELECT
    customers.city AS customer__city,
    SUM(orders.amount) AS revenue,
    COUNT(orders.order_id) AS order_count
  FROM main.fct_orders AS orders
  LEFT JOIN main.dim_customers AS customers
    ON orders.customer_id = customers.customer_id
  WHERE
    orders.status = 'completed'
  GROUP BY
    1
)
SELECT
  customer__city,
  revenue,
  order_count
FROM orders
ORDER BY
  revenue DESC
LIMIT 2
