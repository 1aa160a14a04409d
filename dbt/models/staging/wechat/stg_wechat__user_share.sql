select
    f.account_id,
    f.ref_date,
    f.share_scene,
    coalesce(share_scene_code.label, 'unknown') as share_scene_label,
    f.share_count,
    f.share_user,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'user_share') }} as f
left join {{ ref('code_share_scene') }} as share_scene_code
    on share_scene_code.code = f.share_scene
