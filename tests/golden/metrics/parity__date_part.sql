WITH orders AS (
  /* orders: revenue = sum of amount, per metric_time__extract_dow, customer__signup_date__extract_month */
  SELECT
    EXTRACT(ISODOW FROM orders.ordered_at) AS metric_time__extract_dow,
    EXTRACT(MONTH FROM customers.signup_date) AS customer__signup_date__extract_month,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  LEFT JOIN main.dim_customers AS customers
    ON orders.customer_id = customers.customer_id
  GROUP BY
    1,
    2
)
SELECT
  metric_time__extract_dow,
  customer__signup_date__extract_month,
  revenue
FROM orders
ORDER BY
  metric_time__extract_dow ASC,
  customer__signup_date__extract_month ASC
