{#- No two rows share the combination of `columns` (nulls compare equal, as in GROUP BY). -#}
{% test acefone_unique_key(model, columns) %}

select
    {{ columns | join(", ") }},
    count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1

{% endtest %}
