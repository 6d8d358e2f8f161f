{#- The two halves of a message's key, shared by int_messages_keyed and int_messages_rereleased. -#}

{#- A Message-ID as it compares: without <> and case (mail clients re-case them when quoting). -#}
{% macro normalized_message_id(column) -%}
    nullif(lower(trim({{ column }}, '<> ')), '')
{%- endmacro %}

{#- Key of a message without a Message-ID (printed PDFs, load-file records), from a stg_events__emails
    row: content normalised so that two productions of one message still meet (line wrapping and case
    differ between a print and an export, and Outlook prints the time to the minute). A changed body is
    still a new key. -#}
{% macro message_content_key() -%}
    {{ make_id('msg', [
        "nullif(lower(trim(from_addresses[1].email)), '')",
        "date_trunc('minute', sent_at)",
        "lower(regexp_replace(trim(subject), '\\s+', ' ', 'g'))",
        "lower(regexp_replace(trim(body_text), '\\s+', ' ', 'g'))",
    ]) }}
{%- endmacro %}
