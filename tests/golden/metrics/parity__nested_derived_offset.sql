WITH orders AS (
  /* orders: revenue = sum of amount, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  GROUP BY
    1
), orders_offset AS (
  /* orders: revenue__offset_1_month = sum of amount, per metric_time__month, shifted 1 month later */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at + INTERVAL '1' MONTH) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue__offset_1_month
  FROM main.fct_orders AS orders
  GROUP BY
    1
), orders_offset_2 AS (
  /* orders: revenue__offset_2_month = sum of amount, per metric_time__month, shifted 2 months later */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at + INTERVAL '2' MONTH) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue__offset_2_month
  FROM main.fct_orders AS orders
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue - revenue__offset_1_month AS revenue_growth,
  (
    revenue__offset_1_month - revenue__offset_2_month
  ) AS growth_a_month_before
FROM orders
FULL OUTER JOIN orders_offset
  USING (metric_time__month)
FULL OUTER JOIN orders_offset_2
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
