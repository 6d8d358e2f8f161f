{#- Pre-hook of a model incremental by fingerprint (int_search_postings_tokenized, int_messages_resolved):
    drop the rows whose fingerprint is no longer among the `column` values of the model `fingerprints`,
    i.e. rows whose inputs changed or that are gone. The model then derives the fingerprints it does not
    hold. -#}
{% macro delete_gone_fingerprints(fingerprints, column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ column }} not in (select {{ column }} from {{ ref(fingerprints) }})
    {%- endif -%}
{%- endmacro %}
