"""Finding a contact the way a person names it: by entity id prefix, email or first and last name.

Emails are looked up in the agreed (base) values and in the records' match keys, names in the base
values, both through the mirror's indexes: a lookup reads only the entities that hold the words
asked for, never every contact.
"""

from __future__ import annotations

import re

from syncengine.mirror import Mirror

_ID_PREFIX = re.compile(r"[0-9a-f]{1,32}")  # entity ids are uuid4 hex


def find_entities(mirror: Mirror, query: str) -> list[str]:
    """Entities whose id starts with ``query``, whose email is ``query``, or whose first and last
    name are its words (case ignored; one word: a first or a last name)."""
    text = " ".join(query.split())
    if not text:
        return []
    if "@" in text:
        # The base may lack an email the systems disagree on: each record's own is a match key too.
        records = mirror.records_with_match_keys({f"email:{text.casefold()}"})
        linked = {mirror.entity_for(system, remote_id) for system, remote_id in records}
        found = mirror.entities_with_values({"email": {text}}) | {e for e in linked if e is not None}
        return sorted(found)
    found = _by_name(mirror, text.split(" "))
    if _ID_PREFIX.fullmatch(text.lower()):
        found |= {e for e in mirror.all_links() if e.startswith(text.lower())}
    return sorted(found)


def _by_name(mirror: Mirror, words: list[str]) -> set[str]:
    if len(words) == 1:
        return mirror.entities_with_values({"first_name": {words[0]}, "last_name": {words[0]}})
    found: set[str] = set()
    for cut in range(1, len(words)):  # "Mary Ann Smith": Mary + Ann Smith, Mary Ann + Smith
        first = mirror.entities_with_values({"first_name": {" ".join(words[:cut])}})
        if first:
            found |= first & mirror.entities_with_values({"last_name": {" ".join(words[cut:])}})
    return found
