-- Call volume and outcomes per local hour, department and DID (broadcasts left out: no
-- customer is waiting on them). Counts and second totals add up across rows.
with

measures as (

    select
        calls.account_id,
        calls.local_date,
        calls.local_hour,
        calls.department_id,
        calls.did_number,
        max(calls.department_name) as department_name,
        max(calls.did_alias) as did_alias,
        {{ acefone_volume_measures() }}
    from {{ ref("fct_calls") }} as calls
    left join {{ ref("int_acefone__inbound_call_history") }} as history
        on history.account_id = calls.account_id
        and history.call_record_id = calls.call_record_id
    where calls.call_type <> 'broadcast'
    group by calls.account_id, calls.local_date, calls.local_hour, calls.department_id, calls.did_number

)

select
    measures.*,
    {{ acefone_volume_rates() }}
from measures
