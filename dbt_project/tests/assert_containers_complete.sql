{{ config(meta={'dagster': {'ref': {'name': 'documents'}}}) }}
-- Nothing lost: every container's expected item count (mbox separators, CSV/DAT rows, zip members,
-- PDF header blocks) must equal what was extracted plus what was quarantined with a reason.
select
    document_id,
    release_id,
    source_path,
    expected_items,
    extracted_items,
    quarantined_items,
from {{ ref('documents') }}
where expected_items != extracted_items + quarantined_items
