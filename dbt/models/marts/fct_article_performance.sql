{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['account_id', 'msgid'],
    on_schema_change='fail',
    indexes=[
        {'columns': ['account_id', 'msgid'], 'unique': True},
        {'columns': ['send_date']},
    ],
) }}

-- A window refresh rewrites the articles sent in it plus those sent in the 6 days before it:
-- their day 0..6 figures were still arriving.
with stats as (
    select *
    from {{ ref('int_article_stats_by_day') }}
    where days_since_send between 0 and 6 and {{ in_window('send_date', 6) }}
),

articles as (
    select
        s.account_id,
        s.msgid,
        min(s.msg_data_id) as msg_data_id,
        min(s.article_index) as article_index,
        min(s.send_date) as send_date,
        min(s.data_source) as data_source,
        max(s.title) as title,
        max(s.target_user) as reported_target_user,
        max(s.days_since_send) as stats_through_day,
        max(s.read_users) filter (where s.days_since_send = 0) as read_users_day_0,
        max(s.read_users) filter (where s.days_since_send = 1) as read_users_day_1,
        max(s.read_users) filter (where s.days_since_send = 2) as read_users_day_2,
        max(s.read_users) filter (where s.days_since_send = 3) as read_users_day_3,
        max(s.read_users) filter (where s.days_since_send = 4) as read_users_day_4,
        max(s.read_users) filter (where s.days_since_send = 5) as read_users_day_5,
        max(s.read_users) filter (where s.days_since_send = 6) as read_users_day_6,
        max(s.share_users) filter (where s.days_since_send = 0) as share_users_day_0,
        max(s.share_users) filter (where s.days_since_send = 1) as share_users_day_1,
        max(s.share_users) filter (where s.days_since_send = 2) as share_users_day_2,
        max(s.share_users) filter (where s.days_since_send = 3) as share_users_day_3,
        max(s.share_users) filter (where s.days_since_send = 4) as share_users_day_4,
        max(s.share_users) filter (where s.days_since_send = 5) as share_users_day_5,
        max(s.share_users) filter (where s.days_since_send = 6) as share_users_day_6,
        max(s.favourite_users) filter (where s.days_since_send = 0) as favourite_users_day_0,
        max(s.favourite_users) filter (where s.days_since_send = 1) as favourite_users_day_1,
        max(s.favourite_users) filter (where s.days_since_send = 2) as favourite_users_day_2,
        max(s.favourite_users) filter (where s.days_since_send = 3) as favourite_users_day_3,
        max(s.favourite_users) filter (where s.days_since_send = 4) as favourite_users_day_4,
        max(s.favourite_users) filter (where s.days_since_send = 5) as favourite_users_day_5,
        max(s.favourite_users) filter (where s.days_since_send = 6) as favourite_users_day_6
    from stats as s
    group by s.account_id, s.msgid
),

latest as (
    -- The last day (<= 6) an article has figures for: its rates and sources are taken there.
    select s.*
    from stats as s
    inner join articles as a
        on
            a.account_id = s.account_id and a.msgid = s.msgid
            and s.days_since_send = a.stats_through_day
),

audience as (
    -- The 2025 endpoint has no target_user: followers at the end of the day before sending.
    select account_id, ref_date + 1 as send_date, cumulate_user
    from {{ ref('stg_wechat__user_cumulate') }}
)

select
    a.account_id,
    a.msgid,
    a.msg_data_id,
    a.article_index,
    a.send_date,
    a.title,
    a.data_source,
    coalesce(a.reported_target_user, f.cumulate_user) as target_user,
    a.reported_target_user is null as target_user_is_estimated,
    a.stats_through_day,
    a.read_users_day_0,
    a.read_users_day_1,
    a.read_users_day_2,
    a.read_users_day_3,
    a.read_users_day_4,
    a.read_users_day_5,
    a.read_users_day_6,
    a.share_users_day_0,
    a.share_users_day_1,
    a.share_users_day_2,
    a.share_users_day_3,
    a.share_users_day_4,
    a.share_users_day_5,
    a.share_users_day_6,
    a.favourite_users_day_0,
    a.favourite_users_day_1,
    a.favourite_users_day_2,
    a.favourite_users_day_3,
    a.favourite_users_day_4,
    a.favourite_users_day_5,
    a.favourite_users_day_6,
    {{ ratio('l.read_users', 'coalesce(a.reported_target_user, f.cumulate_user)') }} as read_rate,
    {{ ratio('l.share_users', 'l.read_users') }} as share_rate,
    l.read_users_from_conversation,
    l.read_users_from_chat,
    l.read_users_from_moments,
    l.read_users_from_history,
    l.read_users_from_other,
    l.read_users_from_top_stories,
    l.read_users_from_search
from articles as a
inner join latest as l
    on l.account_id = a.account_id and l.msgid = a.msgid
left join audience as f
    on f.account_id = a.account_id and f.send_date = a.send_date
