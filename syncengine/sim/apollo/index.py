"""Lookups the Apollo simulator answers on every write, kept current instead of recomputed.

Each create or update answers with its lists' ``cached_count`` and, with ``run_dedupe``, looks
for a contact with the same email or name. Scanning every contact for that made a write cost
grow with the account, so 100,000 contacts took the simulator hours. The index holds, per live
contact, what those lookups read (emails, name, list ids) and is told of every write
(``ContactStore.changed``). Lookups re-check each candidate against the record itself, so an
entry left over from an older value can never produce a wrong match.

``revision`` moves with every write, so a search can reuse its sorted result while it holds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def emails_of(record: dict[str, Any]) -> set[str]:
    emails = {e.get("email", "").lower() for e in record["contact_emails"] if isinstance(e, dict)}
    if record["email"]:
        emails.add(record["email"].lower())
    return emails


def name_key(record: dict[str, Any]) -> str:
    return (record["name"] or "").lower()


class ContactIndex:
    def __init__(self) -> None:
        self.revision = 0
        self._order: dict[str, int] = {}  # contact id -> position in the store (documented match order)
        self._keys: dict[str, tuple[frozenset[str], str, tuple[str, ...]]] = {}
        self._by_email: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}
        self._label_counts: Counter[str] = Counter()

    def clear(self) -> None:
        revision = self.revision
        self.__init__()  # type: ignore[misc]
        self.revision = revision + 1  # never back to a revision a cached search was built at

    def put(self, record: dict[str, Any], *, live: bool) -> None:
        """Take the record's current values (or drop it, when it is no longer live)."""
        contact_id = record["id"]
        self.revision += 1
        self._order.setdefault(contact_id, len(self._order))
        old = self._keys.pop(contact_id, None)
        if old is not None:
            self._label_counts.subtract(old[2])
            for email in old[0]:
                self._by_email.get(email, set()).discard(contact_id)
            self._by_name.get(old[1], set()).discard(contact_id)
        if not live:
            return
        keys = (frozenset(emails_of(record)), name_key(record), tuple(dict.fromkeys(record["label_ids"])))
        self._keys[contact_id] = keys
        self._label_counts.update(keys[2])
        for email in keys[0]:
            self._by_email.setdefault(email, set()).add(contact_id)
        self._by_name.setdefault(keys[1], set()).add(contact_id)

    def with_email(self, email: str) -> list[str]:
        return self._ordered(self._by_email.get(email.lower(), ()))

    def with_name(self, name: str) -> list[str]:
        return self._ordered(self._by_name.get(name.lower(), ()))

    def label_count(self, label_id: str) -> int:
        return self._label_counts[label_id]

    def _ordered(self, ids: Any) -> list[str]:
        return sorted(ids, key=self._order.__getitem__)
