-- Numbers that called again within the repeat window: the customers whose issue the first
-- contact did not settle (a first-contact resolution proxy).
with

history as (

    select
        history.*,
        calls.is_answered
    from {{ ref("int_acefone__inbound_call_history") }} as history
    inner join {{ ref("fct_calls") }} as calls
        on calls.account_id = history.account_id
        and calls.call_record_id = history.call_record_id

)

select
    account_id,
    customer_number,
    count(*) as inbound_calls,
    count(*) filter (where is_repeat_call) as repeat_calls,
    count(*) filter (where is_answered) as answered_calls,
    count(*) filter (where not is_answered) as unanswered_calls,
    min(started_at) as first_call_at,
    max(started_at) as last_call_at,
    min({{ acefone_seconds_between("previous_call_at", "started_at") }}) as shortest_gap_seconds
from history
group by account_id, customer_number
having count(*) filter (where is_repeat_call) > 0
