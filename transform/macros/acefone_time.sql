{#- Time helpers. The tap loads UTC instants into `timestamp` columns (no time zone). -#}

{#- The account's wall clock of a UTC `timestamp`: local days and hours are cut on it. -#}
{% macro acefone_local_time(utc_timestamp) %}
    (({{ utc_timestamp }}) at time zone 'UTC')
        at time zone {{ acefone_literal(acefone_var("acefone_timezone")) }}
{%- endmacro %}


{#- Whole seconds from `start` to `finish` (both `timestamp`); null when either is null. -#}
{% macro acefone_seconds_between(start, finish) %}
    cast(extract(epoch from ({{ finish }}) - ({{ start }})) as bigint)
{%- endmacro %}


{#-
    A jsonb value holding Unix epoch seconds (`call_flow[].time`: an int, a float or
    numeric text) as a UTC `timestamp`, truncated to the second; null when it holds
    anything else. Fractions are dropped so every duration is whole seconds.
-#}
{% macro acefone_epoch_to_timestamp(json_value) %}
    case
        when jsonb_typeof({{ json_value }}) in ('number', 'string')
            and btrim({{ json_value }} #>> '{}') ~ '^[0-9]{9,11}(\.[0-9]+)?$'
            then to_timestamp(floor(cast(btrim({{ json_value }} #>> '{}') as numeric)))
                at time zone 'UTC'
    end
{%- endmacro %}


{#- Integer hours of a variable as a PostgreSQL interval. -#}
{% macro acefone_hours_interval(variable_name) %}
    make_interval(hours => {{ acefone_var(variable_name) | int }})
{%- endmacro %}
