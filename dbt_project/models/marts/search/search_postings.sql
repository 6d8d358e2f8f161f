{{ config(materialized='view') }}
{#- The inverted index, as int_search_postings_tokenized keeps it (incremental by unit) without its
    fingerprint. A view: publish writes it into the analyst file as a table, sorted by term
    (pipelines/lib/search.py TABLE_ORDER), so that DuckDB's zone maps skip every row group that cannot
    hold the query's terms. -#}
select
    term,
    unit_id,
    term_frequency,
    unit_length,
    positions,
from {{ ref('int_search_postings_tokenized') }}
