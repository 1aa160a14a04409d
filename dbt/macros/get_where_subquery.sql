{#- A data test reads the rows its build wrote, not the model's whole history: a test of a model
    with a `window_column` config (the staging views, the intermediate view, the incremental
    marts) reads, in a windowed build, only the window that model refreshes (widened by its
    `window_lookback_days`, or to whole weeks with `window_unit='week'`). Rows outside it were
    tested by the build that wrote them; scanning them all, every nightly build's tests would
    grow with the installation's age. A build without a window (the first, a full refresh,
    `dbt test` alone) tests every row. A test's own `where` config still applies.

    Overrides dbt's get_where_subquery, the documented place to template a test's filter. -#}
{% macro get_where_subquery(relation) -%}
  {%- set filters = [] -%}
  {%- set where = config.get('where') -%}
  {%- if where -%}
    {%- do filters.append('(' ~ where ~ ')') -%}
  {%- endif -%}
  {%- set tested = graph.nodes.get(model.get('attached_node')) if execute else none -%}
  {%- if tested and tested.config.get('window_column') -%}
    {%- set rows = refreshed_window(tested.config) -%}
    {%- if rows is not none -%}
      {%- do filters.append(rows) -%}
    {%- endif -%}
  {%- endif -%}
  {%- if filters -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
