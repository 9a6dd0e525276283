-- Per agent and local day: the calls they answered and placed, their talk and handle time,
-- and the calls that rang them without being answered by them.
with

calls as (

    select * from {{ ref("fct_calls") }}
    where call_type <> 'broadcast'

),

handled as (

    select
        account_id,
        local_date,
        agent_id,
        count(*) filter (where direction = 'inbound' and is_answered) as calls_answered,
        coalesce(sum(talk_seconds) filter (where direction = 'inbound' and is_answered), 0)
            as inbound_talk_seconds,
        coalesce(sum(handle_seconds) filter (where direction = 'inbound' and is_answered), 0)
            as inbound_handle_seconds,
        count(*) filter (where direction = 'outbound') as outbound_calls,
        count(*) filter (where direction = 'outbound' and is_answered) as outbound_calls_connected,
        coalesce(sum(talk_seconds) filter (where direction = 'outbound'), 0) as outbound_talk_seconds,
        max(agent_name) as agent_name
    from calls
    where agent_id is not null
    group by account_id, local_date, agent_id

),

rang_without_answer as (

    -- One row per (call, agent) whose ring that agent did not answer: a call that rang
    -- three agents counts once for each of them here, and once in the call volumes.
    select
        calls.account_id,
        calls.local_date,
        missed.agent_id,
        count(distinct calls.call_record_id) as calls_rang_not_answered
    from calls
    cross join lateral unnest(calls.ring_missed_agent_ids) as missed (agent_id)
    where calls.direction = 'inbound'
    group by calls.account_id, calls.local_date, missed.agent_id

),

combined as (

    select
        coalesce(handled.account_id, rang_without_answer.account_id) as account_id,
        coalesce(handled.local_date, rang_without_answer.local_date) as local_date,
        coalesce(handled.agent_id, rang_without_answer.agent_id) as agent_id,
        handled.agent_name,
        coalesce(handled.calls_answered, 0) as calls_answered,
        coalesce(rang_without_answer.calls_rang_not_answered, 0) as calls_rang_not_answered,
        coalesce(handled.inbound_talk_seconds, 0) as inbound_talk_seconds,
        coalesce(handled.inbound_handle_seconds, 0) as inbound_handle_seconds,
        coalesce(handled.outbound_calls, 0) as outbound_calls,
        coalesce(handled.outbound_calls_connected, 0) as outbound_calls_connected,
        coalesce(handled.outbound_talk_seconds, 0) as outbound_talk_seconds
    from handled
    full outer join rang_without_answer
        on rang_without_answer.account_id = handled.account_id
        and rang_without_answer.local_date = handled.local_date
        and rang_without_answer.agent_id = handled.agent_id

)

select
    combined.account_id,
    combined.local_date,
    combined.agent_id,
    coalesce(agents.agent_name, combined.agent_name) as agent_name,
    combined.calls_answered,
    combined.calls_rang_not_answered,
    round(
        combined.calls_answered::numeric
        / nullif(combined.calls_answered + combined.calls_rang_not_answered, 0),
        4
    ) as ring_answer_rate,
    combined.inbound_talk_seconds,
    combined.inbound_handle_seconds,
    round(combined.inbound_handle_seconds::numeric / nullif(combined.calls_answered, 0), 1)
        as avg_handle_seconds,
    combined.outbound_calls,
    combined.outbound_calls_connected,
    combined.outbound_talk_seconds,
    combined.inbound_talk_seconds + combined.outbound_talk_seconds as total_talk_seconds
from combined
left join {{ ref("stg_acefone__users") }} as agents
    on agents.account_id = combined.account_id
    and agents.agent_id = combined.agent_id
