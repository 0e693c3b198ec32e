"""Switches of the Apollo simulator for behaviour the sources leave open (apis.md section 6).

Each default follows what the documentation suggests; the alternative is one setting away, from
the constructor (``ApolloSim(label_names_autocreate=False)``) or over ``PUT /__admin/settings``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

PAGE_CAP_MODES = ("clip", "refuse")
DAY_HEADER_STYLES = ("24-hour", "daily")
PLACEHOLDER_ANSWERS = ("existing_contacts", "created_contacts")


@dataclass
class ApolloSettings:
    """Team-level behaviour switches.

    ``page_cap``: search pages beyond 500 come back empty (``clip``) or get a 422 (``refuse``).
    ``label_names_autocreate``: unknown names in ``label_names`` on update create lists (open
    question 9); when off they are dropped.
    ``custom_fields_merge``: ``typed_custom_fields`` on update merges per key (open question 2);
    when off the sent object replaces the stored one.
    ``day_headers``: the day window's header spelling, ``x-rate-limit-24-hour``/``x-24-hour-*``
    or ``x-rate-limit-daily``/``x-daily-*`` (open question 5).
    ``scopes``: endpoint permissions of the API key (``api/v1/contacts/search``...); ``None`` is a
    master key. Endpoints outside the scope answer 403 ``API_INACCESSIBLE``.
    ``paid_plan``: when off, search and the users list answer 403 "only available ... paid plans".
    ``async_delay_seconds``: simulated seconds before an asynchronous bulk job is applied.
    ``bulk_create_placeholders``: the array of the ``bulk_create`` answer that holds an
    "email_import" placeholder merged with a sent contact. The spec mentions merged placeholders
    only in the description of ``existing_contacts`` ("returned without modification, except for
    email_import placeholders which may be merged") and calls ``created_contacts`` "newly created",
    so ``existing_contacts`` is the default.
    """

    page_cap: str = "clip"
    label_names_autocreate: bool = True
    custom_fields_merge: bool = True
    day_headers: str = "24-hour"
    scopes: list[str] | None = None
    paid_plan: bool = True
    async_delay_seconds: float = 0.0
    bulk_create_placeholders: str = "existing_contacts"

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown Apollo settings: {sorted(unknown)}")
        for key, value in data.items():
            setattr(self, key, _checked(key, value))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _checked(key: str, value: Any) -> Any:
    if key == "page_cap" and value not in PAGE_CAP_MODES:
        raise ValueError(f"page_cap must be one of {PAGE_CAP_MODES}, got {value!r}")
    if key == "day_headers" and value not in DAY_HEADER_STYLES:
        raise ValueError(f"day_headers must be one of {DAY_HEADER_STYLES}, got {value!r}")
    if key == "bulk_create_placeholders" and value not in PLACEHOLDER_ANSWERS:
        raise ValueError(f"bulk_create_placeholders must be one of {PLACEHOLDER_ANSWERS}, got {value!r}")
    if key == "scopes":
        if value is not None and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
            raise ValueError("scopes must be null or a list of permission strings")
        return None if value is None else list(value)
    if key == "async_delay_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"async_delay_seconds must be a number >= 0, got {value!r}")
        return float(value)
    if key in ("label_names_autocreate", "custom_fields_merge", "paid_plan") and not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value
