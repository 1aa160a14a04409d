{#- The grain test: fails for every combination of `columns` that occurs more than once or has
    a NULL in it (unique and not_null at once, one scan). In a windowed build it reads the
    model's window only (get_where_subquery). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having
    count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}
{% endtest %}
