WITH visits AS (
  /* visits: visits = count of visit_id, per metric_time__hour, customer__city */
  SELECT
    DATE_TRUNC('HOUR', visits.visited_at) AS metric_time__hour,
    customers.city AS customer__city,
    COUNT(visits.visit_id) AS visits
  FROM main.fct_visits AS visits
  LEFT JOIN main.dim_customers AS customers
    ON visits.customer_id = customers.customer_id
  GROUP BY
    1,
    2
)
SELECT
  metric_time__hour,
  customer__city,
  visits
FROM visits
ORDER BY
  metric_time__hour ASC,
  customer__city ASC
