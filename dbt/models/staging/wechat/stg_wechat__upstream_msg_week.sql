select
    f.account_id,
    f.ref_date,
    f.msg_type,
    coalesce(msg_type_code.label, 'unknown') as msg_type_label,
    f.msg_user,
    f.msg_count,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'upstream_msg_week') }} as f
left join {{ ref('code_msg_type') }} as msg_type_code
    on msg_type_code.code = f.msg_type
