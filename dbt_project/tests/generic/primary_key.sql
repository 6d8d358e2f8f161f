{#- A key column: no nulls and no repeats, in one query (one dbt node and one Dagster check instead of
    unique + not_null, which cost ~20 ms of dbt's per-node work each). Failing rows: the null or
    repeated keys and how often each occurs. -#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as occurrences
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
