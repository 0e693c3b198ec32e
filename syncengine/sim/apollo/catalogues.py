"""The team catalogues the Apollo simulator keeps next to its contacts.

Contact stages, lists ("labels"), accounts with their organizations, typed custom fields and
users. Ids are 24-hex like every Apollo id; the default stages carry the ids of the vendor's own
example so that documentation snippets work against the simulator.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from syncengine.sim.apollo.values import IdSource, email_domain, is_hex24

TEAM_ID = "6095a710bd01d100a506d4ac"
DEFAULT_USER_ID = "60affe7d6e270a00f5db6fe4"
LABEL_MODALITIES = ("contacts", "accounts")
FIELD_MODALITIES = ("contact", "account", "opportunity")
FIELD_TYPES = (
    "string",
    "textarea",
    "number",
    "date",
    "datetime",
    "boolean",
    "picklist",
    "multi_select",
    "url",
    "email",
    "phone",
    "currency",
)

# (id, name, ignore_trigger_override, category) in display order, from GET /contact_stages.
DEFAULT_STAGES = [
    ("6095a710bd01d100a506d4ae", "New", None, "in_progress"),
    ("6095a710bd01d100a506d4af", "Approaching", None, "in_progress"),
    ("6095a710bd01d100a506d4b0", "Replied", None, "in_progress"),
    ("6095a710bd01d100a506d4b1", "Interested", True, "succeeded"),
    ("6095a710bd01d100a506d4b2", "Not Interested", True, "failed"),
    ("6095a710bd01d100a506d4b3", "Unresponsive", None, "failed"),
    ("6095a710bd01d100a506d4b4", "Do Not Contact", True, "failed"),
    ("6095a710bd01d100a506d4b5", "Bad Data", None, None),
    ("6095a710bd01d100a506d4b6", "Changed Job", True, None),
]

# A few of the system fields of GET /fields (source "system").
SYSTEM_FIELDS = [
    ("contact.id", "Identifier", "string", "basic_info"),
    ("contact.attr2", "First name", "string", "basic_info"),
    ("contact.attr3", "Last name", "string", "basic_info"),
    ("contact.email", "Email", "email", "basic_info"),
    ("contact.title", "Title", "string", "basic_info"),
    ("contact.organization_name", "Company", "string", "basic_info"),
    ("contact.phone", "Phone", "phone", "basic_info"),
    ("contact.present_raw_address", "Location", "string", "basic_info"),
    ("contact.contact_stage_id", "Stage", "string", "basic_info"),
    ("contact.owner_id", "Owner", "string", "basic_info"),
    ("contact.label_ids", "Lists", "multi_select", "basic_info"),
]


class CatalogueError(ValueError):
    """A catalogue entry that cannot be stored as given (admin seeding)."""


class Catalogues:
    def __init__(self, ids: IdSource) -> None:
        self.ids = ids
        self.stages: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.custom_fields: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}

    def reset(self, created_at: str) -> None:
        self.stages = {
            sid: _stage(sid, name, order, ignore, category)
            for order, (sid, name, ignore, category) in enumerate(DEFAULT_STAGES)
        }
        self.labels.clear()
        self.accounts.clear()
        self.custom_fields.clear()
        self.users = {
            DEFAULT_USER_ID: _user(DEFAULT_USER_ID, "Sim", "Owner", "owner@sim.example", created_at)
        }

    # ------------------------------------------------------------------ stages

    @property
    def default_stage_id(self) -> str | None:
        ordered = sorted(self.stages.values(), key=lambda s: s["display_order"])
        return ordered[0]["id"] if ordered else None

    def add_stage(self, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("name") or data.get("display_name")
        if not isinstance(name, str) or not name.strip():
            raise CatalogueError("contact stage needs a non-empty name")
        sid = data.get("id") or self.ids.hex24()
        if not is_hex24(sid):
            raise CatalogueError(f"contact stage {name!r}: id {sid!r} is not 24-hex")
        order = data.get("display_order", len(self.stages))
        stage = _stage(sid, name, order, data.get("ignore_trigger_override"), data.get("category"))
        self.stages[sid] = stage
        return dict(stage)

    # ------------------------------------------------------------------ lists (labels)

    def label_by_name(self, name: str, modality: str) -> dict[str, Any] | None:
        key = name.strip().lower()
        for label in self.labels.values():
            if label["modality"] == modality and label["name"].lower() == key:
                return label
        return None

    def create_label(
        self, name: str, modality: str, at: str, user_id: str = DEFAULT_USER_ID, label_id: str | None = None
    ) -> dict[str, Any]:
        label: dict[str, Any] = {
            "id": label_id or self.ids.hex24(),
            "name": name.strip(),
            "modality": modality,
            "created_at": at,
            "updated_at": at,
            "user_id": user_id,
            "book_of_business": None,
        }
        self.labels[label["id"]] = label
        return label

    def label_ids_for(self, names: list[str], modality: str, at: str, *, create: bool) -> list[str]:
        """Ids of the named lists, in the given order without repeats; unknown names are created
        when ``create`` is set and dropped otherwise."""
        ids: list[str] = []
        for name in names:
            if not name.strip():
                continue
            label = self.label_by_name(name, modality)
            if label is None and create:
                label = self.create_label(name, modality, at)
            if label is not None and label["id"] not in ids:
                ids.append(label["id"])
        return ids

    # ------------------------------------------------------------------ accounts

    def account_for_name(self, name: str, at: str, website_url: str | None = None) -> dict[str, Any]:
        """The team's account of that company name, created (with an organization) if missing."""
        key = name.strip().lower()
        for account in self.accounts.values():
            if account["name"].lower() == key:
                return account
        return self.add_account({"name": name.strip(), "website_url": website_url}, at)

    def add_account(self, data: dict[str, Any], at: str) -> dict[str, Any]:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CatalogueError("account needs a non-empty name")
        account_id = data.get("id") or self.ids.hex24()
        organization_id = data.get("organization_id") or self.ids.hex24()
        for key, value in (("id", account_id), ("organization_id", organization_id)):
            if not is_hex24(value):
                raise CatalogueError(f"account {name!r}: {key} {value!r} is not 24-hex")
        website = data.get("website_url")
        domain = data.get("domain") or _domain_of(website)
        account = {
            "id": account_id,
            "name": name,
            "website_url": website,
            "domain": domain,
            "organization_id": organization_id,
            "created_at": data.get("created_at") or at,
            "label_ids": list(data.get("label_ids") or []),
        }
        self.accounts[account_id] = account
        return account

    def account_matches(self, account_id: str | None, email: str | None, company: dict[str, Any]) -> bool:
        """Whether a contact's company (its account, or its email domain) is the one described by
        ``company`` (``organization_id``, ``organization_name`` or an email)."""
        account = self.accounts.get(account_id or "")
        if (
            company.get("organization_id")
            and account
            and account["organization_id"] == company["organization_id"]
        ):
            return True
        name = company.get("organization_name")
        if (
            isinstance(name, str)
            and name.strip()
            and account
            and account["name"].lower() == name.strip().lower()
        ):
            return True
        domain = email_domain(company.get("email"))
        return bool(domain) and domain == email_domain(email)

    # ------------------------------------------------------------------ custom fields

    def add_custom_field(self, data: dict[str, Any], at: str) -> dict[str, Any]:
        name = data.get("name") or data.get("label")
        if not isinstance(name, str) or not name.strip():
            raise CatalogueError("custom field needs a non-empty name")
        field_type = data.get("type", "string")
        if field_type not in FIELD_TYPES:
            raise CatalogueError(f"custom field {name!r}: type {field_type!r} is not one of {FIELD_TYPES}")
        modality = data.get("modality", "contact")
        if modality not in FIELD_MODALITIES:
            raise CatalogueError(
                f"custom field {name!r}: modality {modality!r} is not one of {FIELD_MODALITIES}"
            )
        field_id = data.get("id") or self.ids.hex24()
        if not is_hex24(field_id):
            raise CatalogueError(f"custom field {name!r}: id {field_id!r} is not 24-hex")
        values = [self._picklist_value(v) for v in data.get("picklist_values") or []]
        max_length = (data.get("meta") or {}).get("max_length", data.get("text_field_max_length"))
        field = {
            "id": field_id,
            "modality": modality,
            "name": name.strip(),
            "type": field_type,
            "picklist_options": [],
            "mapped_crm_field": None,
            "additional_mapped_crm_field": None,
            "is_readonly_mapped_crm_field": None,
            "picklist_options_last_synced_at": None,
            "picklist_value_set_id": self.ids.hex24() if values else None,
            "mirrored": False,
            "system_name": None,
            "text_field_max_length": max_length,
            "finder_view_ids": [],
            "is_local": False,
            "created_at": at,
        }
        if values:
            field["picklist_values"] = values
        self.custom_fields[field_id] = field
        return copy.deepcopy(field)

    def _picklist_value(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"name": value}
        value_id = value.get("id") or self.ids.hex24()
        if not is_hex24(value_id) or not isinstance(value.get("name"), str):
            raise CatalogueError(f"picklist value {value!r} needs a name and a 24-hex id")
        return {
            "_id": value_id,
            "mapped_crm_values": {},
            "name": value["name"],
            "id": value_id,
            "key": value_id,
        }

    def custom_value_error(self, field_id: str, value: Any) -> str | None:
        """Why ``value`` cannot be written to custom field ``field_id``, or None if it can."""
        field = self.custom_fields.get(field_id)
        if field is None or field["modality"] != "contact":
            return "is not a valid custom field"
        if not isinstance(value, str):
            return "value must be a string"
        if (
            value
            and field["type"] == "picklist"
            and value not in {v["id"] for v in field.get("picklist_values", [])}
        ):
            return f"{value} is not a valid picklist value id"
        if field["text_field_max_length"] and len(value) > field["text_field_max_length"]:
            return f"is longer than {field['text_field_max_length']} characters"
        return None

    def fields_listing(self, source: str | None) -> list[dict[str, Any]]:
        system = [_system_field(fid, label, ftype, group) for fid, label, ftype, group in SYSTEM_FIELDS]
        custom = [_custom_field_listing(f) for f in self.custom_fields.values()]
        if source == "system":
            return system
        if source == "custom":
            return custom
        if source == "crm_synced":
            return []
        return system + custom

    # ------------------------------------------------------------------ users

    def add_user(self, data: dict[str, Any], at: str) -> dict[str, Any]:
        user_id = data.get("id") or self.ids.hex24()
        if not is_hex24(user_id):
            raise CatalogueError(f"user id {user_id!r} is not 24-hex")
        user = _user(user_id, data.get("first_name"), data.get("last_name"), data.get("email"), at)
        self.users[user_id] = user
        return dict(user)

    # ------------------------------------------------------------------ state

    def export(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "stages": list(self.stages.values()),
                "labels": list(self.labels.values()),
                "accounts": list(self.accounts.values()),
                "custom_fields": list(self.custom_fields.values()),
                "users": list(self.users.values()),
            }
        )

    def load(self, data: dict[str, Any]) -> None:
        for key in ("stages", "labels", "accounts", "custom_fields", "users"):
            if key in data:
                setattr(self, key, {item["id"]: copy.deepcopy(item) for item in data[key]})


def _stage(sid: str, name: str, order: int, ignore: bool | None, category: str | None) -> dict[str, Any]:
    return {
        "id": sid,
        "team_id": TEAM_ID,
        "display_name": name,
        "name": name,
        "display_order": order,
        "ignore_trigger_override": ignore,
        "category": category,
        "is_meeting_set": None,
    }


def _user(user_id: str, first: str | None, last: str | None, email: str | None, at: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "first_name": first,
        "last_name": last,
        "title": None,
        "email": email,
        "created_at": at,
        "deleted": False,
        "name": " ".join(p for p in (first, last) if p),
    }


def _system_field(field_id: str, label: str, field_type: str, group: str) -> dict[str, Any]:
    return {
        "id": field_id,
        "category": "person",
        "context": ["finder", "csv_export"],
        "description": None,
        "editable": field_id != "contact.id",
        "example": None,
        "field_name": field_id,
        "group": group,
        "icon_class": "user",
        "label": label,
        "modality": "contact",
        "parent": None,
        "source": "system",
        "type": field_type,
        "finder_view_ids": [],
        "project_workspace_id": None,
        "finder_views": [],
        "is_local": False,
    }


def _custom_field_listing(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{field['modality']}.{field['id']}",
        "category": "person" if field["modality"] == "contact" else "company",
        "context": ["csv_export", "finder", "prompt"],
        "description": None,
        "editable": True,
        "example": None,
        "field_name": field["name"],
        "group": None,
        "icon_class": None,
        "label": field["name"],
        "modality": field["modality"],
        "parent": None,
        "source": "custom",
        "type": field["type"],
        "finder_view_ids": [],
        "project_workspace_id": None,
        "finder_views": [],
        "is_local": False,
        "created_at": field["created_at"],
    }


def _domain_of(website: str | None) -> str | None:
    if not website:
        return None
    host = website.split("://", 1)[-1].split("/", 1)[0].lower()
    return host.removeprefix("www.") or None


def needs_count_update_at(at: str) -> str:
    """Apollo writes this one timestamp with a ``+00:00`` offset instead of ``Z``."""
    return datetime.fromisoformat(at.replace("Z", "+00:00")).isoformat(timespec="milliseconds")
