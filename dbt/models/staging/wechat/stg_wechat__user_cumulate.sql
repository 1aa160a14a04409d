select
    f.account_id,
    f.ref_date,
    f.cumulate_user,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'user_cumulate') }} as f
