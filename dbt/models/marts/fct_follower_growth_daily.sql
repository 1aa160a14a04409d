{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='date_day',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'date_day'], 'unique': True}],
) }}

-- Rolling sums need the 27 days before the window; they are read, only the window is written.
with gains as (
    select
        account_id,
        ref_date as date_day,
        sum(new_user)::bigint as new_followers,
        sum(cancel_user)::bigint as cancelled_followers
    from {{ ref('stg_wechat__user_summary') }}
    where {{ in_window('ref_date', 27) }}
    group by account_id, ref_date
),

totals as (
    select account_id, ref_date as date_day, cumulate_user as cumulative_followers
    from {{ ref('stg_wechat__user_cumulate') }}
    where {{ in_window('ref_date', 27) }}
),

days as (
    -- A day with a total but no source rows had no gains or losses (the API omits such rows).
    select
        account_id,
        date_day,
        coalesce(g.new_followers, 0) as new_followers,
        coalesce(g.cancelled_followers, 0) as cancelled_followers,
        coalesce(g.new_followers, 0) - coalesce(g.cancelled_followers, 0) as net_growth,
        t.cumulative_followers
    from totals as t
    full join gains as g using (account_id, date_day)
),

measured as (
    select
        *,
        case
            when lag(date_day) over by_day = date_day - 1
                then cumulative_followers - lag(cumulative_followers) over by_day
        end as cumulative_change,
        sum(net_growth) over (
            partition by account_id order by date_day
            range between interval '6 days' preceding and current row
        ) as net_growth_7d,
        sum(net_growth) over (
            partition by account_id order by date_day
            range between interval '27 days' preceding and current row
        ) as net_growth_28d
    from days
    window by_day as (partition by account_id order by date_day)
)

select
    account_id,
    date_day,
    new_followers,
    cancelled_followers,
    net_growth,
    cumulative_followers,
    cumulative_change,
    cumulative_change - net_growth as reconciliation_gap,
    net_growth_7d::bigint as net_growth_7d,
    net_growth_28d::bigint as net_growth_28d
from measured
where {{ in_window('date_day') }}
