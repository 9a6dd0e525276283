-- The account's users (agents), one row per (account_id, user_id).
with

source as (

    {{ acefone_staged_source("users", [
        ("id", "text"),
        ("name", "text"),
        ("agent_id", "text"),
        ("agent", "jsonb"),
        ("login_id", "text"),
        ("extension", "text"),
        ("user_role", "jsonb"),
        ("user_status", "bigint"),
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
    id as user_id,
    coalesce(nullif(btrim(agent_id), ''), nullif(btrim(agent ->> 'id'), '')) as agent_id,
    nullif(btrim(name), '') as agent_name,
    nullif(btrim(login_id), '') as login_id,
    nullif(btrim(extension), '') as extension,
    nullif(btrim(user_role ->> 'name'), '') as role_name,
    user_status,
    nullif(btrim(agent ->> 'follow_me_number'), '') as follow_me_number,
    _sdc_batched_at as loaded_at
from latest
