-- Account-wide reads and shares per weekday and hour, averaged over the days of that weekday
-- with hourly data (a period holds unequal numbers of Mondays, Tuesdays, ...).
with hourly as (
    select r.account_id, r.date_day, d.day_of_week, r.hour, r.reads, r.shares
    from analytics.fct_reads_hourly as r
    inner join analytics.dim_date as d on d.date_day = r.date_day
    where r.account_id = any(cast(:accounts as text[])) and r.date_day between :first and :last
),

weekdays as (
    select account_id, day_of_week, count(distinct date_day) as days
    from hourly
    group by account_id, day_of_week
)

select
    h.account_id,
    h.day_of_week,
    h.hour,
    w.days,
    sum(h.reads)::bigint as reads,
    sum(h.shares)::bigint as shares,
    sum(h.reads)::double precision / w.days as reads_per_day,
    sum(h.shares)::double precision / w.days as shares_per_day
from hourly as h
inner join weekdays as w using (account_id, day_of_week)
group by h.account_id, h.day_of_week, h.hour, w.days
order by h.account_id, h.day_of_week, h.hour
