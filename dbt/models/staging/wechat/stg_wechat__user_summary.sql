select
    f.account_id,
    f.ref_date,
    f.user_source,
    coalesce(user_source_code.label, 'unknown') as user_source_label,
    f.new_user,
    f.cancel_user,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'user_summary') }} as f
left join {{ ref('code_follower_source') }} as user_source_code
    on user_source_code.code = f.user_source
