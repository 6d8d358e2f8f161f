{#- Vendor names and mail domains, from seeds only: org_domains (org_kind = vendor) and vendor_aliases.
    Used by the signal rules ({vendor} in a pattern, vendor senders) and by roster vendor names. -#}

{#- SELECT of (vendor_org_id, domain): every mail domain of a vendor, lower-case. -#}
{% macro vendor_domains() -%}
    select org_id as vendor_org_id, lower(trim(domain)) as domain
    from {{ ref('org_domains') }}
    where org_kind = 'vendor'
    union
    select vendor as vendor_org_id, lower(trim(alias)) as domain
    from {{ ref('vendor_aliases') }}
    where alias_kind = 'domain'
{%- endmacro %}

{#- SELECT of (vendor_org_id, name): every name (and domain) a vendor is written as, lower-case.
    The two seeds' relations default to their refs. -#}
{% macro vendor_names(org_domains=none, vendor_aliases=none) -%}
    select org_id as vendor_org_id, lower(trim(org_name)) as name
    from {{ org_domains if org_domains is not none else ref('org_domains') }}
    where org_kind = 'vendor'
    union
    select vendor as vendor_org_id, lower(trim(alias)) as name
    from {{ vendor_aliases if vendor_aliases is not none else ref('vendor_aliases') }}
{%- endmacro %}

{#- True when the address `email` is at `domain` or one of its subdomains (as people get their orgs). -#}
{% macro email_at_domain(email, domain) -%}
    (split_part({{ email }}, '@', 2) = {{ domain }} or split_part({{ email }}, '@', 2) like '%.' || {{ domain }})
{%- endmacro %}
