-- getusersharehour adds up to getusershare per share scene (share counts), on days with both.
-- Shown in Dagster as a check on stg_wechat__user_share.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_wechat__user_share'}}}) }}

with hours as (
    select account_id, ref_date, share_scene, sum(share_count) as share_count
    from {{ ref('stg_wechat__user_share_hour') }}
    where {{ in_test_window('ref_date') }}
    group by account_id, ref_date, share_scene
)

select d.account_id, d.ref_date, d.share_scene
from {{ ref('stg_wechat__user_share') }} as d
inner join hours as h
    on h.account_id = d.account_id and h.ref_date = d.ref_date and h.share_scene = d.share_scene
where h.share_count <> d.share_count
