"""Switches of the CorporateMerch simulator for what the sources leave open (apis.md section 6, 19-24).

Each default follows the documentation or, where it is silent, the inference apis.md states; the
alternative is one setting away, from the constructor (``CorporateMerchSim(clear_omitted=False)``)
or over ``PUT /__admin/settings``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SECONDARY_LINE_NAMES = ("unit", "address2")
KNOWN_VERSIONS = ("v1", "v2")


@dataclass
class CorporateMerchSettings:
    """Account-level behaviour switches.

    ``clear_omitted``: an update clears the optional fields it leaves out (null, ``[]`` for lists
    and labels); when off they keep their values (open question 20).
    ``reject_unknown``: unknown body keys get a 422 each ("prohibited"); when off they are ignored.
    ``delete_enabled``: ``DELETE /contacts/{id}`` exists; when off it answers 405 (open question 21).
    ``list_memberships``: contacts in ``GET /contacts`` carry ``lists`` and ``labels``; when off
    only ``GET /contacts/{id}`` shows them (open question 21).
    ``secondary_line``: the JSON name of the secondary address line, ``unit`` or ``address2``, in
    writes and reads (open question 19).
    ``string_ids``: contact ids are rendered as JSON strings instead of numbers (open question 22).
    ``us_territories``: ``state`` for US also accepts PR GU VI AS MP and the military AA AE AP
    (open question 23).
    ``foreign_state_required``: ``state`` stays required outside US/CA; when off it may be blank
    (open question 23).
    ``versions``: the path versions answered, ``v1`` and/or ``v2`` (open question 24).
    """

    clear_omitted: bool = True
    reject_unknown: bool = False
    delete_enabled: bool = True
    list_memberships: bool = True
    secondary_line: str = "unit"
    string_ids: bool = False
    us_territories: bool = False
    foreign_state_required: bool = True
    versions: list[str] = field(default_factory=lambda: list(KNOWN_VERSIONS))

    def update(self, data: dict[str, Any]) -> None:
        """Apply ``data`` (any subset); nothing changes when one value is refused."""
        known = {f.name for f in fields(self)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown CorporateMerch settings: {sorted(unknown)}")
        checked = {key: _checked(key, value) for key, value in data.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _checked(key: str, value: Any) -> Any:
    if key == "secondary_line":
        if value not in SECONDARY_LINE_NAMES:
            raise ValueError(f"secondary_line must be one of {SECONDARY_LINE_NAMES}, got {value!r}")
        return value
    if key == "versions":
        if not isinstance(value, list) or not value or any(v not in KNOWN_VERSIONS for v in value):
            raise ValueError(f"versions must be a non-empty list of {KNOWN_VERSIONS}, got {value!r}")
        return list(dict.fromkeys(value))
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value
