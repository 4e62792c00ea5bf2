WITH ad_spend AS (
  /* ad_spend: ad_spend_gross = sum of spend_gross, per metric_time__month, channel */
  SELECT
    CAST(DATE_TRUNC('MONTH', ad_spend.spend_date) AS DATE) AS metric_time__month,
    ad_spend.channel AS channel,
    SUM(ad_spend.spend_gross) AS ad_spend_gross
  FROM marts.fct_ad_spend AS ad_spend
  GROUP BY
    1,
    2
), sessions AS (
  /* sessions: paid_sessions = sum boolean of is_paid, per metric_time__month, channel; rows where session__is_paid */
  SELECT
    CAST(DATE_TRUNC('MONTH', sessions.started_at) AS DATE) AS metric_time__month,
    sessions.channel AS channel,
    SUM(CASE WHEN sessions.is_paid THEN 1 ELSE 0 END) AS paid_sessions
  FROM marts.fct_sessions AS sessions
  WHERE
    sessions.is_paid
  GROUP BY
    1,
    2
)
SELECT
  COALESCE(ad_spend.metric_time__month, sessions.metric_time__month) AS metric_time__month,
  COALESCE(ad_spend.channel, sessions.channel) AS channel,
  CAST(ad_spend_gross AS DOUBLE) / NULLIF(paid_sessions, 0) AS cpc
FROM ad_spend
FULL OUTER JOIN sessions
  ON ad_spend.metric_time__month IS NOT DISTINCT FROM sessions.metric_time__month
  AND ad_spend.channel IS NOT DISTINCT FROM sessions.channel
ORDER BY
  metric_time__month ASC,
  channel ASC
