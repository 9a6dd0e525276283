-- One typed row per call: the newest load of each (account_id, id), with local date and
-- hour in the account's time zone beside the UTC instants.
with

source as (

    {{ acefone_staged_source("call_records", [
        ("id", "text"),
        ("call_id", "text"),
        ("direction", "text"),
        ("status", "text"),
        ("service", "text"),
        ("call_hint", "text"),
        ("description", "text"),
        ("started_at", "timestamp"),
        ("ended_at", "timestamp"),
        ("call_duration", "bigint"),
        ("answered_seconds", "bigint"),
        ("agent_ring_time", "text"),
        ("department_name", "text"),
        ("agent_name", "text"),
        ("client_number", "text"),
        ("client_number_e164", "text"),
        ("did_number", "text"),
        ("did_number_e164", "text"),
        ("sname", "text"),
        ("broadcast_id", "text"),
        ("voicemail_recording", "boolean"),
        ("is_incoming_from_broadcast", "boolean"),
        ("has_recording", "boolean"),
        ("hangup_cause", "text"),
        ("call_flow", "jsonb"),
        ("missed_agents", "jsonb"),
        ("transfer_missed_agent", "jsonb"),
        ("_sdc_batched_at", "timestamp"),
    ]) }}

),

latest as (

    {{ acefone_latest_rows(
        "select * from source where id is not null", ["account_id", "id"], "_sdc_batched_at"
    ) }}

),

renamed as (

    select
        ---------- keys
        account_id,
        id as call_record_id,
        call_id,

        ---------- what kind of call
        lower(btrim(direction)) as direction,
        lower(btrim(status)) as status,
        service,
        lower(btrim(call_hint)) as call_hint,
        description,
        nullif(btrim(broadcast_id), '') as broadcast_id,
        coalesce(voicemail_recording, false) as is_voicemail_recording,
        coalesce(is_incoming_from_broadcast, false) as is_incoming_from_broadcast,
        coalesce(has_recording, false) as has_recording,
        hangup_cause,

        ---------- time (UTC, and the account's wall clock)
        started_at,
        -- The API sends an invalid end_stamp now and then; the duration still tells the end.
        coalesce(ended_at, started_at + make_interval(secs => call_duration)) as ended_at,
        {{ acefone_local_time("started_at") }} as started_at_local,
        cast({{ acefone_local_time("started_at") }} as date) as local_date,
        cast(extract(hour from {{ acefone_local_time("started_at") }}) as integer) as local_hour,

        ---------- durations (seconds)
        call_duration as call_duration_seconds,
        answered_seconds,
        case
            when btrim(agent_ring_time) ~ '^[0-9]+$' then cast(btrim(agent_ring_time) as bigint)
        end as agent_ring_seconds,

        ---------- who and where (as the API names them)
        nullif(btrim(department_name), '') as department_name,
        nullif(btrim(agent_name), '') as agent_name,
        coalesce(client_number_e164, nullif(btrim(client_number), '')) as customer_number,
        coalesce(did_number_e164, nullif(btrim(did_number), '')) as did_number,
        nullif(btrim(sname), '') as did_alias,

        ---------- journey
        call_flow,
        missed_agents,
        transfer_missed_agent,

        ---------- lineage
        _sdc_batched_at as loaded_at

    from latest

)

select * from renamed
