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
), users AS (
  /* users: new_users = count of case when is_visitor then user_id end, per metric_time__month, channel; rows where user__is_paid_acquisition */
  SELECT
    CAST(DATE_TRUNC('MONTH', users.first_seen_at) AS DATE) AS metric_time__month,
    users.first_touch_channel AS channel,
    COUNT(CASE WHEN users.is_visitor THEN users.user_id END) AS new_users
  FROM marts.dim_users AS users
  WHERE
    users.is_paid_acquisition
  GROUP BY
    1,
    2
)
SELECT
  COALESCE(ad_spend.metric_time__month, users.metric_time__month) AS metric_time__month,
  COALESCE(ad_spend.channel, users.channel) AS channel,
  CAST(ad_spend_gross AS DOUBLE) / NULLIF(new_users, 0) AS cpuser
FROM ad_spend
FULL OUTER JOIN users
  ON ad_spend.metric_time__month IS NOT DISTINCT FROM users.metric_time__month
  AND ad_spend.channel IS NOT DISTINCT FROM users.channel
ORDER BY
  metric_time__month ASC,
  channel ASC
