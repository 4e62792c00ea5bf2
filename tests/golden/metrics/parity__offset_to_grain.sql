WITH orders AS (
  /* orders: revenue = sum of amount, per metric_time__week */
  SELECT
    CAST(DATE_TRUNC('WEEK', orders.ordered_at) AS DATE) AS metric_time__week,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  GROUP BY
    1
), orders_start_of_month AS (
  /* orders: revenue__start_of_month at the start of each month: per week, the rows of the day date_trunc('month', week) starts */
  SELECT
    periods.period_start AS metric_time__week,
    SUM(orders.amount) AS revenue__start_of_month
  FROM (
    SELECT
      CAST(DATE_TRUNC('WEEK', spine_days.day) AS DATE) AS period_start
    FROM (
      SELECT
        time_spine.date_day AS day
      FROM main.metricflow_time_spine AS time_spine
    ) AS spine_days
    WHERE
      CAST(DATE_TRUNC('WEEK', spine_days.day) AS DATE) = spine_days.day
  ) AS periods
  INNER JOIN main.fct_orders AS orders
    ON CAST(DATE_TRUNC('MONTH', periods.period_start) AS DATE) = CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)
  GROUP BY
    1
), orders_start_of_quarter AS (
  /* orders: revenue__start_of_quarter at the start of each quarter: per week, the rows of the day date_trunc('quarter', week) starts */
  SELECT
    periods.period_start AS metric_time__week,
    SUM(orders.amount) AS revenue__start_of_quarter
  FROM (
    SELECT
      CAST(DATE_TRUNC('WEEK', spine_days.day) AS DATE) AS period_start
    FROM (
      SELECT
        time_spine.date_day AS day
      FROM main.metricflow_time_spine AS time_spine
    ) AS spine_days
    WHERE
      CAST(DATE_TRUNC('WEEK', spine_days.day) AS DATE) = spine_days.day
  ) AS periods
  INNER JOIN main.fct_orders AS orders
    ON CAST(DATE_TRUNC('QUARTER', periods.period_start) AS DATE) = CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE)
  GROUP BY
    1
)
SELECT
  metric_time__week,
  revenue - revenue__start_of_month AS revenue_over_month_start,
  revenue__start_of_quarter AS revenue_quarter_start
FROM orders
FULL OUTER JOIN orders_start_of_month
  USING (metric_time__week)
FULL OUTER JOIN orders_start_of_quarter
  USING (metric_time__week)
ORDER BY
  metric_time__week ASC
