{#- Post-hook: log a built table's row count ("foil_row_count <n>") for the Dagster UI. Counted here,
    inside dbt, because no other process can open the build database while dbt holds it; the asset reads
    the line from dbt's event stream, so it can hand each model to Dagster as soon as it is built. -#}
{% macro log_row_count() %}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set rows = run_query('select count(*) from ' ~ this).columns[0].values()[0] -%}
        {{- log('foil_row_count ' ~ rows, info=True) -}}
    {%- endif -%}
{% endmacro %}
