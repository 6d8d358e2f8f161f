{#- Models incremental by release (issue #18 §2): a model whose rows each come from one event stores, per
    row, its release's fingerprint, and a build re-derives only the releases whose fingerprint changed.

    A release's fingerprint is a hash of what the event log holds for it (the log is append-only, so the
    number of its events and the newest ingested_at change whenever anything happens to it: a file read,
    a re-read by a newer reader version, a withdrawal or reinstatement) and of the model's own SQL. Only
    releases in scope (complete, not withdrawn, within --as-of) have one, so the rows of a release that
    left the scope are deleted and never re-inserted. A change to a macro or seed the model reads is not
    in the fingerprint: `foil build` rebuilds in full when the dbt project changed since the last build
    (pipelines/lib/incremental.py), and `foil build --full` always does.

    Use: config(materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}"), a CTE `releases_to_build as ({{ releases_to_build() }})`,
    the model's events filtered with {{ in_releases_to_build('release_id') }}, and the column
    release_fingerprint joined from releases_to_build. -#}

{% macro release_fingerprints() -%}
    select
        events.release_id,
        md5(concat_ws('|', events.release_id, count(*), max(events.ingested_at),
            '{{ local_md5(model.raw_code if execute else "") }}')) as release_fingerprint,
    from {{ source('raw', 'events') }} as events
    where events.release_id in (select release_id from {{ ref('stg_events__releases') }})
    group by events.release_id
{%- endmacro %}

{#- The releases whose rows this build derives: all in scope on a full build, else those whose
    fingerprint the table does not hold (new, changed, or holding no rows of this model). -#}
{% macro releases_to_build() -%}
    select release_id, release_fingerprint
    from ({{ release_fingerprints() }})
    {%- if is_incremental() %}
    where release_fingerprint not in (select distinct release_fingerprint from {{ this }})
    {%- endif %}
{%- endmacro %}

{#- A filter on a release id column: a list test, not IN (select ...), which DuckDB can make a semi join
    that hashes every row with its payload. -#}
{% macro in_releases_to_build(column) -%}
    list_contains((select coalesce(list(release_id), []) from releases_to_build), {{ column }})
{%- endmacro %}

{#- Pre-hook: drop the rows of every release whose fingerprint changed or that left the scope. -#}
{% macro delete_changed_releases() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where release_fingerprint not in (select release_fingerprint from ({{ release_fingerprints() }}))
    {%- endif -%}
{%- endmacro %}
