{{ config(meta={'dagster': {'ref': {'name': 'stg_events__releases'}}}) }}
-- With var as_of_release set, the release must be registered; otherwise every mart would silently be empty.
{%- set as_of_release = var('as_of_release', none) %}
{%- if as_of_release %}
select '{{ as_of_release }}' as missing_release_id
where not exists (
    select 1 from {{ ref('stg_events__releases') }}
    where release_id = '{{ as_of_release }}'
)
{%- else %}
select release_id as missing_release_id from {{ ref('stg_events__releases') }} where false
{%- endif %}
