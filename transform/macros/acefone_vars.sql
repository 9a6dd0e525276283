{#-
    The package's variables. Each one is, in this order: the dbt variable of that name (set
    with --vars or under `vars:` in the root project's dbt_project.yml), the environment
    variable Meltano exports for the matching dbt-postgres setting, or the default.
    (dbt does not render Jinja in dbt_project.yml's vars, hence this lookup.)
-#}
{% macro acefone_var_defaults() %}
    {{ return({
        "acefone_schema": ("ACEFONE_SOURCE_SCHEMA", "tap_acefone"),
        "acefone_database": ("ACEFONE_SOURCE_DATABASE", ""),
        "acefone_timezone": ("ACEFONE_TIMEZONE", "Asia/Kolkata"),
        "acefone_service_level_seconds": ("ACEFONE_SERVICE_LEVEL_SECONDS", "20"),
        "acefone_repeat_call_window_hours": ("ACEFONE_REPEAT_CALL_WINDOW_HOURS", "24"),
        "acefone_call_back_target_hours": ("ACEFONE_CALL_BACK_TARGET_HOURS", "4"),
        "acefone_account_id": ("ACEFONE_ACCOUNT_ID", "default"),
        "acefone_incremental_lookback_hours": ("ACEFONE_INCREMENTAL_LOOKBACK_HOURS", "6"),
    }) }}
{% endmacro %}


{% macro acefone_var(name) %}
    {% set env_name, fallback = acefone_var_defaults()[name] %}
    {{ return(var(name, env_var(env_name, fallback))) }}
{% endmacro %}
