{#
    Reading the tap's tables defensively.

    The loaded tables change shape over time: a newer tap adds columns (account_id when its
    account_id setting is on), a loader may type a column differently (text instead of
    jsonb, timestamptz instead of timestamp), and a reference stream the token may not read
    is skipped, so its table never exists. Staging models therefore select a declared list of
    columns through acefone_staged_source(): a column the table lacks becomes a typed null,
    and a table that does not exist becomes an empty, typed relation. This is the approach of
    fivetran_utils.fill_staging_columns, without the package dependency.
#}

{% macro acefone_source_tables() %}
    {{ return(["call_records", "users", "departments", "ivrs", "my_numbers"]) }}
{% endmacro %}


{% macro acefone_source_database() %}
    {{ return(acefone_var("acefone_database") or target.database) }}
{% endmacro %}


{#- The loaded table, or none when it does not exist (yet). -#}
{% macro acefone_find_relation(table_name) %}
    {% if not execute %}
        {{ return(none) }}
    {% endif %}
    {{ return(adapter.get_relation(
        database=acefone_source_database(),
        schema=acefone_var("acefone_schema"),
        identifier=table_name,
    )) }}
{% endmacro %}


{#- Lower-cased column name -> column of an existing relation. -#}
{% macro acefone_columns_of(relation) %}
    {% set found = {} %}
    {% if relation is not none %}
        {% for column in adapter.get_columns_in_relation(relation) %}
            {% do found.update({column.name | lower: column}) %}
        {% endfor %}
    {% endif %}
    {{ return(found) }}
{% endmacro %}


{#-
    Whether the account comes from the data: true when every loaded table has an
    account_id column (the tap's account_id setting puts it on every stream). A column on
    call_records alone is the API's own account field, not the tap's label, and would not
    match the reference tables, so it does not count.
-#}
{% macro acefone_tables_carry_account_id() %}
    {% if not execute %}
        {{ return(false) }}
    {% endif %}
    {% set existing = [] %}
    {% for table_name in acefone_source_tables() %}
        {% set relation = acefone_find_relation(table_name) %}
        {% if relation is not none %}
            {% do existing.append("account_id" in acefone_columns_of(relation)) %}
        {% endif %}
    {% endfor %}
    {{ return(existing | length > 0 and false not in existing) }}
{% endmacro %}


{#- One source column as the declared type (a typed null when the table lacks it). -#}
{% macro acefone_typed_column(columns, name, data_type) %}
    {% set column = columns.get(name) %}
    {% if column is none %}
        {{ return("cast(null as " ~ data_type ~ ")") }}
    {% endif %}
    {% set quoted = adapter.quote(column.name) %}
    {% if data_type == "timestamp" and "with time zone" in (column.data_type | lower) %}
        {#- timestamptz: the UTC wall clock, whatever the session's TimeZone. -#}
        {{ return("(" ~ quoted ~ " at time zone 'UTC')") }}
    {% endif %}
    {{ return("cast(" ~ quoted ~ " as " ~ data_type ~ ")") }}
{% endmacro %}


{#-
    select <declared columns>, account_id from the loaded table `table_name`.

    `columns` is a list of (name, type) pairs. The result always has every declared column
    plus `account_id` (text): the table's own when every table carries one, else the
    acefone_account_id variable. Rows the loader marked deleted (_sdc_deleted_at, after an
    ACTIVATE_VERSION of a full-table stream) are left out.
-#}
{% macro acefone_staged_source(table_name, columns) %}
    {%- set src = source("acefone", table_name) -%}
    {%- set relation = acefone_find_relation(table_name) -%}
    {%- set available = acefone_columns_of(relation) -%}
    {%- set label = "cast(" ~ acefone_literal(acefone_var("acefone_account_id")) ~ " as text)" -%}
    {%- if acefone_tables_carry_account_id() and "account_id" in available -%}
        {%- set account = "coalesce(nullif(cast(" ~ adapter.quote("account_id")
            ~ " as text), ''), " ~ label ~ ")" -%}
    {%- else -%}
        {%- set account = label -%}
    {%- endif -%}
    select
        {{ account }} as account_id
    {%- for name, data_type in columns %},
        {{ acefone_typed_column(available, name, data_type) }} as {{ adapter.quote(name) }}
    {%- endfor %}
    {%- if relation is not none %}
    from {{ src }}
        {%- if "_sdc_deleted_at" in available %}
    where {{ adapter.quote("_sdc_deleted_at") }} is null
        {%- endif %}
    {%- elif execute %}
    -- {{ src }} does not exist (stream not loaded): no rows.
    where false
    {%- else %}
    from {{ src }}
    {%- endif %}
{%- endmacro %}


{#- Rows of `relation_sql` keeping only the newest load of each key (the loader's upsert may
    be missing: an append-only loader, or a primary key that changed). -#}
{% macro acefone_latest_rows(relation_sql, key_columns, loaded_at="_loaded_at") %}
    select *
    from (
        select
            ranked.*,
            row_number() over (
                partition by {{ key_columns | join(", ") }}
                order by {{ loaded_at }} desc nulls last
            ) as _acefone_row_rank
        from ({{ relation_sql }}) as ranked
    ) as deduplicated
    where _acefone_row_rank = 1
{% endmacro %}


{#- A SQL string literal, quotes doubled. -#}
{% macro acefone_literal(value) %}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}
