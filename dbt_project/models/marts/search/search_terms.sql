{#- The term dictionary: each term with the number of units holding it and its BM25 inverse document
    frequency, ln(1 + (N - df + 0.5) / (df + 0.5)) (always positive: a term in every unit still counts a
    little). -#}
with

postings as (

    select * from {{ ref('search_postings') }}

),

units as (

    select count(*) as unit_count from {{ ref('search_documents') }}

),

counted as (

    select
        term,
        cast(count(*) as integer) as document_frequency,
        sum(term_frequency) as collection_frequency,
    from postings
    group by term

),

final as (

    select
        counted.term,
        counted.document_frequency,
        counted.collection_frequency,
        ln(1 + (units.unit_count - counted.document_frequency + 0.5) / (counted.document_frequency + 0.5)) as idf,
    from counted
    cross join units

)

select * from final
