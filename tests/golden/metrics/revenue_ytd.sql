WITH revenue_ytd AS (
  /* orders: revenue_ytd = sum of case when is_completed then payment_total end over year to date, at the end of each month */
  SELECT
    periods.metric_time__month,
    SUM(CASE WHEN orders.is_completed THEN orders.payment_total END) AS revenue_ytd
  FROM (
    SELECT
      CAST(UNNEST(GENERATE_SERIES(
        MIN(CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE)),
        MAX(CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE)),
        INTERVAL '1' MONTH
      )) AS DATE) AS metric_time__month
    FROM marts.fct_orders AS orders
  ) AS periods
  INNER JOIN marts.fct_orders AS orders
    ON orders.ordered_at < periods.metric_time__month + INTERVAL '1' MONTH
    AND orders.ordered_at >= CAST(DATE_TRUNC('YEAR', periods.metric_time__month) AS DATE)
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue_ytd
FROM revenue_ytd
ORDER BY
  metric_time__month ASC
