select
    f.account_id,
    f.ref_date,
    f.callback_count,
    f.fail_count,
    f.total_time_cost,
    f.max_time_cost,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'interface_summary') }} as f
