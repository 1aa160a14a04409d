-- Days whose change in total followers (user_cumulate) differs from the day's net growth
-- (user_summary: new_user - cancel_user over all sources). Consecutive days only.
with cumulate as (
    select
        account_id,
        ref_date,
        cumulate_user
            - lag(cumulate_user) over (partition by account_id order by ref_date) as delta,
        ref_date - lag(ref_date) over (partition by account_id order by ref_date) as gap
    from wechat.user_cumulate
    where ref_date between cast(:first as date) - 1 and :last
),

growth as (
    select account_id, ref_date, sum(new_user - cancel_user) as net_growth
    from wechat.user_summary
    where ref_date between :first and :last
    group by account_id, ref_date
)

select c.account_id, c.ref_date, c.delta, coalesce(g.net_growth, 0) as net_growth
from cumulate as c
left join growth as g on g.account_id = c.account_id and g.ref_date = c.ref_date
where c.ref_date between :first and :last
    and c.gap = 1
    and c.delta <> coalesce(g.net_growth, 0)
order by c.account_id, c.ref_date
limit 50
