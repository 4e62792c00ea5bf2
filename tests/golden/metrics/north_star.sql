WITH orders AS (
  /* orders: completed_orders = count of case when is_completed then order_id end, per metric_time__month; rows where order__is_crm_attributed */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    COUNT(CASE WHEN orders.is_completed THEN orders.order_id END) AS completed_orders
  FROM marts.fct_orders AS orders
  WHERE
    orders.is_crm_attributed
  GROUP BY
    1
)
SELECT
  metric_time__month,
  completed_orders AS north_star
FROM orders
ORDER BY
  metric_time__month ASC
