WITH revenue_7d AS (
  /* orders: revenue_7d = sum of amount over the 7 days up to each day; per order__ordered_at__month, the value of its first day */
  SELECT
    order__ordered_at__month,
    ARG_MIN(revenue_7d, metric_time__day) AS revenue_7d
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      CAST(DATE_TRUNC('MONTH', days.metric_time__day) AS DATE) AS order__ordered_at__month,
      SUM(orders.amount) AS revenue_7d
    FROM (
      SELECT
        time_spine.date_day AS metric_time__day
      FROM main.metricflow_time_spine AS time_spine
    ) AS days
    INNER JOIN main.fct_orders AS orders
      ON CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) <= days.metric_time__day
      AND CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) > days.metric_time__day - INTERVAL '7' DAY
    GROUP BY
      1,
      2
  ) AS daily
  GROUP BY
    1
)
SELECT
  order__ordered_at__month,
  revenue_7d
FROM revenue_7d
ORDER BY
  order__ordered_at__month ASC
