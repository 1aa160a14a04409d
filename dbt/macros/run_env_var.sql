{#- An environment variable that changes from run to run (the pipeline's WX_DBT_* window,
    accounts, newest final day), read only when executing: '' while dbt parses. dbt ties each
    file that reads an env var while parsing to its value, so a value new at every run would
    re-parse those files at every run. -#}
{% macro run_env_var(name) -%}
  {{ return(env_var(name, '') if execute else '') }}
{%- endmacro %}
