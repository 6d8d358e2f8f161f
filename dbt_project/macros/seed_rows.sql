{#- Rows of a seed, read when the calling model compiles, so rule patterns can be inlined as constants.
    A regex taken from a joined column is recompiled for every row; a constant one is compiled once.
    Inside a unit test ref() names a CTE, so the seed's table is looked up directly. Returns [] while
    parsing (nothing is executed then). -#}
{% macro seed_rows(seed_name, select_sql) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set seed = ref(seed_name) -%}
    {%- set relation = none -%}
    {%- if seed.schema -%}
        {%- set relation = adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed_name) -%}
    {%- endif -%}
    {%- if not relation -%}
        {%- set relation = adapter.get_relation(database=target.database, schema='seeds', identifier=seed_name) -%}
    {%- endif -%}
    {%- if not relation -%}
        {{ exceptions.raise_compiler_error("seed " ~ seed_name ~ " is not loaded: run dbt seed (or dbt build)") }}
    {%- endif -%}
    {{ return(run_query(select_sql | replace('{seed}', relation | string)).rows) }}
{% endmacro %}

{#- A SQL string literal. -#}
{% macro sql_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
