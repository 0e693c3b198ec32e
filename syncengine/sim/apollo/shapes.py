"""The shapes of Apollo's contact answers and the input fields each contact endpoint reads.

The read shape has the 70 keys of the spec's ``GET /contacts/{id}`` example plus
``contact_campaign_statuses`` (in the create and search examples), in the create example's order;
search items add ``account``, ``organization`` and ``contact_job_change_event``; the bulk
endpoints answer with the short items of their own examples.
"""

from __future__ import annotations

import copy
from typing import Any

from syncengine.sim.apollo.catalogues import TEAM_ID, Catalogues
from syncengine.sim.apollo.values import PHONE_TYPES

# fmt: off
CONTACT_KEYS = (
    "contact_roles", "id", "first_name", "last_name", "name", "linkedin_url", "title", "contact_stage_id",
    "owner_id", "creator_id", "person_id", "email_needs_tickling", "organization_name", "source",
    "original_source", "organization_id", "headline", "photo_url", "present_raw_address", "linkedin_uid",
    "extrapolated_email_confidence", "salesforce_id", "salesforce_lead_id", "salesforce_contact_id",
    "salesforce_account_id", "crm_owner_id", "created_at", "emailer_campaign_ids", "direct_dial_status",
    "direct_dial_enrichment_failed_at", "email_status", "email_source", "account_id", "last_activity_date",
    "hubspot_vid", "hubspot_company_id", "crm_id", "sanitized_phone", "merged_crm_ids", "updated_at",
    "queued_for_crm_push", "suggested_from_rule_engine_config_id", "email_unsubscribed", "label_ids",
    "has_pending_email_arcgate_request", "has_email_arcgate_request", "existence_level", "email",
    "email_from_customer", "custom_field_errors", "crm_record_url", "email_status_unavailable_reason",
    "email_true_status", "updated_email_true_status", "contact_rule_config_statuses", "source_display_name",
    "twitter_url", "contact_campaign_statuses", "contact_emails", "next_contact_id", "time_zone", "city",
    "state", "country", "show_intent", "phone_numbers", "account_phone_note", "free_domain",
    "is_likely_to_engage", "email_domain_catchall", "typed_custom_fields",
)
DEFAULTS: dict[str, Any] = {
    "contact_roles": [], "emailer_campaign_ids": [], "label_ids": [], "typed_custom_fields": {},
    "custom_field_errors": {}, "contact_rule_config_statuses": [], "contact_campaign_statuses": [],
    "contact_emails": [], "phone_numbers": [], "queued_for_crm_push": False, "existence_level": "full",
    "has_pending_email_arcgate_request": False, "has_email_arcgate_request": False, "show_intent": False,
    "free_domain": False, "is_likely_to_engage": False, "email_domain_catchall": False,
}
SOURCE_NAMES = {
    "api": "Created from API", "csv_import": "Uploaded from CSV", "crm": "Synced from CRM",
    "search": "Added from Search", "email_import": "Imported from Email", "salesforce": "Salesforce",
    "manual": "Created manually",
}

# Input fields: copied as given, protected once set, and the ones that must be strings or lists.
PLAIN_FIELDS = ("first_name", "last_name", "title", "linkedin_url", "twitter_url", "photo_url",
                "salesforce_id", "salesforce_account_id")
PROTECTED_FIELDS = ("person_id", "salesforce_lead_id", "salesforce_contact_id")
TEXT_FIELDS = frozenset({
    *PLAIN_FIELDS, *PROTECTED_FIELDS, *PHONE_TYPES, "organization_name", "email", "website_url",
    "present_raw_address", "account_id", "contact_stage_id", "owner_id", "organization_id", "hubspot_vid",
    "hubspot_id", "primary_title", "phone", "phone_status_cd", "facebook_url", "outreach_id", "salesloft_id",
})
STRING_LIST_FIELDS = frozenset({"label_names", "append_label_names", "contact_role_type_ids"})

UPDATE_FIELDS = frozenset({
    "first_name", "last_name", "organization_name", "title", "account_id", "email", "website_url",
    "label_names", "contact_stage_id", "present_raw_address", "typed_custom_fields", *PHONE_TYPES,
})
CREATE_FIELDS = UPDATE_FIELDS | {*PROTECTED_FIELDS, "hubspot_vid", "organization_id"}
BULK_CREATE_FIELDS = frozenset({
    "first_name", "last_name", "email", "title", "primary_title", "organization_name", "phone",
    "present_raw_address", "linkedin_url", "facebook_url", "twitter_url", "photo_url", "account_id",
    "organization_id", "contact_stage_id", "salesforce_id", "hubspot_id", "salesforce_lead_id",
    "salesforce_contact_id", "salesforce_account_id", "outreach_id", "salesloft_id", "phone_status_cd",
    "typed_custom_fields", "contact_emails", "phone_numbers", "contact_role_type_ids",
})
# The request schema of bulk_update lists these; anything else (contact_stage_id, label_names,
# typed phones, phone_numbers) is ignored. Its description also names "contact stages" among what
# it updates, but the schema, the stricter statement, has no stage field (apis.md 1.7).
BULK_UPDATE_FIELDS = frozenset({
    "first_name", "last_name", "email", "title", "organization_name", "owner_id", "account_id",
    "present_raw_address", "linkedin_url", "typed_custom_fields",
})
_BULK_UPDATED_KEYS = ("id", "first_name", "last_name", "email", "title", "organization_name", "owner_id",
                      "account_id", "present_raw_address", "linkedin_url", "updated_at")
# fmt: on


def search_item(record: dict[str, Any], catalogues: Catalogues) -> dict[str, Any]:
    item = copy.deepcopy(record)
    account = catalogues.accounts.get(record["account_id"] or "")
    item["account"] = _account_embed(account) if account else None
    item["organization"] = _organization_embed(account) if account else None
    item["contact_job_change_event"] = None
    return item


def bulk_created_item(record: dict[str, Any]) -> dict[str, Any]:
    item = {k: record[k] for k in ("id", "first_name", "last_name", "email", "title", "organization_name")}
    if record["linkedin_url"]:
        item["linkedin_url"] = record["linkedin_url"]
    item.update(
        team_id=TEAM_ID,
        owner_id=record["owner_id"],
        contact_stage_id=record["contact_stage_id"],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )
    return item


def bulk_existing_item(record: dict[str, Any]) -> dict[str, Any]:
    item = {k: record[k] for k in ("id", "first_name", "last_name", "email", "title")}
    item.update(team_id=TEAM_ID, owner_id=record["owner_id"])
    item.update(created_at=record["created_at"], updated_at=record["updated_at"])
    return item


def bulk_updated_item(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in _BULK_UPDATED_KEYS}


def _account_embed(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["id"],
        "name": account["name"],
        "website_url": account["website_url"],
        "primary_domain": account["domain"],
        "domain": account["domain"],
        "team_id": TEAM_ID,
        "organization_id": account["organization_id"],
        "created_at": account["created_at"],
        "label_ids": list(account["label_ids"]),
        "existence_level": "full",
        "modality": "account",
        "typed_custom_fields": {},
        "source": "api",
        "original_source": "api",
    }


def _organization_embed(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["organization_id"],
        "name": account["name"],
        "website_url": account["website_url"],
        "primary_domain": account["domain"],
    }
