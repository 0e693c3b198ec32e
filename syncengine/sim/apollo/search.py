"""``POST /contacts/search``: filters, sorting and pages of the team's saved contacts.

Documented [SPEC, SEED 001]: ``q_keywords``, ``contact_stage_ids`` and ``contact_label_ids`` (OR
within each), ``sort_by_field`` (five values) with ``sort_ascending`` (default false, ignored
without ``sort_by_field``), 1-based ``page``, ``per_page`` (25 when absent, as in the legacy
example) capped at 100, and a display limit of 500 pages. No filter on ``updated_at`` exists.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from syncengine.sim.apollo.shapes import search_item
from syncengine.sim.apollo.store import ContactStore
from syncengine.sim.apollo.values import unprocessable
from syncengine.sim.core import parse_iso

SORT_FIELDS = {
    "contact_last_activity_date": "last_activity_date",
    "contact_email_last_opened_at": "email_last_opened_at",  # not kept by the simulator: all null
    "contact_email_last_clicked_at": "email_last_clicked_at",
    "contact_created_at": "created_at",
    "contact_updated_at": "updated_at",
}
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGES = 500
PARTIAL_RESULTS_LIMIT = 10_000
_INTEGER = re.compile(r"-?[0-9]+")  # str.isdigit() also takes "²", which int() refuses
PAGE_TOO_HIGH = "The page parameter must be at most 500: search displays up to 50,000 records."


@dataclass(frozen=True)
class SearchQuery:
    keywords: str | None
    stage_ids: tuple[str, ...]
    label_ids: tuple[str, ...]
    sort_by: str | None
    ascending: bool
    page: int
    per_page: int


def parse_search(body: dict[str, Any]) -> SearchQuery:
    keywords = body.get("q_keywords")
    sort_by = body.get("sort_by_field")
    return SearchQuery(
        keywords=(keywords.strip() or None) if isinstance(keywords, str) else None,
        stage_ids=_ids(body.get("contact_stage_ids")),
        label_ids=_ids(body.get("contact_label_ids")),
        sort_by=sort_by if isinstance(sort_by, str) and sort_by in SORT_FIELDS else None,
        ascending=body.get("sort_ascending") is True or str(body.get("sort_ascending")).lower() == "true",
        page=max(_integer(body.get("page"), 1), 1),
        per_page=min(max(_integer(body.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE),
    )


def run_search(query: SearchQuery, store: ContactStore, *, page_cap: str) -> dict[str, Any]:
    """The documented response envelope for one page; ``page_cap`` is ``clip`` or ``refuse``."""
    if query.page > MAX_PAGES and page_cap == "refuse":
        raise unprocessable(PAGE_TOO_HIGH)
    asked = (query.keywords, query.stage_ids, query.label_ids, query.sort_by, query.ascending)
    matches = store.searches.get(
        asked,
        store.index.revision,
        lambda: _sorted([r for r in store.live_records() if _matches(r, query)], query),
    )
    total_pages = math.ceil(len(matches) / query.per_page)
    start = (query.page - 1) * query.per_page
    page = [] if query.page > MAX_PAGES else matches[start : start + query.per_page]
    return {
        "contacts": [search_item(r, store.catalogues) for r in page],
        "breadcrumbs": _breadcrumbs(query, store),
        "partial_results_only": False,
        "has_join": False,
        "disable_eu_prospecting": False,
        "partial_results_limit": PARTIAL_RESULTS_LIMIT,
        "pagination": {
            "page": query.page,
            "per_page": query.per_page,
            "total_entries": len(matches),
            "total_pages": min(total_pages, MAX_PAGES),
        },
        "num_fetch_result": None,
    }


def _matches(record: dict[str, Any], query: SearchQuery) -> bool:
    if query.stage_ids and record["contact_stage_id"] not in query.stage_ids:
        return False
    if query.label_ids and not set(query.label_ids) & set(record["label_ids"]):
        return False
    if query.keywords:
        emails = [e.get("email") for e in record["contact_emails"] if isinstance(e, dict)]
        text = " ".join(
            str(v)
            for v in (record["name"], record["title"], record["organization_name"], record["email"], *emails)
            if v
        ).lower()
        return all(word in text for word in query.keywords.lower().split())
    return True


def _sorted(records: list[dict[str, Any]], query: SearchQuery) -> list[dict[str, Any]]:
    """Sorted by the asked field (newest first unless ascending; no value last), ties by id.

    Without ``sort_by_field`` the order is newest created first and ``sort_ascending`` is ignored.
    """
    key = SORT_FIELDS[query.sort_by] if query.sort_by else "created_at"
    ascending = query.ascending if query.sort_by else False
    by_id = sorted(records, key=lambda r: r["id"])
    present = [r for r in by_id if r.get(key)]
    missing = [r for r in by_id if not r.get(key)]
    present.sort(key=lambda r: parse_iso(r[key]), reverse=not ascending)
    return present + missing


def _breadcrumbs(query: SearchQuery, store: ContactStore) -> list[dict[str, Any]]:
    crumbs = []
    if query.keywords:
        crumbs.append(
            {
                "label": "Contains Keywords",
                "signal_field_name": "q_keywords",
                "value": query.keywords,
                "display_name": query.keywords,
            }
        )
    for stage_id in query.stage_ids:
        stage = store.catalogues.stages.get(stage_id)
        crumbs.append(
            {
                "label": "Contact Stage",
                "signal_field_name": "contact_stage_ids",
                "value": stage_id,
                "display_name": stage["name"] if stage else "[Deleted Stage]",
            }
        )
    for label_id in query.label_ids:
        label = store.catalogues.labels.get(label_id)
        crumbs.append(
            {
                "label": "Lists",
                "signal_field_name": "contact_label_ids",
                "value": label_id,
                "display_name": label["name"] if label else "[Deleted List]",
            }
        )
    return crumbs


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str) and v)


def _integer(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return default
