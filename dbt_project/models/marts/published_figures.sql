{#- Documented public aggregates (seeds/documented_figures.csv), published so analysts can put warehouse
    counts beside them. Not derived from any release. -#}
with

documented_figures as (

    select * from {{ ref('documented_figures') }}

),

final as (

    select
        figure,
        value,
        qualifier,
        unit,
        scope,
        source,
        published,
    from documented_figures

)

select * from final
