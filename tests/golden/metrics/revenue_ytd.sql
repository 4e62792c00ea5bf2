WITH revenue_ytd AS (
  /* orders: revenue_ytd = sum of case when is_completed then payment_total end over year to date, each day; per month, the value of its last day */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    ARG_MAX(revenue_ytd, metric_time__day) AS revenue_ytd
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      SUM(CASE WHEN orders.is_completed THEN orders.payment_total END) AS revenue_ytd
    FROM (
      SELECT
        CAST(UNNEST(GENERATE_SERIES(
          MIN(CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)),
          CAST(CAST(DATE_TRUNC('YEAR', MAX(CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE))) AS DATE) + INTERVAL '1' YEAR - INTERVAL '1' DAY AS DATE),
          INTERVAL '1' DAY
        )) AS DATE) AS metric_time__day
      FROM marts.fct_orders AS orders
    ) AS days
    INNER JOIN marts.fct_orders AS orders
      ON CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) <= days.metric_time__day
      AND CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) >= CAST(DATE_TRUNC('YEAR', days.metric_time__day) AS DATE)
    GROUP BY
      1
  ) AS daily
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue_ytd
FROM revenue_ytd
ORDER BY
  metric_time__month ASC
