{#- The incremental strategy of the marts: `incremental_strategy='replace_window'`.

    A window refresh replaces the model's whole window - every row of its days (and accounts)
    - with what the new build selected, in one transaction. dbt's delete+insert deletes only
    the unique keys the new batch carries, so a key that WeChat restated away (a source, an
    hour, a deleted article) would stay in the mart with no fact row behind it. dbt-postgres'
    microbatch is a MERGE on the unique key: it keeps such keys too.

    The window column is the model's `window_column` config; `window_lookback_days` widens it
    before the window (the rows a refresh rewrites, e.g. articles still collecting their day
    0..6 figures); `window_unit='week'` widens it to whole Monday-to-Sunday weeks. Without a
    window every row is replaced. -#}

{% macro replaced_window() -%}
  {%- do config.require('window_column') -%}
  {%- set rows = refreshed_window(config) -%}
  {{ rows if rows is not none else 'true' }}
{%- endmacro %}


{% macro get_incremental_replace_window_sql(arg_dict) -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  delete from {{ arg_dict['target_relation'] }}
  where {{ replaced_window() }};

  insert into {{ arg_dict['target_relation'] }} ({{ columns }})
  select {{ columns }} from {{ arg_dict['temp_relation'] }};
{%- endmacro %}
