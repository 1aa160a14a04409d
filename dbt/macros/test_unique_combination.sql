{#- The grain test: fails for every combination of `columns` that occurs more than once or has
    a NULL in it (unique and not_null at once, one scan). With `window_column`, only the rows in
    the build's window of days (all of them without one). -#}
{% test unique_combination(model, columns, window_column=none) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
{%- if window_column %}
where {{ in_test_window(window_column) }}
{%- endif %}
group by {{ columns | join(', ') }}
having
    count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}
{% endtest %}
