{#- Pre-hook of the search postings (int_search_postings_tokenized), incremental by unit: drop the postings
    of every unit whose fingerprint (int_search_units_numbered) is gone, i.e. a unit renumbered, re-read or
    no longer searchable. The model then derives the units whose fingerprint it does not hold. -#}
{% macro delete_unindexed_units() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where unit_fingerprint not in (select unit_fingerprint from {{ ref('int_search_units_numbered') }})
    {%- endif -%}
{%- endmacro %}
