{#- Source descriptions as DuckDB comments (dbt's persist_docs covers models and seeds, not sources), so
    the published event log carries its meaning like the marts do. Only tables and columns that exist are
    commented. The lookup runs outside a transaction (auto_begin=False): in one, dbt rolls the hook's
    comments back with it after on-run-end. -#}
{% macro comment_sources() %}
    {%- if execute -%}
        {%- call statement('source_columns', fetch_result=True, auto_begin=False) -%}
            select database_name, schema_name, table_name, column_name from duckdb_columns()
        {%- endcall -%}
        {%- set existing = [] -%}
        {%- for row in load_result('source_columns').table.rows -%}
            {%- do existing.append((row[0] ~ '.' ~ row[1] ~ '.' ~ row[2]) | lower) -%}
            {%- do existing.append((row[0] ~ '.' ~ row[1] ~ '.' ~ row[2] ~ '.' ~ row[3]) | lower) -%}
        {%- endfor -%}
        {%- for source in graph.sources.values() -%}
            {%- set table = (source.database ~ '.' ~ source.schema ~ '.' ~ source.identifier) | lower -%}
            {%- set relation = api.Relation.create(database=source.database, schema=source.schema, identifier=source.identifier) -%}
            {%- if table in existing -%}
                {%- if source.description %}
comment on table {{ relation }} is {{ duckdb_escape_comment(source.description) }};
                {%- endif -%}
                {%- for column in source.columns.values() if (table ~ '.' ~ column.name) | lower in existing and column.description %}
comment on column {{ relation }}.{{ adapter.quote(column.name) }} is {{ duckdb_escape_comment(column.description) }};
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
