{#- Signal rules (seeds/signal_rules.csv) as matched: `{vendor}` expanded to the vendor's names and domains
    (org_domains, vendor_aliases) and each rule's account weight (seeds/signal_weights.csv) attached.

    The patterns are also read when int_message_signals_matched compiles and inlined as constants (the way
    macros/seed_rows.sql serves int_redactions_extracted): a pattern taken from a joined column is compiled
    again for every row it is tested on, and the account rules' wordings pass the literal prefilter on most
    bodies (`your `, `trial `), which made the model take 19 s instead of 0.3 s on 100k messages. Inside a
    unit test (ref() names a fixture CTE) or before the seeds are loaded, the joined column is used. -#}

{#- SELECT of the expanded rules from the four relations given (refs or tables). -#}
{% macro expanded_signal_rules(signal_rules, signal_weights, org_domains, vendor_aliases) -%}
    select
        rules.rule_id,
        rules.vendor_org_id,
        rules.signal,
        rules.field,
        replace(rules.pattern, '{vendor}', coalesce(names.alternation, regexp_escape(rules.vendor_org_id))) as pattern,
        weights.weight,
    from {{ signal_rules }} as rules
    left join (
        select
            vendor_org_id,
            '(?:' || string_agg(regexp_escape(name), '|' order by length(name) desc, name) || ')' as alternation,
        from ({{ vendor_names(org_domains, vendor_aliases) }})
        where name <> ''
        group by vendor_org_id
    ) as names
        on names.vendor_org_id = rules.vendor_org_id
    left join {{ signal_weights }} as weights
        on weights.signal = rules.signal
{%- endmacro %}

{#- [(rule_id, pattern)] of the loaded seeds, or none (parsing, a unit test, seeds not loaded yet). -#}
{% macro signal_rule_constants() %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relations = {} -%}
    {%- for name in ['signal_rules', 'signal_weights', 'org_domains', 'vendor_aliases'] -%}
        {%- set seed = ref(name) -%}
        {%- if not seed.schema -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set relation = adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.identifier) -%}
        {%- if not relation -%}
            {{ return(none) }}
        {%- endif -%}
        {%- do relations.update({name: relation}) -%}
    {%- endfor -%}
    {%- set sql = "select rule_id, pattern from (" ~ expanded_signal_rules(relations['signal_rules'], relations['signal_weights'],
        relations['org_domains'], relations['vendor_aliases']) ~ ") order by rule_id" -%}
    {{ return(run_query(sql).rows) }}
{% endmacro %}

{#- Case-insensitive match of `text` with the pattern of `rule` (a row of expanded_signal_rules): the
    inlined constant of its rule_id when `constants` are known, else the row's pattern column. -#}
{% macro signal_rule_regexp(rule, text, constants) -%}
    {%- if constants -%}
        case {{ rule }}.rule_id
            {%- for row in constants %}
            when {{ sql_literal(row[0]) }} then regexp_matches({{ text }}, {{ sql_literal(row[1]) }}, 'i')
            {%- endfor %}
            else regexp_matches({{ text }}, {{ rule }}.pattern, 'i')
        end
    {%- else -%}
        regexp_matches({{ text }}, {{ rule }}.pattern, 'i')
    {%- endif -%}
{%- endmacro %}
