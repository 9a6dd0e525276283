-- The account's departments (queues), one row per (account_id, department_id).
with

source as (

    {{ acefone_staged_source("departments", [
        ("id", "text"),
        ("name", "text"),
        ("description", "text"),
        ("ring_strategy", "text"),
        ("agent_count", "bigint"),
        ("use_as_queue", "boolean"),
        ("queue_timeout", "bigint"),
        ("_sdc_batched_at", "timestamp"),
    ]) }}

),

latest as (

    {{ acefone_latest_rows(
        "select * from source where id is not null", ["account_id", "id"], "_sdc_batched_at"
    ) }}

)

select
    account_id,
    id as department_id,
    nullif(btrim(name), '') as department_name,
    description,
    ring_strategy,
    agent_count,
    use_as_queue,
    queue_timeout as queue_timeout_seconds,
    _sdc_batched_at as loaded_at
from latest
