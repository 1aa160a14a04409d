-- Callbacks to the account's server per day; a day breaches when its average latency (a ratio
-- of sums, from the mart) is above :threshold ms.
select
    account_id,
    date_day,
    callback_count,
    fail_count,
    failure_rate,
    avg_latency_ms,
    max_latency_ms,
    coalesce(avg_latency_ms > :threshold, false) as breached
from analytics.fct_callback_latency_daily
where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
order by account_id, date_day
