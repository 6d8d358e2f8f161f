{#- Post-hook: log a built table's row count ("<n> rows in <table>"), which the build's console shows as
    progress and the Dagster asset records as `dagster/row_count`. Counted here, inside dbt, because no
    other process can open the build database while dbt holds it; the asset reads the line from dbt's
    event stream, so it can hand each model to Dagster as soon as it is built. -#}
{% macro log_row_count() %}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set rows = run_query('select count(*) from ' ~ this).columns[0].values()[0] -%}
        {{- log(rows ~ ' rows in ' ~ this, info=True) -}}
    {%- endif -%}
{% endmacro %}
