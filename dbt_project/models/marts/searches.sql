with

searches as (

    select * from {{ ref('int_searches_unioned') }}

),

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

final as (

    select
        searches.search_id,
        searches.account_id,
        searches.searched_at,
        searches.search_count,
        searches.source_kind,
        searches.reported_by,
        searches.period_end,
        searches.client,
        searches.results_returned,
        searches.release_id,
        searches.document_id,
        searches.source_row,
        searches.search_ref,
        searches.message_id,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_offset,
        citations.citation,
        searches.date_quality,
        searches.searched_at_text,
        searches.defects,
    from searches
    left join citations
        on citations.event_id = searches.source_event_id

)

select * from final
