{{ config(meta={'dagster': {'ref': {'name': 'documents'}}}) }}
-- Citation contract: every row of the core marts (accounts, searches, contacts, referrals; plus messages)
-- names an existing release and document, and its citation starts with that release and the document's
-- path, so a reader can find the item. Returns the offending rows.
with

documents as (

    select * from {{ ref('documents') }}

),

releases as (

    select * from {{ ref('releases') }}

),

cited as (

    select 'accounts' as mart, account_id as row_id, release_id, document_id, citation from {{ ref('accounts') }}
    union all
    select 'searches', search_id, release_id, document_id, citation from {{ ref('searches') }}
    union all
    select 'contacts', contact_id, release_id, document_id, citation from {{ ref('contacts') }}
    union all
    select 'referrals', referral_id, release_id, document_id, citation from {{ ref('referrals') }}
    union all
    select 'messages', message_id, release_id, document_id, citation from {{ ref('messages') }}

)

select
    cited.*,
    documents.release_id as document_release_id,
    documents.source_path,
from cited
left join documents
    on cited.document_id = documents.document_id
left join releases
    on cited.release_id = releases.release_id
where cited.citation is null
    or documents.document_id is null
    or releases.release_id is null
    or documents.release_id <> cited.release_id
    or not starts_with(cited.citation, cited.release_id || ' / ' || documents.source_path)
