WITH balances AS (
  /* balances: total_balance = sum of balance; only rows at the last balance_date per account of each period, per metric_time__month, balance__account_type */
  SELECT
    metric_time__month,
    balance__account_type,
    SUM(total_balance) AS total_balance
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', balances.balance_date) AS DATE) AS metric_time__month,
      balances.account_type AS balance__account_type,
      balances.balance AS total_balance
    FROM main.fct_balances AS balances
    QUALIFY
      balances.balance_date = MAX(balances.balance_date) OVER (
        PARTITION BY CAST(DATE_TRUNC('MONTH', balances.balance_date) AS DATE), balances.account_id
      )
  ) AS semi_additive_rows
  GROUP BY
    1,
    2
), balances_2 AS (
  /* balances: snapshot_balance = sum of balance; only rows at the last balance_date of each period, per metric_time__month, balance__account_type */
  SELECT
    metric_time__month,
    balance__account_type,
    SUM(snapshot_balance) AS snapshot_balance
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', balances.balance_date) AS DATE) AS metric_time__month,
      balances.account_type AS balance__account_type,
      balances.balance AS snapshot_balance
    FROM main.fct_balances AS balances
    QUALIFY
      balances.balance_date = MAX(balances.balance_date) OVER (PARTITION BY CAST(DATE_TRUNC('MONTH', balances.balance_date) AS DATE))
  ) AS semi_additive_rows
  GROUP BY
    1,
    2
)
SELECT
  COALESCE(balances.metric_time__month, balances_2.metric_time__month) AS metric_time__month,
  COALESCE(balances.balance__account_type, balances_2.balance__account_type) AS balance__account_type,
  total_balance,
  snapshot_balance
FROM balances
FULL OUTER JOIN balances_2
  ON balances.metric_time__month IS NOT DISTINCT FROM balances_2.metric_time__month
  AND balances.balance__account_type IS NOT DISTINCT FROM balances_2.balance__account_type
ORDER BY
  metric_time__month ASC,
  balance__account_type ASC
