{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='send_date',
    window_lookback_days=6,
    on_schema_change='fail',
    indexes=[
        {'columns': ['account_id', 'msgid'], 'unique': True},
        {'columns': ['send_date']},
    ],
) }}

-- A window refresh rewrites the articles sent in it plus those sent in the 6 days before it:
-- their day 0..6 figures were still arriving. One pass over the article's days: the day
-- figures by days_since_send, and the newest day's (recency 1) rates and sources.
with stats as (
    select
        *,
        row_number() over (
            partition by account_id, msgid order by days_since_send desc
        ) as recency
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
{%- for measure in ['read_users', 'share_users', 'favourite_users'] %}
{%- for day in range(7) %}
        max(s.{{ measure }}) filter (where s.days_since_send = {{ day }}) as {{ measure }}_day_{{ day }},
{%- endfor %}
{%- endfor %}
        max(s.read_users) filter (where s.recency = 1) as latest_read_users,
        max(s.share_users) filter (where s.recency = 1) as latest_share_users,
{%- for source in ['conversation', 'chat', 'moments', 'history', 'other', 'top_stories', 'search'] %}
        (max(s.read_users_from_{{ source }}) filter (where s.recency = 1))::bigint
            as read_users_from_{{ source }}{{ ',' if not loop.last }}
{%- endfor %}
    from stats as s
    group by s.account_id, s.msgid
),

audience as (
    -- The 2025 endpoint has no target_user: followers at the end of the day before sending.
    select account_id, ref_date, cumulate_user
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
{%- for measure in ['read_users', 'share_users', 'favourite_users'] %}
{%- for day in range(7) %}
    a.{{ measure }}_day_{{ day }},
{%- endfor %}
{%- endfor %}
    {{ ratio('a.latest_read_users', 'coalesce(a.reported_target_user, f.cumulate_user)') }}
        as read_rate,
    {{ ratio('a.latest_share_users', 'a.latest_read_users') }} as share_rate,
{%- for source in ['conversation', 'chat', 'moments', 'history', 'other', 'top_stories', 'search'] %}
    a.read_users_from_{{ source }}{{ ',' if not loop.last }}
{%- endfor %}
from articles as a
-- Written as ref_date = send_date - 1 (not ref_date + 1 = send_date): the key's index is usable.
left join audience as f
    on f.account_id = a.account_id and f.ref_date = a.send_date - 1
