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
)
SELECT
  metric_time__month,
  channel,
  ad_spend_gross
FROM ad_spend
ORDER BY
  metric_time__month ASC,
  channel ASC
