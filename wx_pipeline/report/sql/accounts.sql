-- Every account the marts know, with its span of data: the default selection and period.
select account_id, first_data_date, last_data_date
from analytics.dim_account
order by account_id
