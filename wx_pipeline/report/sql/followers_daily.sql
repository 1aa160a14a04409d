-- Followers: one row per account and day.
select
    account_id,
    date_day,
    new_followers::bigint as new_followers,
    cancelled_followers::bigint as cancelled_followers,
    net_growth::bigint as net_growth,
    cumulative_followers,
    net_growth_7d,
    net_growth_28d
from analytics.fct_follower_growth_daily
where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
order by account_id, date_day
