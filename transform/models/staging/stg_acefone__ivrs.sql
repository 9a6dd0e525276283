-- The account's IVR menus, one row per (account_id, ivr_id).
with

source as (

    {{ acefone_staged_source("ivrs", [
        ("id", "text"),
        ("name", "text"),
        ("description", "text"),
        ("timeout", "bigint"),
        ("ivr_menu", "jsonb"),
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
    id as ivr_id,
    nullif(btrim(name), '') as ivr_name,
    description,
    timeout as timeout_seconds,
    ivr_menu,
    _sdc_batched_at as loaded_at
from latest
