/* orders: the distinct values of customer__city, order__status */
SELECT DISTINCT
  customers.city AS customer__city,
  orders.status AS order__status
FROM main.fct_orders AS orders
LEFT JOIN main.dim_customers AS customers
  ON orders.customer_id = customers.customer_id
ORDER BY
  customer__city ASC,
  order__status ASC
