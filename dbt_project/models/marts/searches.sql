with

searches as (

    select * from {{ ref('int_searches_unioned') }}

),

final as (

    select
        search_id,
        account_id,
        searched_at,
        search_count,
        source_kind,
        reported_by,
        period_end,
        client,
        results_returned,
        release_id,
        document_id,
        source_row,
        search_ref,
        message_id,
    from searches

)

select * from final
