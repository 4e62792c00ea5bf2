WITH orders AS (
  /* orders: revenue = sum of case when is_completed then payment_total end; rows where user__segment = 'vip' */
  SELECT
    SUM(CASE WHEN orders.is_completed THEN orders.payment_total END) AS revenue
  FROM marts.fct_orders AS orders
  LEFT JOIN marts.dim_users AS users
    ON orders.user_id = users.user_id
  WHERE
    users.segment = 'vip'
), orders_2 AS (
  /* orders: revenue_2 = sum of case when is_completed then payment_total end */
  SELECT
    SUM(CASE WHEN orders.is_completed THEN orders.payment_total END) AS revenue_2
  FROM marts.fct_orders AS orders
)
SELECT
  CAST(revenue AS DOUBLE) / NULLIF(revenue_2, 0) AS top_customer_share
FROM orders
CROSS JOIN orders_2
