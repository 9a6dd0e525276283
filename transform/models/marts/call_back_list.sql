-- Who to call back: one row per customer number with missed calls not yet resolved,
-- oldest first.
with

pending as (

    select *
    from {{ ref("missed_calls_to_call_back") }}
    where not is_resolved
        and customer_number is not null

)

select
    account_id,
    customer_number,
    count(*) as missed_calls,
    min(missed_at) as first_missed_at,
    max(missed_at) as last_missed_at,
    (array_agg(call_record_id order by missed_at desc, call_record_id desc))[1] as last_missed_call_record_id,
    (array_agg(department_name order by missed_at desc, call_record_id desc))[1] as last_department_name,
    (array_agg(did_number order by missed_at desc, call_record_id desc))[1] as last_did_number,
    -- Attempts after the earliest pending miss include those after the later ones.
    max(failed_call_back_attempts) as failed_call_back_attempts
from pending
group by account_id, customer_number
