-- Every Beijing day from the first datacube day to a year past the newest final day (the
-- pipeline's rule and clock, WX_DBT_NEWEST_FINAL_DAY; the database's yesterday otherwise).
{%- set newest = run_env_var('WX_DBT_NEWEST_FINAL_DAY') %}
select
    d::date as date_day,
    extract(isoyear from d)::integer as iso_year,
    extract(week from d)::integer as iso_week,
    extract(year from d)::integer as year,
    extract(quarter from d)::integer as quarter,
    extract(month from d)::integer as month,
    date_trunc('week', d)::date as week_start,
    date_trunc('month', d)::date as month_start,
    extract(isodow from d)::integer as day_of_week,
    trim(to_char(d, 'Day')) as day_name,
    extract(isodow from d) >= 6 as is_weekend
from generate_series(
    date '{{ var("data_start") }}',
    {% if newest %}date '{{ newest }}'{% else %}(now() at time zone 'Asia/Shanghai')::date - 1{% endif %}
    + 366,
    interval '1 day'
) as d
