"""Which canonical target each of a system's custom fields feeds.

A CRM's custom field reaches the canonical contact in one of two ways: when its name, snake-cased,
is a canonical field (Apollo's "Shirt Size", LeadConnector's ``contact.shirt_size``) it *is* that
field; otherwise it becomes ``custom.<key>`` (``Client Since`` -> ``custom.client_since``), so the
same name in two CRMs lines up without configuration. A user's mapping overrides either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

CUSTOM_PREFIX = "custom."


def custom_key(name: str) -> str:
    """``"Client Since"``, ``"contact.client_since"``, ``"client-since"`` -> ``"client_since"``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = text.strip().lower()
    if text.startswith("contact."):  # LeadConnector's fieldKey namespace
        text = text[len("contact.") :]
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def resolve_targets(
    fields: Iterable[tuple[str, Iterable[str]]],
    canonical_fields: Iterable[str],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Field id -> canonical target for a system's custom-field catalogue.

    ``fields`` yields ``(field_id, names)`` where names are the ways the system names that field
    (display name, key). ``overrides`` maps a canonical target to one of those names (or the id);
    an overridden field takes its target away from any field matched by name. Fields whose
    names give an empty key are left out.
    """
    canonical = set(canonical_fields) - {"custom"}
    overrides = dict(overrides or {})
    by_name: dict[str, str] = {}
    targets: dict[str, str] = {}
    for field_id, names in fields:
        names = list(names)
        for name in [field_id, *names]:
            by_name.setdefault(name, field_id)
            by_name.setdefault(custom_key(name), field_id)
        key = next((k for k in map(custom_key, names) if k), "")
        if key:
            targets[field_id] = key if key in canonical else CUSTOM_PREFIX + key
    for target, name in overrides.items():
        matched = by_name.get(name) or by_name.get(custom_key(name))
        if matched is None:
            raise ValueError(f"custom field {name!r} (mapped to {target!r}) is not in the catalogue")
        for other, other_target in list(targets.items()):
            if other_target == target:
                del targets[other]
        targets[matched] = target
    return targets
