WITH orders AS (
  /* orders: completed_orders = count of case when is_completed then order_id end, per metric_time__quarter; rows where order__is_crm_attributed */
  SELECT
    CAST(DATE_TRUNC('QUARTER', orders.ordered_at) AS DATE) AS metric_time__quarter,
    COUNT(CASE WHEN orders.is_completed THEN orders.order_id END) AS completed_orders
  FROM marts.fct_orders AS orders
  WHERE
    orders.is_crm_attributed
  GROUP BY
    1
), orders_offset AS (
  /* orders: completed_orders__offset_1_quarter = count of case when is_completed then order_id end, per metric_time__quarter, shifted 1 quarter later; rows where order__is_crm_attributed */
  SELECT
    CAST(DATE_TRUNC('QUARTER', orders.ordered_at + INTERVAL '1' QUARTER) AS DATE) AS metric_time__quarter,
    COUNT(CASE WHEN orders.is_completed THEN orders.order_id END) AS completed_orders__offset_1_quarter
  FROM marts.fct_orders AS orders
  WHERE
    orders.is_crm_attributed
  GROUP BY
    1
)
SELECT
  metric_time__quarter,
  (
    completed_orders - completed_orders__offset_1_quarter
  ) / NULLIF(completed_orders__offset_1_quarter, 0) AS north_star_qoq
FROM orders
FULL OUTER JOIN orders_offset
  USING (metric_time__quarter)
ORDER BY
  metric_time__quarter ASC
