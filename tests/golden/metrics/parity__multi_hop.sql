WITH orders AS (
  /* orders: revenue = sum of amount, per customer__region__country__country_name, customer__region__region_name */
  SELECT
    countries.country_name AS customer__region__country__country_name,
    regions.region_name AS customer__region__region_name,
    SUM(orders.amount) AS revenue
  FROM main.fct_orders AS orders
  LEFT JOIN main.dim_customers AS customers
    ON orders.customer_id = customers.customer_id
  LEFT JOIN main.dim_regions AS regions
    ON customers.region_id = regions.region_id
  LEFT JOIN main.dim_countries AS countries
    ON regions.country_id = countries.country_id
  GROUP BY
    1,
    2
)
SELECT
  customer__region__country__country_name,
  customer__region__region_name,
  revenue
FROM orders
ORDER BY
  customer__region__country__country_name ASC,
  customer__region__region_name ASC
