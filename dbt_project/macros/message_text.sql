{#- The parts of a message body the rules read. Computed where a model reads them, not stored: two more
    copies of every body in int_messages_keyed and int_messages_resolved cost ~3 s per 100k messages to
    write, and each reader takes only the current messages it needs. -#}

{#- Text written by the sender: everything before the first quoted / forwarded block. -#}
{% macro own_text(body) -%}
    regexp_split_to_array(
        coalesce({{ body }}, ''),
        '\n\s*(-{2,}\s*original message\s*-{2,}|-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:|on [^\n]{0,200} wrote:|>)',
        'i'
    )[1]
{%- endmacro %}

{#- Signature block of `own` (an own_text): after a '-- ' delimiter if any, else the last 6 non-empty
    lines (ltrim, not trim: the same space characters, but trim made this most of its compute). -#}
{% macro signature_text(own) -%}
    case
        when regexp_matches({{ own }}, '\n-- ?\n')
            then regexp_extract({{ own }}, '\n-- ?\n((?s).*)$', 1)
        else array_to_string(
            list_filter(string_split({{ own }}, chr(10)), lambda line: ltrim(line) <> '')[-6:],
            chr(10)
        )
    end
{%- endmacro %}

{#- An email address written in text (matched case-insensitively, 'i'). -#}
{% macro email_pattern() -%}
    '[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}'
{%- endmacro %}
