-- contact_card: one vCard of a .vcf file (reader contact_vcf; docs/events.md)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'contact_card'

),

-- parsed once into a typed struct (see stg_events__emails)
parsed as (

    select
        *,
        json_transform(payload, '{
            "full_name": "VARCHAR",
            "names": {"family": "VARCHAR", "given": "VARCHAR", "additional": "VARCHAR", "prefixes": "VARCHAR", "suffixes": "VARCHAR"},
            "emails": "VARCHAR[]",
            "phones": [{"number": "VARCHAR", "types": "VARCHAR[]"}],
            "org": "VARCHAR", "org_units": "VARCHAR[]", "title": "VARCHAR", "version": "VARCHAR",
            "defects": "VARCHAR[]", "index": "BIGINT"
        }') as p,
    from events

),

renamed as (

    select
        -- ids and pointers
        event_id,
        release_id,
        release_rank,
        released_on,
        document_id,
        source_path,
        source_row,
        p."index" as item_index,
        -- int_citations_formatted does not know contact cards yet: cited here by the BEGIN:VCARD line
        release_id || ' / ' || coalesce(source_path, document_id)
            || case when source_row is not null then ' line ' || source_row else '' end as citation,

        -- the card
        nullif(trim(p.full_name), '') as full_name,
        p.names as names,
        list_filter(
            list_transform(coalesce(p.emails, []), lambda e: nullif(lower(trim(e)), '')),
            lambda e: e is not null
        ) as emails,
        coalesce(p.phones, []) as phones,
        nullif(trim(p.org), '') as org,
        coalesce(p.org_units, []) as org_units,
        nullif(trim(p.title), '') as title,
        p.version as vcard_version,

        coalesce(p.defects, []) as defects,
    from parsed

)

select * from renamed
