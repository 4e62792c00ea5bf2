WITH revenue_7d AS (
  /* orders: revenue_7d = sum of amount over the 7 days up to each day; per month, the value of its first day */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    ARG_MIN(revenue_7d, metric_time__day) AS revenue_7d
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
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
      1
  ) AS daily
  GROUP BY
    1
), revenue_7d_last AS (
  /* orders: revenue_7d_last = sum of amount over the 7 days up to each day; per month, the value of its last day */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    ARG_MAX(revenue_7d_last, metric_time__day) AS revenue_7d_last
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      SUM(orders.amount) AS revenue_7d_last
    FROM (
      SELECT
        time_spine.date_day AS metric_time__day
      FROM main.metricflow_time_spine AS time_spine
    ) AS days
    INNER JOIN main.fct_orders AS orders
      ON CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) <= days.metric_time__day
      AND CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) > days.metric_time__day - INTERVAL '7' DAY
    GROUP BY
      1
  ) AS daily
  GROUP BY
    1
), revenue_7d_avg AS (
  /* orders: revenue_7d_avg = sum of amount over the 7 days up to each day; per month, the value of its days on average */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    AVG(revenue_7d_avg) AS revenue_7d_avg
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      SUM(orders.amount) AS revenue_7d_avg
    FROM (
      SELECT
        time_spine.date_day AS metric_time__day
      FROM main.metricflow_time_spine AS time_spine
    ) AS days
    INNER JOIN main.fct_orders AS orders
      ON CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) <= days.metric_time__day
      AND CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) > days.metric_time__day - INTERVAL '7' DAY
    GROUP BY
      1
  ) AS daily
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue_7d,
  revenue_7d_last,
  revenue_7d_avg
FROM revenue_7d
FULL OUTER JOIN revenue_7d_last
  USING (metric_time__month)
FULL OUTER JOIN revenue_7d_avg
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
