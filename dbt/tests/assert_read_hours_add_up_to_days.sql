-- getuserreadhour adds up to getuserread per source (counts; distinct users need not add up),
-- on days with both.
-- Shown in Dagster as a check on stg_wechat__user_read.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_wechat__user_read'}}}) }}

with hours as (
    select
        account_id,
        ref_date,
        user_source,
        sum(int_page_read_count) as int_page_read_count,
        sum(ori_page_read_count) as ori_page_read_count,
        sum(share_count) as share_count,
        sum(add_to_fav_count) as add_to_fav_count
    from {{ ref('stg_wechat__user_read_hour') }}
    where {{ in_test_window('ref_date') }}
    group by account_id, ref_date, user_source
)

select d.account_id, d.ref_date, d.user_source
from {{ ref('stg_wechat__user_read') }} as d
inner join hours as h
    on h.account_id = d.account_id and h.ref_date = d.ref_date and h.user_source = d.user_source
where
    h.int_page_read_count <> d.int_page_read_count
    or h.ori_page_read_count <> d.ori_page_read_count
    or h.share_count <> d.share_count
    or h.add_to_fav_count <> d.add_to_fav_count
