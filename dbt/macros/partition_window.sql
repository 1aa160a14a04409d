{#- The window of days a build refreshes: env vars WX_DBT_START_DATE / WX_DBT_END_DATE as the
    pipeline sets them (or vars start_date / end_date from the CLI): ISO dates, both inclusive.
    Incremental models read the window (plus any look-back they need) and write only the
    window; without one, or on a first or --full-refresh build, they take all. -#}

{% macro partition_window() -%}
  {#- vars from `wx-pipeline dbt ... --vars` (checked while parsing); the pipeline sets
      WX_DBT_START/END_DATE instead, read when executing (run_env_var), which keeps dbt's
      partial parsing when only the window changes. -#}
  {%- set start = var('start_date', none) or run_env_var('WX_DBT_START_DATE') or none -%}
  {%- set end = var('end_date', none) or run_env_var('WX_DBT_END_DATE') or none -%}
  {%- if start is none and end is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if start is none or end is none -%}
    {{ exceptions.raise_compiler_error("pass both vars start_date and end_date, or neither") }}
  {%- endif -%}
  {%- set first = modules.datetime.date.fromisoformat(start | string) -%}
  {%- set last = modules.datetime.date.fromisoformat(end | string) -%}
  {%- if last < first -%}
    {{ exceptions.raise_compiler_error("end_date " ~ last ~ " is before start_date " ~ first) }}
  {%- endif -%}
  {{ return((first, last)) }}
{%- endmacro %}


{#- The accounts a build refreshes (env var WX_DBT_ACCOUNTS, app ids separated by commas, as
    `wx-pipeline run --account` sets it): a predicate on account_id; `true` for all accounts.
    Every model keeps accounts apart, so refreshing some leaves the others' rows as they are. -#}
{% macro in_accounts() -%}
  {%- set ids = [] -%}
  {%- for id in run_env_var('WX_DBT_ACCOUNTS').split(',') if id.strip() -%}
    {%- do ids.append("'" ~ id.strip() | replace("'", "''") ~ "'") -%}
  {%- endfor -%}
  {%- if ids -%}
    account_id in ({{ ids | join(', ') }})
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}


{#- The rows of a window on a date column, or none without a window: the window widened by
    lookback_days before it, or with unit='week' to whole Monday-to-Sunday weeks; and the
    build's accounts. -#}
{% macro window_predicate(column, lookback_days=0, unit='day') -%}
  {%- set window = partition_window() -%}
  {%- if window is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if unit == 'week' -%}
    {%- set days -%}
      {{ column }} >= date_trunc('week', date '{{ window[0] }}')::date
      and {{ column }} < date_trunc('week', date '{{ window[1] }}')::date + 7
    {%- endset -%}
  {%- else -%}
    {%- set days -%}
      {{ column }} between date '{{ window[0] }}' - {{ lookback_days }} and date '{{ window[1] }}'
    {%- endset -%}
  {%- endif -%}
  {{ return(days ~ ' and ' ~ in_accounts()) }}
{%- endmacro %}


{#- The rows a model refreshes, from its configs (a model's `config`, or a graph node's config
    dict): `window_column`, widened by `window_lookback_days` or to whole weeks with
    `window_unit='week'`; none without a window. Its incremental strategy deletes them
    (replace_window.sql), its data tests read them (get_where_subquery.sql). -#}
{% macro refreshed_window(model_config) -%}
  {{ return(window_predicate(
      model_config.get('window_column'),
      model_config.get('window_lookback_days', 0),
      model_config.get('window_unit', 'day'))) }}
{%- endmacro %}


{#- A predicate on a date column: within the window widened by lookback_days before it (and the
    build's accounts), when an incremental model refreshes a window; `true` otherwise. -#}
{% macro in_window(column, lookback_days=0) -%}
  {%- set rows = window_predicate(column, lookback_days) if is_incremental() else none -%}
  {{ rows if rows is not none else 'true' }}
{%- endmacro %}


{#- Like in_window, widened to whole Monday-to-Sunday weeks (weekly rollups). -#}
{% macro in_window_weeks(column) -%}
  {%- set rows = window_predicate(column, unit='week') if is_incremental() else none -%}
  {{ rows if rows is not none else 'true' }}
{%- endmacro %}
