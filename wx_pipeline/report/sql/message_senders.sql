-- Users who sent messages, per day and by how many messages each sent (activity bucket).
select account_id, date_day, code, label, message_users
from analytics.fct_message_activity_daily
where
    account_id = any(cast(:accounts as text[]))
    and date_day between :first and :last
    and breakdown = 'activity_bucket'
order by account_id, date_day, code
