{#- numerator / denominator as double precision, NULL when the denominator is 0 or NULL.
    Always pass sums: an average over a period is the ratio of its sums. -#}
{% macro ratio(numerator, denominator) -%}
  ({{ numerator }})::double precision / nullif({{ denominator }}, 0)
{%- endmacro %}
