-- Each inbound call beside the same number's previous and next inbound call: the basis of
-- repeat calls and of first-contact resolution.
{%- set window = acefone_hours_interval("acefone_repeat_call_window_hours") %}
with

inbound as (

    select
        account_id,
        call_record_id,
        customer_number,
        started_at,
        is_answered
    from {{ ref("fct_calls") }}
    where direction = 'inbound'
        and call_type <> 'broadcast'
        and customer_number is not null

),

sequenced as (

    select
        inbound.*,
        lag(started_at) over by_number as previous_call_at,
        lead(started_at) over by_number as next_call_at
    from inbound
    window by_number as (
        partition by account_id, customer_number
        order by started_at, call_record_id
    )

),

data_end as (

    -- How far the data reaches: a repeat can only be ruled out once the window has passed.
    select account_id, max(started_at) as latest_call_at
    from {{ ref("fct_calls") }}
    group by account_id

)

select
    sequenced.account_id,
    sequenced.call_record_id,
    sequenced.customer_number,
    sequenced.started_at,
    sequenced.previous_call_at,
    sequenced.next_call_at,
    coalesce(
        sequenced.previous_call_at >= sequenced.started_at - {{ window }},
        false
    ) as is_repeat_call,
    case
        when not sequenced.is_answered then null
        when sequenced.next_call_at <= sequenced.started_at + {{ window }} then false
        when sequenced.next_call_at is not null then true
        when sequenced.started_at + {{ window }} <= data_end.latest_call_at then true
    end as is_first_contact_resolved
from sequenced
inner join data_end
    on data_end.account_id = sequenced.account_id
