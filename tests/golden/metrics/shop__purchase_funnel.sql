WITH purchase_funnel_visited AS (
  /* purchase_funnel: step 1, 'visited': each user's first per month */
  SELECT
    events.entity,
    CAST(DATE_TRUNC('MONTH', events.event_at) AS DATE) AS period,
    MIN(events.event_at) AS event_at,
    ROW_NUMBER() OVER (ORDER BY events.entity, CAST(DATE_TRUNC('MONTH', events.event_at) AS DATE)) AS journey_id
  FROM (
    SELECT
      events.user_id AS entity,
      events.event_at AS event_at,
      events.event_id AS value
    FROM marts.fct_events AS events
    WHERE
      events.kind = 'visit' AND NOT events.event_id IS NULL
  ) AS events
  GROUP BY
    1,
    2
), purchase_funnel_carted AS (
  /* purchase_funnel: step 2, 'carted', within 1 day of step 1 */
  SELECT
    previous.journey_id,
    previous.entity,
    MIN(events.event_at) AS event_at
  FROM purchase_funnel_visited AS previous
  INNER JOIN (
    SELECT
      events.user_id AS entity,
      events.event_at AS event_at,
      events.event_id AS value
    FROM marts.fct_events AS events
    WHERE
      events.kind = 'cart' AND NOT events.event_id IS NULL
  ) AS events
    ON events.entity = previous.entity
    AND events.event_at >= previous.event_at
    AND events.event_at <= previous.event_at + INTERVAL '1' DAY
  GROUP BY
    1,
    2
), purchase_funnel_purchased AS (
  /* purchase_funnel: step 3, 'purchased', within 2 hours of step 2 */
  SELECT
    previous.journey_id,
    previous.entity,
    MIN(events.event_at) AS event_at
  FROM purchase_funnel_carted AS previous
  INNER JOIN (
    SELECT
      events.user_id AS entity,
      events.event_at AS event_at,
      events.event_id AS value
    FROM marts.fct_events AS events
    WHERE
      events.kind = 'purchase' AND NOT events.event_id IS NULL
  ) AS events
    ON events.entity = previous.entity
    AND events.event_at >= previous.event_at
    AND events.event_at <= previous.event_at + INTERVAL '2' HOUR
  GROUP BY
    1,
    2
)
SELECT
  purchase_funnel_visited.period AS metric_time__month,
  COUNT(purchase_funnel_visited.journey_id) AS visited,
  COUNT(purchase_funnel_carted.journey_id) AS carted,
  CAST(COUNT(purchase_funnel_carted.journey_id) AS DOUBLE) / NULLIF(COUNT(purchase_funnel_visited.journey_id), 0) AS carted_rate,
  COUNT(purchase_funnel_purchased.journey_id) AS purchased,
  CAST(COUNT(purchase_funnel_purchased.journey_id) AS DOUBLE) / NULLIF(COUNT(purchase_funnel_carted.journey_id), 0) AS purchased_rate,
  CAST(COUNT(purchase_funnel_purchased.journey_id) AS DOUBLE) / NULLIF(COUNT(purchase_funnel_visited.journey_id), 0) AS purchase_funnel
FROM purchase_funnel_visited
LEFT JOIN purchase_funnel_carted
  USING (journey_id)
LEFT JOIN purchase_funnel_purchased
  USING (journey_id)
GROUP BY
  1
ORDER BY
  metric_time__month ASC
