-- Rows where the ALL row (user_source 99999999) of {table} differs from the sum of the
-- source rows, per account, day{key_note}.
with sources as (
    select account_id, ref_date{keys}, {sum_measures}
    from wechat.{table}
    where ref_date between :first and :last and user_source <> 99999999
    group by account_id, ref_date{keys}
),

total as (
    select account_id, ref_date{keys}, {measures}
    from wechat.{table}
    where ref_date between :first and :last and user_source = 99999999
)

select account_id, ref_date{keys}
from total
full join sources using (account_id, ref_date{keys})
where {mismatch}
order by account_id, ref_date{keys}
limit 50
