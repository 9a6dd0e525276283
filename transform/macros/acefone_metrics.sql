{#-
    The call-volume measures, as aggregate expressions over fct_calls (alias `calls`) left
    joined to int_acefone__inbound_call_history (alias `history`). Counts and second totals
    add up across rows, so a report can roll hours up to days or departments up to the
    account; the rates and averages are recomputed from them (README "Analytics").
-#}
{% macro acefone_volume_measures() %}
    {%- set inbound = "calls.direction = 'inbound'" -%}
    {%- set answered = inbound ~ " and calls.is_answered" -%}
    {%- set threshold = acefone_var("acefone_service_level_seconds") | int -%}
    {%- set outbound = "calls.direction = 'outbound'" -%}
        count(*) filter (where {{ inbound }}) as calls_offered,
        count(*) filter (where {{ inbound }} and calls.is_queued) as calls_queued,
        count(*) filter (where {{ answered }}) as calls_answered,
        count(*) filter (where {{ inbound }} and not calls.is_answered) as calls_missed,
        count(*) filter (where calls.outcome = 'missed') as calls_missed_by_agents,
        count(*) filter (where calls.outcome = 'voicemail') as calls_to_voicemail,
        count(*) filter (where calls.outcome = 'abandoned_in_ivr') as calls_abandoned_in_ivr,
        count(*) filter (where calls.outcome = 'abandoned_in_queue') as calls_abandoned_in_queue,
        count(*) filter (where {{ answered }} and calls.wait_seconds <= {{ threshold }})
            as calls_answered_within_service_level,
        count(*) filter (where {{ inbound }} and calls.is_transferred) as calls_transferred,
        count(*) filter (where history.is_repeat_call) as repeat_calls,
        count(*) filter (where history.is_first_contact_resolved) as calls_resolved_first_contact,
        count(*) filter (where history.is_first_contact_resolved is not null)
            as calls_first_contact_known,
        coalesce(sum(calls.wait_seconds) filter (where {{ answered }}), 0) as total_wait_seconds,
        coalesce(sum(calls.talk_seconds) filter (where {{ answered }}), 0) as total_talk_seconds,
        coalesce(sum(calls.handle_seconds) filter (where {{ answered }}), 0) as total_handle_seconds,
        count(*) filter (where {{ answered }} and calls.handle_seconds is not null) as calls_handled,
        count(*) filter (where {{ outbound }}) as outbound_calls,
        count(*) filter (where {{ outbound }} and calls.is_answered) as outbound_calls_connected,
        coalesce(sum(calls.talk_seconds) filter (where {{ outbound }}), 0) as outbound_talk_seconds
{%- endmacro %}


{#- Rates and averages from the measures of the same row (all rounded as documented). -#}
{% macro acefone_volume_rates() %}
    round(calls_answered::numeric / nullif(calls_offered, 0), 4) as answer_rate,
    round((calls_abandoned_in_ivr + calls_abandoned_in_queue)::numeric / nullif(calls_offered, 0), 4)
        as abandonment_rate,
    round(calls_answered_within_service_level::numeric / nullif(calls_queued, 0), 4) as service_level,
    round(total_wait_seconds::numeric / nullif(calls_answered, 0), 1) as avg_speed_of_answer_seconds,
    round(total_handle_seconds::numeric / nullif(calls_handled, 0), 1) as avg_handle_seconds,
    round(calls_resolved_first_contact::numeric / nullif(calls_first_contact_known, 0), 4)
        as first_contact_resolution_rate
{%- endmacro %}
