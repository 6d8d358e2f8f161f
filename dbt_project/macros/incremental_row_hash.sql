{#- Marts kept by row hash (issue #18 §2): a mart whose rows any release can change (a new reply moves a
    thread, a new address merges two people) cannot be incremental by release, but computing it is far
    cheaper than writing it whole into the build file. Such a mart is computed whole into a temporary
    table, and only the rows whose hash is new are written; the rows whose hash is gone are deleted.

    The hash of every stored row is kept beside the mart, in schema `row_hashes` (never published), so the
    stored rows are not read again to be hashed. Rows are deleted and inserted by the mart's unique key
    (gated by its tests): every row of a key that lost or gained a row is replaced, so the mart ends with
    exactly the rows a full build gives.

    Use: config(materialized='incremental', incremental_strategy='row_hash', unique_key='<key column>',
    post_hook="{{ index_row_hashes() }}"). A full build (the first, --full-refresh) writes the mart as a
    table and the post-hook indexes its hashes; a change to the project's SQL forces a full build
    (pipelines/lib/incremental.py). -#}

{% macro row_hashes_relation(relation) -%}
    {{ relation.database }}.row_hashes.{{ relation.identifier }}
{%- endmacro %}

{#- The hash of each row of `relation`, with its key column (publish reads the key's name from it). -#}
{% macro row_hashes_of(relation, key) -%}
    select {{ key }}, hash(r) as row_hash from {{ relation }} as r
{%- endmacro %}

{#- Post-hook: index the hashes of a mart a full build wrote whole. -#}
{% macro index_row_hashes() -%}
    {%- if not is_incremental() -%}
    create schema if not exists {{ this.database }}.row_hashes;
    create or replace table {{ row_hashes_relation(this) }} as {{ row_hashes_of(this, config.get('unique_key')) }}
    {%- endif -%}
{%- endmacro %}

{#- The strategy: dbt-duckdb has computed the model into temp_relation. -#}
{% macro get_incremental_row_hash_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set hashes = row_hashes_relation(target) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    create schema if not exists {{ target.database }}.row_hashes;
    -- a mart built before it was kept by row hash: its hashes are indexed once
    create table if not exists {{ hashes }} as {{ row_hashes_of(target, key) }};
    create or replace temp table row_hashes_new as {{ row_hashes_of(temp, key) }};
    create or replace temp table row_hashes_gone as
        select {{ key }}, row_hash from {{ hashes }} anti join row_hashes_new using (row_hash);
    create or replace temp table row_hashes_came as
        select {{ key }}, row_hash from row_hashes_new anti join {{ hashes }} using (row_hash);
    create or replace temp table row_hashes_keys as
        select {{ key }} from row_hashes_gone union select {{ key }} from row_hashes_came;
    delete from {{ target }} where {{ key }} in (select {{ key }} from row_hashes_keys);
    insert into {{ target }} ({{ columns }})
        select {{ columns }} from {{ temp }} where {{ key }} in (select {{ key }} from row_hashes_keys);
    delete from {{ hashes }} where row_hash in (select row_hash from row_hashes_gone);
    insert into {{ hashes }} select {{ key }}, row_hash from row_hashes_came;
    drop table row_hashes_new;
    drop table row_hashes_gone;
    drop table row_hashes_came;
    drop table row_hashes_keys
{%- endmacro %}
