WITH orders AS (
  /* orders: revenue = sum of amount, per customer__city */
  SELECT
    customers.city AS customer__city,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  LEFT JOIN main.dim_customers AS customers
    ON orders.customer_id = customers.customer_id
  GROUP BY
    1
), customers AS (
  /* customers: customers = count distinct of customer_id, per customer__city */
  SELECT
    customers.city AS customer__city,
    COUNT(DISTINCT customers.customer_id) AS customers
  FROM main.dim_customers AS customers
  GROUP BY
    1
)
SELECT
  COALESCE(orders.customer__city, customers.customer__city) AS customer__city,
  revenue,
  customers
FROM orders
FULL OUTER JOIN customers
  ON orders.customer__city IS NOT DISTINCT FROM customers.customer__city
ORDER BY
  customer__city ASC
