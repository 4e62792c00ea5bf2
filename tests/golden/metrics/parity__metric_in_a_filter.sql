WITH orders AS (
  /* orders: revenue = sum of amount, per metric_time__month; rows where customer__revenue > 20 */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
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
    ON orders.customer_id = customer_revenue.customer
  WHERE
    customer_revenue.revenue > 20
  GROUP BY
    1
), orders_2 AS (
  /* orders: revenue_2 = sum of amount, per metric_time__month; rows where customer__order_count >= 2 */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue_2
  FROM main.fct_orders AS orders
  LEFT JOIN (
    WITH orders AS (
      /* orders: order_count = count of order_id, per customer */
      SELECT
        orders.customer_id AS customer,
        COUNT(orders.order_id) AS order_count
      FROM main.fct_orders AS orders
      GROUP BY
        1
    )
    SELECT
      customer,
      order_count
    FROM orders
  ) AS customer_order_count
    ON orders.customer_id = customer_order_count.customer
  WHERE
    customer_order_count.order_count >= 2
  GROUP BY
    1
), orders_3 AS (
  /* orders: revenue_3 = sum of amount, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    SUM(orders.amount) AS revenue_3
  FROM main.fct_orders AS orders
  GROUP BY
    1
)
SELECT
  metric_time__month,
  revenue AS big_customer_revenue,
  CAST(revenue_2 AS DOUBLE) / NULLIF(revenue_3, 0) AS repeat_share
FROM orders
FULL OUTER JOIN orders_2
  USING (metric_time__month)
FULL OUTER JOIN orders_3
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
