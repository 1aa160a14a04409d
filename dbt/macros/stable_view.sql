{#- A view that is re-created only when its compiled SQL changed (or on --full-refresh).

    dbt's `view` re-creates every view on every run; with ~27 staging views that is a third of
    a nightly build's time for nothing. This one keeps an md5 of the compiled SQL as the view's
    comment and does nothing when it matches. A view dropped by a cascade (a seed reload, a
    migration) has no comment any more and is simply created again. Otherwise it is dbt's
    default view materialization. -#}
{%- materialization stable_view, adapter='postgres' -%}

  {%- set fingerprint = 'dbt sql md5 ' ~ local_md5(sql) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- if not should_full_refresh() -%}
    {%- if relation_comment(target_relation) == fingerprint -%}
      {%- call noop_statement('main', 'UNCHANGED', 'UNCHANGED') -%}{%- endcall -%}
      {{ return({'relations': [target_relation]}) }}
    {%- endif -%}
  {%- endif -%}

  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {%- set backup_relation_type = 'view' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {{ get_create_view_as_sql(intermediate_relation, sql) }}
  {%- endcall %}

  {% if existing_relation is not none %}
    {% set existing_relation = load_cached_relation(existing_relation) %}
    {% if existing_relation is not none %}
      {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
  {% endif %}
  {{ adapter.rename_relation(intermediate_relation, target_relation) }}

  {% call statement('fingerprint') -%}
    comment on view {{ target_relation }} is {{ dbt.string_literal(fingerprint) }}
  {%- endcall %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ drop_relation_if_exists(backup_relation) }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization -%}
