with

people as (

    select * from {{ ref('int_people_identified') }}

),

final as (

    select
        person_id,
        display_name,
        emails,
        orgs,
        primary_org_id,
        is_redacted,
        is_dual_affiliated,
        is_personal_email,
        affiliated_org_ids,
        address_evidence,
        org_evidence,
    from people

)

select * from final
