-- Every offered call has exactly one outcome, and the days are the sum of their hours.
with

hourly as (

    select
        account_id,
        local_date,
        department_id,
        did_number,
        sum(calls_offered) as calls_offered,
        sum(calls_answered) as calls_answered,
        sum(calls_answered_within_service_level) as calls_answered_within_service_level,
        sum(total_wait_seconds) as total_wait_seconds
    from {{ ref("call_volume_hourly") }}
    group by account_id, local_date, department_id, did_number

)

select daily.*
from {{ ref("call_volume_daily") }} as daily
full outer join hourly
    on hourly.account_id = daily.account_id
    and hourly.local_date = daily.local_date
    and hourly.department_id is not distinct from daily.department_id
    and hourly.did_number is not distinct from daily.did_number
where daily.calls_offered is distinct from hourly.calls_offered
    or daily.calls_answered is distinct from hourly.calls_answered
    or daily.calls_answered_within_service_level
        is distinct from hourly.calls_answered_within_service_level
    or daily.total_wait_seconds is distinct from hourly.total_wait_seconds
    or daily.calls_offered <> daily.calls_answered + daily.calls_missed_by_agents
        + daily.calls_to_voicemail + daily.calls_abandoned_in_ivr + daily.calls_abandoned_in_queue
    or daily.calls_missed <> daily.calls_offered - daily.calls_answered
    or daily.calls_queued > daily.calls_offered
    or daily.calls_answered_within_service_level > daily.calls_answered
