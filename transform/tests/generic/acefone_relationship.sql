{#-
    Every non-null `column_name` of `model` exists as `field` in `to`, within the same
    account: the account-aware form of dbt's `relationships` test.
-#}
{% test acefone_relationship(model, column_name, to, field) %}

select
    child.account_id,
    child.{{ column_name }} as missing_value
from {{ model }} as child
left join {{ to }} as parent
    on parent.account_id = child.account_id
    and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null
    and parent.{{ field }} is null

{% endtest %}
