WITH revenue_2m AS (
  /* orders: revenue_2m = sum of case when status = 'completed' then amount end over the 2 months up to each day; per month, the value of its first day */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    ARG_MIN(revenue_2m, metric_time__day) AS revenue_2m
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      SUM(CASE WHEN orders.status = 'completed' THEN orders.amount END) AS revenue_2m
    FROM (
      SELECT
        CAST(UNNEST(GENERATE_SERIES(
          MIN(CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)),
          CAST(MAX(CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)) + INTERVAL '2' MONTH - INTERVAL '1' DAY AS DATE),
          INTERVAL '1' DAY
        )) AS DATE) AS metric_time__day
      FROM marts.fct_orders AS orders
    ) AS days
    INNER JOIN marts.fct_orders AS orders
      ON CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) <= days.metric_time__day
      AND CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) > days.metric_time__day - INTERVAL '2' MONTH
    GROUP BY
      1
  ) AS daily
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue_2m
FROM revenue_2m
ORDER BY
  metric_time__month ASC
