-- Rows where the hours of {hourly} do not add up to {daily}, per account, day{key_note}.
-- Rows with no activity may be absent on either side and count as 0; only days present in
-- both tables are compared (a day loaded on one side only is not a mismatch yet).
with hourly as (
    select account_id, ref_date{keys}, {hourly_measures}
    from wechat.{hourly}
    where ref_date between :first and :last
    group by account_id, ref_date{keys}
),

daily as (
    select account_id, ref_date{keys}, {daily_measures}
    from wechat.{daily}
    where ref_date between :first and :last
),

days as (
    select distinct account_id, ref_date from hourly
    intersect
    select distinct account_id, ref_date from daily
)

select account_id, ref_date{keys}
from hourly
full join daily using (account_id, ref_date{keys})
join days using (account_id, ref_date)
where {mismatch}
order by account_id, ref_date{keys}
limit 50
