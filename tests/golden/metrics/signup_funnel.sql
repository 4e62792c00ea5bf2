WITH signup_funnel_attempted AS (
  /* signup_funnel: step 1, 'attempted': each session's first per day */
  SELECT
    events.entity,
    CAST(DATE_TRUNC('DAY', events.event_at) AS DATE) AS period,
    MIN(events.event_at) AS event_at,
    ROW_NUMBER() OVER (ORDER BY events.entity, CAST(DATE_TRUNC('DAY', events.event_at) AS DATE)) AS journey_id
  FROM (
    SELECT
      sessions.session_id AS entity,
      sessions.started_at AS event_at,
      sessions.session_id AS value
    FROM marts.fct_sessions AS sessions
    WHERE
      sessions.signup_attempts > 0 AND NOT sessions.session_id IS NULL
  ) AS events
  GROUP BY
    1,
    2
), signup_funnel_succeeded AS (
  /* signup_funnel: step 2, 'succeeded', within 1 day of step 1 */
  SELECT
    previous.journey_id,
    previous.entity,
    MIN(events.event_at) AS event_at
  FROM signup_funnel_attempted AS previous
  INNER JOIN (
    SELECT
      sessions.session_id AS entity,
      sessions.started_at AS event_at,
      sessions.session_id AS value
    FROM marts.fct_sessions AS sessions
    WHERE
      sessions.signup_attempts > sessions.signup_failures
      AND NOT sessions.session_id IS NULL
  ) AS events
    ON events.entity = previous.entity
    AND events.event_at >= previous.event_at
    AND events.event_at <= previous.event_at + INTERVAL '1' DAY
  GROUP BY
    1,
    2
)
SELECT
  signup_funnel_attempted.period AS metric_time__day,
  COUNT(signup_funnel_attempted.journey_id) AS attempted,
  COUNT(signup_funnel_succeeded.journey_id) AS succeeded,
  CAST(COUNT(signup_funnel_succeeded.journey_id) AS DOUBLE) / NULLIF(COUNT(signup_funnel_attempted.journey_id), 0) AS succeeded_rate,
  CAST(COUNT(signup_funnel_succeeded.journey_id) AS DOUBLE) / NULLIF(COUNT(signup_funnel_attempted.journey_id), 0) AS signup_funnel
FROM signup_funnel_attempted
LEFT JOIN signup_funnel_succeeded
  USING (journey_id)
GROUP BY
  1
ORDER BY
  metric_time__day ASC
