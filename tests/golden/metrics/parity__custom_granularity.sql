WITH orders AS (
  /* orders: revenue = sum of amount; order_count = count of order_id, per metric_time__fiscal_quarter */
  SELECT
    (
      SELECT
        time_spine.fiscal_quarter
      FROM main.metricflow_time_spine AS time_spine
      WHERE
        time_spine.date_day = CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)
    ) AS metric_time__fiscal_quarter,
    SUM(orders.amount) AS revenue,
    COUNT(orders.order_id) AS order_count
  FROM main.fct_orders AS orders
  GROUP BY
    1
)
SELECT
  metric_time__fiscal_quarter,
  revenue,
  order_count
FROM orders
ORDER BY
  metric_time__fiscal_quarter ASC
