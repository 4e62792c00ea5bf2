WITH campaign_members AS (
  /* campaign_members: window_discount = sum of discount_in_window, per metric_time__month; rows where campaign_member__campaign_kind = 'reactivation' and campaign_member__group_name = 'treatment' */
  SELECT
    CAST(DATE_TRUNC('MONTH', campaign_members.exposed_at) AS DATE) AS metric_time__month,
    SUM(campaign_members.discount_in_window) AS window_discount
  FROM marts.fct_campaign_members AS campaign_members
  WHERE
    campaign_members.campaign_kind = 'reactivation'
    AND campaign_members.group_name = 'treatment'
  GROUP BY
    1
), campaign_members_2 AS (
  /* campaign_members: window_returners = sum boolean of returned_in_window; campaign_members = count of campaign_member_key, per metric_time__month; rows where campaign_member__campaign_kind = 'reactivation' and campaign_member__group_name = 'control' */
  SELECT
    CAST(DATE_TRUNC('MONTH', campaign_members.exposed_at) AS DATE) AS metric_time__month,
    SUM(CASE WHEN campaign_members.returned_in_window THEN 1 ELSE 0 END) AS window_returners,
    COUNT(campaign_members.campaign_member_key) AS campaign_members
  FROM marts.fct_campaign_members AS campaign_members
  WHERE
    campaign_members.campaign_kind = 'reactivation'
    AND campaign_members.group_name = 'control'
  GROUP BY
    1
)
SELECT
  metric_time__month,
  window_discount * window_returners / NULLIF(campaign_members, 0) AS discount_on_returners
FROM campaign_members
FULL OUTER JOIN campaign_members_2
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
