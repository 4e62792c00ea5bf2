WITH revenue_to_date AS (
  /* orders: revenue_to_date = sum of case when status = 'completed' then amount end over year to date, each day; per month, the value of its last day */
  SELECT
    CAST(DATE_TRUNC('MONTH', metric_time__day) AS DATE) AS metric_time__month,
    ARG_MAX(revenue_to_date, metric_time__day) AS revenue_to_date
  FROM (
    SELECT
      days.metric_time__day AS metric_time__day,
      SUM(CASE WHEN orders.status = 'completed' THEN orders.amount END) AS revenue_to_date
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
  revenue_to_date
FROM revenue_to_date
ORDER BY
  metric_time__month ASC
