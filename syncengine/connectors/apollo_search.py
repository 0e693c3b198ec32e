"""Walking ``POST /contacts/search`` by update time within the pages search shows.

Search has no filter on update times and shows at most 500 pages (apis.md 1.3). A window walks
the matches of its filters newest first down to a floor; when search cannot show them all, it
walks on from the oldest up until the two walks meet.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncengine.connectors.base import RemoteRecord
from syncengine.connectors.errors import ConfigError
from syncengine.connectors.http import HttpClient

SEARCH = "/contacts/search"


def search_body(
    page: int, per_page: int, *, sort_by: str = "contact_updated_at", ascending: bool = False
) -> dict[str, Any]:
    return {"sort_by_field": sort_by, "sort_ascending": ascending, "page": page, "per_page": per_page}


@dataclass
class SearchWalk:
    """Pages of one search; ``to_record`` turns a search item into a record (GET shape)."""

    client: HttpClient
    to_record: Callable[[Any], RemoteRecord]
    page_size: int
    max_pages: int

    def page(self, body: Mapping[str, Any]) -> tuple[list[Any], int]:
        answer = self.client.request_json("POST", SEARCH, json=dict(body), idempotent=True)
        items = answer.get("contacts") if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            raise ConfigError("POST /contacts/search answered without 'contacts'", system="apollo")
        total = (answer.get("pagination") or {}).get("total_entries")
        return items, int(total) if isinstance(total, int) else len(items)

    def window(
        self, filters: Mapping[str, Any], floor: datetime | None, seen: set[str]
    ) -> Generator[RemoteRecord, None, bool]:
        """Yield the matches of ``filters`` updated at or after ``floor``, each once; returns
        whether every one was reached."""
        oldest: datetime | None = None
        reached: set[str] = set()  # distinct records either walk of this window has read
        for page in range(1, self.max_pages + 1):
            items, total = self.page({**filters, **search_body(page, self.page_size)})
            for record in map(self.to_record, items):
                oldest = record.updated_at or oldest
                if _before(record, floor):
                    return True  # older than the cursor: so is every later record
                reached.add(record.remote_id)
                yield from _unseen(record, seen)
            if len(items) < self.page_size or page * self.page_size >= total:
                return True
        for page in range(1, self.max_pages + 1):  # newest first could not reach the end
            items, total = self.page({**filters, **search_body(page, self.page_size, ascending=True)})
            for record in map(self.to_record, items):
                if oldest is not None and record.updated_at is not None and record.updated_at > oldest:
                    return True  # the walks met
                reached.add(record.remote_id)
                if not _before(record, floor):
                    yield from _unseen(record, seen)
            # Two walks that just cover the matches never pass each other's times; counting the
            # distinct records both read tells it, and never when ties put them in one order.
            if len(items) < self.page_size or page * self.page_size >= total or len(reached) >= total:
                return True
        return False


def _before(record: RemoteRecord, floor: datetime | None) -> bool:
    return floor is not None and record.updated_at is not None and record.updated_at < floor


def _unseen(record: RemoteRecord, seen: set[str]) -> Iterator[RemoteRecord]:
    if record.remote_id not in seen:
        seen.add(record.remote_id)
        yield record


def parse_time(value: Any) -> datetime | None:
    """An Apollo timestamp (``...Z`` or ``+00:00``) as aware UTC; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
