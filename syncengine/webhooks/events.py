"""What the receiver reads of a webhook body: which contact, which event, when, and its id.

The contact's fields in the payload are not used: a webhook may arrive late, twice or out of
order, so the targeted sync reads the contact as it is now (``GET /contacts/{id}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

CONTACT_EVENTS = frozenset({"ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate"})


class PayloadError(ValueError):
    """A body that is not a webhook we can read; answered 400."""


@dataclass(frozen=True)
class ContactEvent:
    webhook_id: str
    type: str
    location_id: str
    contact_id: str
    sent_at: datetime

    @property
    def is_contact_event(self) -> bool:
        return self.type in CONTACT_EVENTS


def parse_event(body: bytes) -> ContactEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("the body is not a JSON object")
    values = {}
    for key in ("webhookId", "type", "timestamp", "locationId", "id"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            values[key] = value.strip()
        elif key in ("webhookId", "type", "timestamp") or values["type"] in CONTACT_EVENTS:
            raise PayloadError(f"{key} is missing")
        else:
            values[key] = ""  # another kind of event: read only to be told apart
    return ContactEvent(
        webhook_id=values["webhookId"],
        type=values["type"],
        location_id=values["locationId"],
        contact_id=values["id"],
        sent_at=_instant(values["timestamp"]),
    )


def _instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"timestamp {text!r} is not an ISO-8601 instant") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
