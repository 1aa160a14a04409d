{#- The comment on a table or view, none when it has none or does not exist: where stable_view
    and stable_seed keep the fingerprint of what they last built. -#}
{%- macro relation_comment(relation) -%}
  {%- set found = run_query(
      "select obj_description(to_regclass("
      ~ dbt.string_literal(relation.include(database=false).render())
      ~ "), 'pg_class')"
  ) -%}
  {{ return(found.columns[0].values()[0]) }}
{%- endmacro -%}
