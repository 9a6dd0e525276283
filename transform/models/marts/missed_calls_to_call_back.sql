-- Every inbound call nobody answered, and whether the customer has been reached since: by
-- a later answered call from the same number, or by an outbound call to it that connected.
-- The unresolved ones are the call-back list (call_back_list: one row per number).
with

calls as (

    select * from {{ ref("fct_calls") }}
    where call_type <> 'broadcast'

),

missed as (

    select *
    from calls
    where direction = 'inbound'
        and not is_answered

),

resolved as (

    select
        missed.account_id,
        missed.call_record_id,
        contact.call_record_id as resolved_by_call_record_id,
        contact.started_at as resolved_at,
        case
            when contact.direction = 'inbound' then 'customer_called_again'
            else 'agent_called_back'
        end as resolution,
        contact.agent_id as resolved_by_agent_id,
        contact.agent_name as resolved_by_agent_name
    from missed
    cross join lateral (
        select later.*
        from calls as later
        where later.account_id = missed.account_id
            and later.customer_number = missed.customer_number
            and later.started_at > missed.started_at
            and later.is_answered
        order by later.started_at, later.call_record_id
        limit 1
    ) as contact

),

attempts as (

    -- Outbound calls to the number after the miss that did not connect, before it was
    -- resolved (or since, while unresolved).
    select
        missed.account_id,
        missed.call_record_id,
        count(attempt.call_record_id) as failed_call_back_attempts
    from missed
    left join resolved
        on resolved.account_id = missed.account_id
        and resolved.call_record_id = missed.call_record_id
    inner join calls as attempt
        on attempt.account_id = missed.account_id
        and attempt.customer_number = missed.customer_number
        and attempt.direction = 'outbound'
        and not attempt.is_answered
        and attempt.started_at > missed.started_at
        and (resolved.resolved_at is null or attempt.started_at < resolved.resolved_at)
    group by missed.account_id, missed.call_record_id

)

select
    missed.account_id,
    missed.call_record_id,
    missed.customer_number,
    missed.started_at as missed_at,
    missed.local_date,
    missed.local_hour,
    missed.outcome,
    missed.agents_rung,
    missed.department_id,
    missed.department_name,
    missed.did_number,
    missed.did_alias,
    resolved.resolved_by_call_record_id is not null as is_resolved,
    resolved.resolved_at,
    resolved.resolution,
    resolved.resolved_by_call_record_id,
    resolved.resolved_by_agent_id,
    resolved.resolved_by_agent_name,
    {{ acefone_seconds_between("missed.started_at", "resolved.resolved_at") }}
        as resolution_delay_seconds,
    coalesce(
        resolved.resolved_at
            <= missed.started_at + {{ acefone_hours_interval("acefone_call_back_target_hours") }},
        false
    ) as is_resolved_within_target,
    coalesce(attempts.failed_call_back_attempts, 0) as failed_call_back_attempts
from missed
left join resolved
    on resolved.account_id = missed.account_id
    and resolved.call_record_id = missed.call_record_id
left join attempts
    on attempts.account_id = missed.account_id
    and attempts.call_record_id = missed.call_record_id
