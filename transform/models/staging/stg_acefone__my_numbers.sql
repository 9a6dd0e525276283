-- The account's own numbers (DIDs), one row per (account_id, number_id).
with

source as (

    {{ acefone_staged_source("my_numbers", [
        ("id", "text"),
        ("did", "text"),
        ("did_e164", "text"),
        ("alias", "text"),
        ("destination_name", "text"),
        ("destination_type", "text"),
        ("destination_id", "text"),
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
    id as number_id,
    coalesce(did_e164, nullif(btrim(did), '')) as did_number,
    nullif(btrim(alias), '') as did_alias,
    nullif(btrim(destination_name), '') as destination_name,
    destination_type,
    destination_id,
    _sdc_batched_at as loaded_at
from latest
