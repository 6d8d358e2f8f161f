{#- Regexp rules kept as seed rows (signal_rules, affiliation_rules), matched fast.

    A pattern taken from a joined column is compiled again for every row it is tested on, which made
    messages x rules the slowest step of the build. So each rule first gets, at run time, literal text
    that every match must contain (lower-cased; one per top-level alternative): escapes, classes, groups
    and quantified characters are cut out, and the longest remaining run of plain characters is kept.
    Only texts containing it are tested with the regexp. A rule for which no such text is found (null)
    tests every text. -#}

{#- `rules` (a relation or CTE with a `pattern` column) with a `required_literals` list column added. -#}
{% macro with_required_literals(rules) %}
    select
        *,
        case
            when not contains(pattern, '\Q')
                and not regexp_matches(ungrouped, '[()]')
                and list_bool_and(list_transform(branch_literals, lambda l: l <> ''))
                then branch_literals
        end as required_literals,
    from (
        select
            *,
            list_transform(
                string_split(ungrouped, '|'),
                lambda branch: list_reduce(
                    list_concat([''], regexp_extract_all(
                        lower(regexp_replace(branch, '(?s).(?:[*?]|\{[0-9]*(?:,[0-9]*)?\})', chr(1), 'g')),
                        '[a-z0-9 ,:;''"@_/#%&=<>!~-]+'
                    )),
                    lambda a, b: case when length(b) > length(a) then b else a end
                )
            ) as branch_literals,
        from (
            select
                *,
                -- escapes, POSIX and bracket classes, then groups (innermost first, up to 6 deep) become chr(1)
                regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                    regexp_replace(regexp_replace(regexp_replace(
                        pattern,
                        '(?s)\\(?:[pP](?:\{[^}]*\}|.)|x(?:\{[^}]*\}|[0-9A-Fa-f]*)|[0-9]+|.)', chr(1), 'g'),
                        '\[:[^\]]*:\]', chr(1), 'g'),
                        '\[\^?\]?[^\]]*\]', chr(1), 'g'),
                    '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'),
                    '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g')
                as ungrouped,
            from {{ rules }}
        )
    )
{% endmacro %}

{#- Text case-folded for the literal test ('ſ' is the one non-ASCII letter that RE2's case-insensitive
    match folds onto an ASCII one and lower() does not). -#}
{% macro case_folded(text) -%}
    replace(lower({{ text }}), 'ſ', 's')
{%- endmacro %}

{#- Case-insensitive regexp match of `rule` (from with_required_literals) on `text`; `folded` is
    case_folded(text). A CASE, so the regexp runs only where the literal test passed. -#}
{% macro prefiltered_regexp_matches(rule, text, folded) -%}
    case
            when {{ rule }}.required_literals is null
                or list_bool_or(list_transform(
                    {{ rule }}.required_literals,
                    lambda l: contains({{ folded }}, l)
                ))
                then regexp_matches({{ text }}, {{ rule }}.pattern, 'i')
            else false
        end
{%- endmacro %}
