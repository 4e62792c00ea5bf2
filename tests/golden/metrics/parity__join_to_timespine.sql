WITH orders AS (
  /* orders: revenue = sum of amount, per metric_time__month, order__status; every month of the time spine metricflow_time_spine (join_to_timespine) */
  SELECT
    periods.metric_time__month AS metric_time__month,
    measure_rows.order__status AS order__status,
    measure_rows.revenue AS revenue
  FROM (
    SELECT DISTINCT
      CAST(DATE_TRUNC('MONTH', time_spine.date_day) AS DATE) AS metric_time__month
    FROM main.metricflow_time_spine AS time_spine
  ) AS periods
  LEFT JOIN (
    SELECT
      CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
      orders.status AS order__status,
      SUM(orders.amount) AS revenue
    FROM main.fct_orders AS orders
    GROUP BY
      1,
      2
  ) AS measure_rows
    ON periods.metric_time__month = measure_rows.metric_time__month
), orders_2 AS (
  /* orders: order_count = count of order_id, per metric_time__month, order__status */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    orders.status AS order__status,
    COUNT(orders.order_id) AS order_count
  FROM main.fct_orders AS orders
  GROUP BY
    1,
    2
)
SELECT
  COALESCE(orders.metric_time__month, orders_2.metric_time__month) AS metric_time__month,
  COALESCE(orders.order__status, orders_2.order__status) AS order__status,
  COALESCE(revenue, 0) AS revenue_filled,
  order_count
FROM orders
FULL OUTER JOIN orders_2
  ON orders.metric_time__month IS NOT DISTINCT FROM orders_2.metric_time__month
  AND orders.order__status IS NOT DISTINCT FROM orders_2.order__status
ORDER BY
  metric_time__month ASC,
  order__status ASC
