with

org_domains as (

    select * from {{ ref('org_domains') }}

),

final as (

    select
        org_id,
        min(org_name) as name,
        min(org_kind) as kind,
        list(domain order by domain) as domains,
    from org_domains
    group by org_id

)

select * from final
