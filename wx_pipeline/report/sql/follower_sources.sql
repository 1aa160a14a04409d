-- Followers gained and lost per acquisition source, summed over the period.
select
    account_id,
    user_source_label as source,
    sum(new_followers)::bigint as gained,
    sum(cancelled_followers)::bigint as lost
from analytics.fct_follower_sources_daily
where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
group by account_id, user_source_label
order by account_id, sum(new_followers) + sum(cancelled_followers) desc, user_source_label
