/* customers: the distinct values of customer__city */
SELECT DISTINCT
  customers.city AS customer__city
FROM main.dim_customers AS customers
LEFT JOIN (
  WITH orders AS (
    /* orders: revenue = sum of amount, per customer */
    SELECT
      orders.customer_id AS customer,
      SUM(orders.amount) AS revenue
    FROM main.fct_orders AS orders
    GROUP BY
      1
  )
  SELECT
    customer,
    revenue
  FROM orders
) AS customer_revenue
  ON customers.customer_id = customer_revenue.customer
WHERE
  customer_revenue.revenue > 10
ORDER BY
  customer__city ASC
