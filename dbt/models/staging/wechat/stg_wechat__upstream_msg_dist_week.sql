select
    f.account_id,
    f.ref_date,
    f.count_interval,
    coalesce(count_interval_code.label, 'unknown') as count_interval_label,
    f.msg_user,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'upstream_msg_dist_week') }} as f
left join {{ ref('code_count_interval') }} as count_interval_code
    on count_interval_code.code = f.count_interval
