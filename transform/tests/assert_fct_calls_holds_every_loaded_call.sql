-- The incremental fct_calls holds every call staging holds (none skipped by a merge).
select staged.account_id, staged.call_record_id
from {{ ref("stg_acefone__call_records") }} as staged
left join {{ ref("fct_calls") }} as calls
    on calls.account_id = staged.account_id
    and calls.call_record_id = staged.call_record_id
where calls.call_record_id is null
