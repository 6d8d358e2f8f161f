{{ config(meta={'dagster': {'ref': {'name': 'stg_events__events'}}}) }}
-- With var as_of_release set, the release must be registered; otherwise every mart would silently be empty.
{%- set as_of_release = var('as_of_release', none) %}
{%- if as_of_release %}
select '{{ as_of_release }}' as missing_release_id
where not exists (
    select 1 from {{ source('raw', 'events') }}
    where event_type = 'release_registered' and release_id = '{{ as_of_release }}'
)
{%- else %}
select 1 as missing_release_id where false
{%- endif %}
