-- Messages users sent to the account, per day and message type.
select account_id, date_day, code, label, messages, message_users
from analytics.fct_message_activity_daily
where
    account_id = any(cast(:accounts as text[]))
    and date_day between :first and :last
    and breakdown = 'msg_type'
order by account_id, date_day, code
