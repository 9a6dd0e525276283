{{
    config(
        materialized="incremental",
        unique_key=["account_id", "call_record_id"],
        incremental_strategy="delete+insert",
        on_schema_change="sync_all_columns",
        indexes=[
            {"columns": ["account_id", "call_record_id"], "unique": true},
            {"columns": ["account_id", "customer_number", "started_at"]},
        ],
    )
}}

-- One row per call: what kind of call, how it ended, how long each part took, and who
-- handled it. Incremental: each run re-processes the calls loaded since its newest row of
-- the same account (minus a lookback), which is every call the tap re-read; rows built in
-- another time zone count as not built, so changing acefone_timezone rebuilds them all.

with

{% if is_incremental() %}
high_water as (

    select account_id, max(loaded_at) as loaded_at
    from {{ this }}
    {% if "time_zone" in acefone_columns_of(this) %}
    where time_zone = {{ acefone_literal(acefone_var("acefone_timezone")) }}
    {% else %}
    -- Built before fct_calls recorded its time zone: every row is rebuilt.
    where false
    {% endif %}
    group by account_id

),
{% endif %}

calls as (

    select calls.*
    from {{ ref("stg_acefone__call_records") }} as calls
    {% if is_incremental() %}
    left join high_water
        on high_water.account_id = calls.account_id
    where high_water.loaded_at is null
        or calls.loaded_at is null
        or calls.loaded_at
            > high_water.loaded_at - {{ acefone_hours_interval("acefone_incremental_lookback_hours") }}
    {% endif %}

),

steps as (

    {{ acefone_call_flow_steps("calls") }}

),

journey as (

    select
        account_id,
        call_record_id,
        bool_or(step_kind = 'queue_entered') as has_queue_step,
        bool_or(step_kind = 'agent_rung' and agent_id is not null) as rang_an_agent,
        bool_or(step_kind = 'voicemail') as has_voicemail_step,
        bool_or(step_kind = 'transfer') as has_transfer_step,
        min(step_at) filter (where step_kind = 'queue_entered') as queue_step_at,
        min(step_at) filter (where step_kind = 'agent_rung' and agent_id is not null) as first_ring_at,
        min(step_at) filter (where step_kind = 'answer') as answer_step_at,
        (array_agg(department_id order by step_number)
            filter (where step_kind = 'queue_entered' and department_id is not null))[1] as department_id,
        -- The last agent whose ring was answered holds the call (after a transfer too).
        (array_agg(agent_id order by step_number desc)
            filter (where step_kind = 'agent_rung' and dial_status = 'answered' and agent_id is not null))[1]
            as answering_agent_id,
        (array_agg(step_at order by step_number desc)
            filter (where step_kind = 'agent_rung' and dial_status = 'answered' and agent_id is not null))[1]
            as answering_ring_at,
        (array_agg(agent_id order by step_number)
            filter (where step_kind = 'agent_dialed' and agent_id is not null))[1] as dialing_agent_id,
        count(distinct agent_id)
            filter (where step_kind = 'agent_rung' and dial_status = 'answered' and agent_id is not null)
            as answering_agents,
        array_agg(distinct agent_id order by agent_id)
            filter (where step_kind = 'agent_rung' and agent_id is not null) as rung_agent_ids,
        array_agg(distinct agent_id order by agent_id)
            filter (where step_kind = 'agent_rung' and dial_status = 'missed' and agent_id is not null)
            as ring_missed_agent_ids
    from steps
    group by account_id, call_record_id

),

classified as (

    select
        calls.*,
        coalesce(journey.has_queue_step, false) as has_queue_step,
        coalesce(journey.rang_an_agent, false) as rang_an_agent,
        coalesce(journey.has_voicemail_step, false) as has_voicemail_step,
        coalesce(journey.has_transfer_step, false) as has_transfer_step,
        coalesce(journey.answering_agents, 0) as answering_agents,
        journey.queue_step_at,
        journey.first_ring_at,
        journey.answer_step_at,
        journey.answering_ring_at,
        journey.department_id,
        case
            when calls.direction = 'inbound' then journey.answering_agent_id
            else journey.dialing_agent_id
        end as agent_id,
        coalesce(journey.rung_agent_ids, array[]::text[]) as rung_agent_ids,
        coalesce(journey.ring_missed_agent_ids, array[]::text[]) as ring_missed_agent_ids,
        calls.status = 'answered' as is_answered,
        case
            when calls.broadcast_id is not null or calls.service ilike '%broadcast%' then 'broadcast'
            when calls.direction = 'inbound' then 'inbound'
            when calls.call_hint in ('clicktocall', 'dialer') then calls.call_hint
            else 'outbound'
        end as call_type
    from calls
    left join journey
        on journey.account_id = calls.account_id
        and journey.call_record_id = calls.call_record_id

),

timed as (

    select
        classified.*,
        classified.direction = 'inbound'
            and (classified.has_queue_step or classified.rang_an_agent) as is_queued,
        case
            when classified.direction = 'inbound'
                and (classified.has_queue_step or classified.rang_an_agent)
                then coalesce(classified.queue_step_at, classified.first_ring_at, classified.started_at)
        end as queue_entered_at,
        case
            when classified.is_answered
                then coalesce(
                    classified.answer_step_at,
                    classified.ended_at - make_interval(secs => coalesce(classified.answered_seconds, 0))
                )
        end as answered_at
    from classified

),

measured as (

    select
        timed.*,
        coalesce(
            timed.agent_ring_seconds,
            case
                when timed.is_answered and timed.answering_ring_at is not null
                    then greatest(
                        {{ acefone_seconds_between("timed.answering_ring_at", "timed.answered_at") }}, 0
                    )
            end
        ) as ring_seconds,
        coalesce(jsonb_array_length(
            case when jsonb_typeof(timed.transfer_missed_agent) = 'array' then timed.transfer_missed_agent end
        ), 0) as transfer_missed_agents
    from timed

)

select
    ---------- keys
    measured.account_id,
    measured.call_record_id,
    measured.call_id,

    ---------- what kind of call, and how it ended
    measured.direction,
    measured.call_type,
    case
        when measured.direction <> 'inbound' then
            case when measured.is_answered then 'answered' else 'not_answered' end
        when measured.is_answered then 'answered'
        when measured.is_voicemail_recording or measured.has_voicemail_step then 'voicemail'
        when measured.rang_an_agent then 'missed'
        when measured.is_queued then 'abandoned_in_queue'
        else 'abandoned_in_ivr'
    end as outcome,
    measured.is_answered,
    measured.is_queued,

    ---------- when (UTC instants, then the account's wall clock)
    measured.started_at,
    measured.queue_entered_at,
    measured.answered_at,
    measured.ended_at,
    measured.started_at_local,
    measured.local_date,
    measured.local_hour,
    cast({{ acefone_literal(acefone_var("acefone_timezone")) }} as text) as time_zone,

    ---------- how long (seconds)
    measured.call_duration_seconds,
    case
        when measured.queue_entered_at is not null
            then greatest(
                {{ acefone_seconds_between("measured.started_at", "measured.queue_entered_at") }}, 0
            )
    end as ivr_seconds,
    case
        when measured.queue_entered_at is not null
            then greatest({{ acefone_seconds_between(
                "measured.queue_entered_at", "coalesce(measured.answered_at, measured.ended_at)") }}, 0)
    end as wait_seconds,
    measured.ring_seconds,
    case when measured.is_answered then coalesce(measured.answered_seconds, 0) else 0 end as talk_seconds,
    case
        when measured.call_type = 'broadcast' or measured.agent_id is null then null
        when measured.direction = 'inbound' and measured.is_answered
            then coalesce(measured.answered_seconds, 0) + coalesce(measured.ring_seconds, 0)
        when measured.direction <> 'inbound' then measured.call_duration_seconds
    end as handle_seconds,

    ---------- who and where
    measured.agent_id,
    coalesce(agents.agent_name, measured.agent_name) as agent_name,
    measured.department_id,
    coalesce(departments.department_name, measured.department_name) as department_name,
    measured.did_number,
    coalesce(numbers.did_alias, measured.did_alias) as did_alias,
    measured.customer_number,

    ---------- agents rung, transfers
    cardinality(measured.rung_agent_ids) as agents_rung,
    measured.rung_agent_ids,
    array(
        select missed.agent_id
        from unnest(measured.ring_missed_agent_ids) as missed (agent_id)
        where missed.agent_id is distinct from measured.agent_id
        order by missed.agent_id
    ) as ring_missed_agent_ids,
    measured.transfer_missed_agents,
    measured.has_transfer_step
        or measured.answering_agents > 1
        or measured.transfer_missed_agents > 0 as is_transferred,
    measured.has_recording,
    measured.is_incoming_from_broadcast,

    ---------- lineage
    measured.loaded_at

from measured
left join {{ ref("stg_acefone__users") }} as agents
    on agents.account_id = measured.account_id
    and agents.agent_id = measured.agent_id
left join {{ ref("stg_acefone__departments") }} as departments
    on departments.account_id = measured.account_id
    and departments.department_id = measured.department_id
left join {{ ref("stg_acefone__my_numbers") }} as numbers
    on numbers.account_id = measured.account_id
    and numbers.did_number = measured.did_number
