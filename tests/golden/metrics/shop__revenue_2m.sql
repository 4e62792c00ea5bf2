WITH revenue_2m AS (
  /* orders: revenue_2m = sum of case when status = 'completed' then amount end over the 2 months up to the end of each month */
  SELECT
    periods.metric_time__month,
    SUM(CASE WHEN orders.status = 'completed' THEN orders.amount END) AS revenue_2m
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
    AND orders.ordered_at >= periods.metric_time__month + INTERVAL '1' MONTH - INTERVAL '2' MONTH
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue_2m
FROM revenue_2m
ORDER BY
  metric_time__month ASC
