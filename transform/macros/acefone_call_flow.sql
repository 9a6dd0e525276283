{#-
    One row per `call_flow` step of the calls in `calls` (a relation or CTE name with
    account_id, call_record_id and call_flow).

    `call_flow` is heterogeneous (acefone-api-notes §3.5): a different key set per `type`,
    an untyped `{"anstime": ..., "time": ...}` entry for the answer, `time` as an int, a
    float, numeric text or missing, ids as strings or ints. Each step gets a `step_kind`
    from a closed list, so models never compare raw type spellings:

      init           the call was set up
      ivr            an IVR menu (or auto attendant) played
      dtmf           the caller pressed keys
      queue_entered  the call reached a department (queue)
      agent_rung     an agent's phone rang (dial_status says missed / answered)
      agent_dialed   an agent placed the call (outbound legs)
      customer_leg   the customer's leg (outbound), or an agent step without an agent id
      answer         the answer instant (`anstime`)
      voicemail      the caller was sent to voicemail
      transfer       a transfer step
      agent_hangup   the agent hung up
      hangup         the call ended
      other          anything else (voice streaming, broadcast, dialer, click-to-call ...)

    Used by stg_acefone__call_flow_steps and by fct_calls (on just the calls it processes),
    so both read the journey by one definition.
-#}
{% macro acefone_call_flow_steps(calls) %}
    select
        account_id,
        call_record_id,
        step_number,
        step_type,
        case
            when step_type is null and step ? 'anstime' then 'answer'
            when lower(step_type) = 'init' then 'init'
            when lower(step_type) in ('ivr', 'auto attendant', 'auto+attendant') then 'ivr'
            when lower(step_type) = 'dtmf' then 'dtmf'
            when lower(step_type) in ('department', 'inbound queue', 'queue') then 'queue_entered'
            when lower(step_type) = 'agent' and step_id is null then 'customer_leg'
            when lower(step_type) = 'agent' and dial_status = 'dialed' then 'agent_dialed'
            when lower(step_type) = 'agent' then 'agent_rung'
            when lower(step_type) = 'customer' then 'customer_leg'
            when lower(step_type) = 'voicemail' then 'voicemail'
            when lower(step_type) like '%transfer%' then 'transfer'
            when lower(step_type) = 'agent-hangup' then 'agent_hangup'
            when lower(step_type) = 'hangup' then 'hangup'
            else 'other'
        end as step_kind,
        case
            when step_type is null and step ? 'anstime'
                then {{ acefone_epoch_to_timestamp("step -> 'anstime'") }}
            else {{ acefone_epoch_to_timestamp("step -> 'time'") }}
        end as step_at,
        case when lower(step_type) = 'agent' then step_id end as agent_id,
        dial_status,
        case
            when lower(step_type) in ('department', 'inbound queue', 'queue') then step_id
        end as department_id,
        case
            when lower(step_type) in ('ivr', 'auto attendant', 'auto+attendant') then step_id
        end as ivr_id,
        nullif(btrim(step ->> 'name'), '') as step_name,
        nullif(btrim(coalesce(step ->> 'num', step ->> 'number')), '') as step_phone_number,
        step as step_json
    from (
        select
            calls.account_id,
            calls.call_record_id,
            cast(flow.step_number as integer) as step_number,
            flow.step,
            nullif(btrim(flow.step ->> 'type'), '') as step_type,
            case
                when jsonb_typeof(flow.step -> 'id') in ('string', 'number')
                    then nullif(btrim(flow.step ->> 'id'), '')
            end as step_id,
            lower(nullif(btrim(flow.step ->> 'dialst'), '')) as dial_status
        from {{ calls }} as calls
        cross join lateral jsonb_array_elements(
            case
                when jsonb_typeof(calls.call_flow) = 'array' then calls.call_flow
                else '[]'::jsonb
            end
        ) with ordinality as flow (step, step_number)
        where jsonb_typeof(flow.step) = 'object'
    ) as steps
{%- endmacro %}
