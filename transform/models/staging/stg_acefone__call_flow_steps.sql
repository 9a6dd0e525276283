-- The call's journey, one row per call_flow step: queue entered, agents rung, answer,
-- transfer, hangup ..., each with its UTC time (whole seconds; null when the API sent none).
with

calls as (

    select account_id, call_record_id, call_flow
    from {{ ref("stg_acefone__call_records") }}

),

steps as (

    {{ acefone_call_flow_steps("calls") }}

)

select
    account_id,
    call_record_id,
    step_number,
    step_type,
    step_kind,
    step_at,
    agent_id,
    dial_status,
    department_id,
    ivr_id,
    step_name,
    step_phone_number,
    step_json
from steps
