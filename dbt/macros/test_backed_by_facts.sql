{#- A mart row with no fact row behind it (error): every row (in a windowed build, every row of
    the window the mart refreshes: get_where_subquery) must be backed by at least one of
    `facts`, each `{model, on, when?, where?}`: `model` a staging or intermediate model read as
    `f`, `on` the mart column -> expression over `f` pairs that must match, `when` a condition
    on the mart row (`m`) for which that fact applies, `where` one on the fact rows. Catches a
    refresh that kept keys WeChat restated away. -#}
{% test backed_by_facts(model, facts) %}
select m.*
from (select * from {{ model }}) as m
where not (
    {%- for fact in facts %}
        ({{ fact.get('when', 'true') }} and exists (
            select 1
            from {{ ref(fact['model']) }} as f
            where {{ fact.get('where', 'true') }}
            {%- for column, expression in fact['on'].items() %}
                and m.{{ column }} = {{ expression }}
            {%- endfor %}
        )){{ ' or' if not loop.last }}
    {%- endfor %}
    )
{% endtest %}
