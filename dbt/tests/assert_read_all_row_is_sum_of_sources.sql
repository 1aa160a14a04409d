-- The ALL row (user_source 99999999) of getuserread and getuserreadhour equals the sum of the
-- source rows, for every read counter; the marts rely on it to drop the ALL row.
-- Shown in Dagster as a check on stg_wechat__user_read.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_wechat__user_read'}}}) }}

{% set counters = [
    'int_page_read_user', 'int_page_read_count', 'ori_page_read_user', 'ori_page_read_count',
    'share_user', 'share_count', 'add_to_fav_user', 'add_to_fav_count',
] %}

{% for model, keys in [
    ('stg_wechat__user_read', ['account_id', 'ref_date']),
    ('stg_wechat__user_read_hour', ['account_id', 'ref_date', 'hour']),
] %}
select
    '{{ model }}' as model,
    account_id,
    ref_date,
    {{ 'hour' if 'hour' in keys else 'null::smallint' }} as hour
from {{ ref(model) }}
where {{ in_test_window('ref_date') }}
group by {{ keys | join(', ') }}
having
    count(*) filter (where is_total_row) = 1
    and (
        {%- for c in counters %}
        sum({{ c }}) filter (where is_total_row) <> sum({{ c }}) filter (where not is_total_row)
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{% if not loop.last %}union all{% endif %}
{% endfor %}
