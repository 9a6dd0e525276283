-- A missed call is resolved only by a call with the same customer that started after it.
select missed.account_id, missed.call_record_id
from {{ ref("missed_calls_to_call_back") }} as missed
inner join {{ ref("fct_calls") }} as resolving
    on resolving.account_id = missed.account_id
    and resolving.call_record_id = missed.resolved_by_call_record_id
where resolving.started_at <= missed.missed_at
    or resolving.customer_number is distinct from missed.customer_number
    or not resolving.is_answered
    or missed.resolution_delay_seconds < 0
