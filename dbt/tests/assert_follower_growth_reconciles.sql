-- Day-over-day change of the follower total = that day's net growth. A non-zero gap means the
-- API revised one of getusercumulate / getusersummary after the other was fetched.
{{ config(severity='warn') }}

select account_id, date_day, net_growth, cumulative_change, reconciliation_gap
from {{ ref('fct_follower_growth_daily') }}
where reconciliation_gap <> 0 and {{ in_test_window('date_day') }}
