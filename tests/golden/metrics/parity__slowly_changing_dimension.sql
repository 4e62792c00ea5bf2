WITH orders AS (
  /* orders: revenue = sum of amount, per customer__tier */
  SELECT
    tiers.tier AS customer__tier,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  LEFT JOIN main.dim_tiers AS tiers
    ON orders.customer_id = tiers.customer_id
    AND (
      CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) >= tiers.valid_from
      AND (
        CAST(DATE_TRUNC('DAY', orders.ordered_at) AS DATE) < tiers.valid_to
        OR tiers.valid_to IS NULL
      )
    )
  GROUP BY
    1
), customers AS (
  /* customers: customers = count distinct of customer_id, per customer__tier */
  SELECT
    tiers.tier AS customer__tier,
    COUNT(DISTINCT customers.customer_id) AS customers
  FROM main.dim_customers AS customers
  LEFT JOIN main.dim_tiers AS tiers
    ON customers.customer_id = tiers.customer_id
    AND (
      CAST(DATE_TRUNC('DAY', customers.signup_date) AS DATE) >= tiers.valid_from
      AND (
        CAST(DATE_TRUNC('DAY', customers.signup_date) AS DATE) < tiers.valid_to
        OR tiers.valid_to IS NULL
      )
    )
  GROUP BY
    1
)
SELECT
  COALESCE(orders.customer__tier, customers.customer__tier) AS customer__tier,
  revenue,
  customers
FROM orders
FULL OUTER JOIN customers
  ON orders.customer__tier IS NOT DISTINCT FROM customers.customer__tier
ORDER BY
  customer__tier ASC
