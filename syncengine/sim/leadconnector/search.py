"""``POST /contacts/search``: request checks, filters, sorting and the two paging modes.

Modelled on the search index behind the endpoint: ``page`` paging is an offset that may reach at
most 10,000 records (``page * pageLimit``), while the ``searchAfter`` cursor (the sort values of
the last hit, dates as epoch ms, then the id) pages without limit. Ties are broken by id.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse

from syncengine.sim.leadconnector.shapes import full_name, get_shape, search_shape, sort_value
from syncengine.sim.leadconnector.values import ValidationError, normalize_phone

if TYPE_CHECKING:
    from syncengine.sim.leadconnector.store import ContactStore

MAX_PAGE_LIMIT = 500
MAX_PAGE_WINDOW = 10_000
MAX_TEXT = 75

TEXT_FIELDS = {
    "id": "id", "firstName": "firstName", "lastName": "lastName", "email": "email", "phone": "phone",
    "companyName": "companyName", "address": "address1", "city": "city", "state": "state",
    "postalCode": "postalCode", "country": "country", "website": "website", "source": "source",
    "type": "type", "assignedTo": "assignedTo", "timezone": "timezone",
}  # fmt: skip
DATE_FIELDS = frozenset({"dateAdded", "dateUpdated", "dateOfBirth"})
SORT_FIELDS = frozenset({"dateAdded", "dateUpdated"})
DEFAULT_SORT = (("dateAdded", "desc"),)
_TEXT_OPS = frozenset({"eq", "not_eq", "contains", "not_contains", "exists", "not_exists"})
_DATE_OPS = frozenset({"eq", "not_eq", "range", "exists", "not_exists"})
_BOOL_OPS = frozenset({"eq", "not_eq", "exists", "not_exists"})
_RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})

Predicate = Callable[[dict[str, Any]], bool]


class PagingError(ValueError):
    """A paging request the index refuses (400), e.g. ``page`` beyond the 10,000-record window."""


@dataclass(frozen=True)
class SearchRequest:
    location_id: str
    page_limit: int
    page: int | None
    search_after: tuple[Any, ...] | None
    match: Predicate
    sort: tuple[tuple[str, str], ...]
    asked: str = ""  # filters and query as sent: which hits ``match`` selects


@dataclass(frozen=True)
class SearchResult:
    contacts: list[dict[str, Any]]
    total: int


def parse_search(body: Any) -> SearchRequest:
    """Check a search body; raises ``ValidationError`` (422) or ``PagingError`` (400)."""
    if not isinstance(body, dict):
        raise ValidationError(["request body must be a JSON object"])
    errors: list[str] = []
    known = {"locationId", "pageLimit", "page", "searchAfter", "filters", "sort", "query"}
    errors += [f"property {key} should not exist" for key in body if key not in known]
    location_id = body.get("locationId")
    if not isinstance(location_id, str) or not location_id:
        errors.append("locationId should not be empty")
    page_limit = body.get("pageLimit")
    if not _is_int(page_limit):
        errors.append("pageLimit must be a number conforming to the specified constraints")
    elif page_limit < 1:
        errors.append("pageLimit must not be less than 1")
    elif page_limit > MAX_PAGE_LIMIT:
        errors.append(f"pageLimit must not be greater than {MAX_PAGE_LIMIT}")
    page = body.get("page")
    if page is not None and (not _is_int(page) or page < 1):
        errors.append("page must be a positive integer")
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_TEXT):
        errors.append(f"query must be a string shorter than or equal to {MAX_TEXT} characters")
    sort = _parse_sort(body.get("sort"), errors)
    after = _parse_search_after(body.get("searchAfter"), sort, errors)
    if page is not None and after is not None:
        errors.append("page and searchAfter cannot be used together")
    predicates = [_parse_filters(body.get("filters", []), "AND", "filters", errors)]
    if isinstance(query, str) and query.strip():
        predicates.append(_full_text(query))
    if errors:
        raise ValidationError(errors)
    if page is not None and page * page_limit > MAX_PAGE_WINDOW:
        raise PagingError(
            f"page * pageLimit must not exceed {MAX_PAGE_WINDOW}; use searchAfter to read further"
        )
    return SearchRequest(
        location_id=location_id,
        page_limit=page_limit,
        page=page,
        search_after=after,
        match=lambda record: all(p(record) for p in predicates),
        sort=sort,
        asked=json.dumps([body.get("filters", []), query], sort_keys=True, default=str),
    )


def run_search(request: SearchRequest, store: ContactStore) -> SearchResult:
    """The page of the stored contacts, as the lagging index sees them, the request asks for."""

    def build() -> tuple[list[Any], list[Any]]:
        hits = (r for r in store.indexed() if request.match(r))
        keyed = sorted(((_sort_key(r, request.sort), r) for r in hits), key=lambda kr: kr[0])
        return keyed, [k for k, _ in keyed]

    keyed, keys = store.searches.get((request.asked, request.sort), store.search_revision(), build)
    if request.search_after is not None:
        start = bisect.bisect_right(keys, _cursor_key(request.search_after, request.sort))
    else:
        start = ((request.page or 1) - 1) * request.page_limit
    page = keyed[start : start + request.page_limit]
    contacts = [search_shape(r, [sort_value(r, f) for f, _ in request.sort] + [r["id"]]) for _, r in page]
    return SearchResult(contacts=contacts, total=len(keyed))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_one_of(value: Any, choices: frozenset[str]) -> bool:
    # JSON objects and arrays are unhashable: test the type before the membership.
    return isinstance(value, str) and value in choices


def _sort_key(record: dict[str, Any], sort: tuple[tuple[str, str], ...]) -> tuple[Any, ...]:
    values = [sort_value(record, f) * (-1 if d == "desc" else 1) for f, d in sort]
    return (*values, record["id"])


def _cursor_key(after: tuple[Any, ...], sort: tuple[tuple[str, str], ...]) -> tuple[Any, ...]:
    values = [int(v) * (-1 if d == "desc" else 1) for v, (_, d) in zip(after, sort, strict=False)]
    return (*values, after[-1])


def _parse_sort(raw: Any, errors: list[str]) -> tuple[tuple[str, str], ...]:
    if raw is None or raw == []:
        return DEFAULT_SORT
    if not isinstance(raw, list):
        errors.append("sort must be an array")
        return DEFAULT_SORT
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not _is_one_of(item.get("field"), SORT_FIELDS):
            field = item.get("field") if isinstance(item, dict) else item
            errors.append(f"sort.{i}.field {field!r} is not sortable; use one of {sorted(SORT_FIELDS)}")
        elif item.get("direction", "asc") not in ("asc", "desc"):
            errors.append(f"sort.{i}.direction must be one of the following values: asc, desc")
        else:
            out.append((item["field"], item.get("direction", "asc")))
    return tuple(out) or DEFAULT_SORT


def _parse_search_after(
    raw: Any, sort: tuple[tuple[str, str], ...], errors: list[str]
) -> tuple[Any, ...] | None:
    if raw is None:
        return None
    ok = (
        isinstance(raw, list)
        and len(raw) == len(sort) + 1
        and all(_is_int(v) for v in raw[:-1])
        and isinstance(raw[-1], str)
    )
    if not ok:
        errors.append(
            "searchAfter must be the searchAfter value of a previous hit: "
            f"{len(sort)} sort value(s) in epoch ms followed by the contact id"
        )
        return None
    return tuple(raw)


def _parse_filters(raw: Any, group: str, where: str, errors: list[str]) -> Predicate:
    if not isinstance(raw, list):
        errors.append(f"{where} must be an array")
        return lambda record: True
    parts = [_parse_filter(item, f"{where}.{i}", errors) for i, item in enumerate(raw)]
    if group == "OR":
        return lambda record: any(p(record) for p in parts)
    return lambda record: all(p(record) for p in parts)


def _parse_filter(item: Any, where: str, errors: list[str]) -> Predicate:
    if not isinstance(item, dict):
        errors.append(f"{where} must be an object")
        return lambda record: True
    if "group" in item:
        if item["group"] not in ("AND", "OR"):
            errors.append(f"{where}.group must be one of the following values: AND, OR")
        return _parse_filters(item.get("filters"), item["group"], f"{where}.filters", errors)
    field, op, value = item.get("field"), item.get("operator"), item.get("value")
    if not isinstance(field, str):
        errors.append(f"{where}.field {field!r} is not a searchable field")
        return lambda record: True
    if field in TEXT_FIELDS:
        allowed, build = _TEXT_OPS, _text_predicate
    elif field == "tags":
        allowed, build = _TEXT_OPS, _tags_predicate
    elif field in DATE_FIELDS:
        allowed, build = _DATE_OPS, _date_predicate
    elif field == "dnd":
        allowed, build = _BOOL_OPS, _bool_predicate
    else:
        errors.append(f"{where}.field {field!r} is not a searchable field")
        return lambda record: True
    if not _is_one_of(op, allowed):
        errors.append(f"{where}.operator {op!r} is not supported for {field}; use one of {sorted(allowed)}")
        return lambda record: True
    if op in ("exists", "not_exists"):
        if value is not None:
            errors.append(f"{where}.value must be omitted for {op}")
        return _exists_predicate(field, op == "exists")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        errors.append(f"{where}.value must be shorter than or equal to {MAX_TEXT} characters")
        return lambda record: True
    try:
        return build(field, op, value)
    except (TypeError, ValueError, OverflowError) as exc:
        errors.append(f"{where}.value {exc}")
        return lambda record: True


def _field_value(record: dict[str, Any], field: str) -> Any:
    return record.get(TEXT_FIELDS.get(field, field))


def _exists_predicate(field: str, wanted: bool) -> Predicate:
    def present(record: dict[str, Any]) -> bool:
        value = _field_value(record, field)
        return value not in (None, "", [])

    return lambda record: present(record) is wanted


def _text_predicate(field: str, op: str, value: Any) -> Predicate:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    wanted = value.lower()
    if field == "phone" and op in ("eq", "not_eq"):
        with contextlib.suppress(ValueError):  # a value that is no phone number is compared as text
            wanted = normalize_phone(value).lower()

    def test(record: dict[str, Any]) -> bool:
        have = (_field_value(record, field) or "").lower()
        return have == wanted if op in ("eq", "not_eq") else wanted in have

    if op.startswith("not_"):
        return lambda record: not test(record)
    return test


def _tags_predicate(field: str, op: str, value: Any) -> Predicate:
    wanted = [value] if isinstance(value, str) else value
    if not isinstance(wanted, list) or not wanted or not all(isinstance(v, str) for v in wanted):
        raise TypeError("must be a string or an array of strings")
    wanted = [v.lower() for v in wanted]

    def test(record: dict[str, Any]) -> bool:
        tags = [t.lower() for t in record.get("tags") or []]
        if op in ("eq", "not_eq"):
            return any(w in tags for w in wanted)
        return any(w in t for w in wanted for t in tags)

    if op.startswith("not_"):
        return lambda record: not test(record)
    return test


def parse_instant(value: Any) -> int:
    """A date filter value (ISO string or epoch ms) as epoch ms; zone-less times are UTC."""
    if isinstance(value, bool):
        raise TypeError("must be an ISO date string or epoch milliseconds")
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        raise TypeError("must be an ISO date string or epoch milliseconds")
    try:
        parsed = isoparse(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return int(parsed.astimezone(UTC).timestamp() * 1000)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59-23:59 lies past year 9999 in UTC
        raise ValueError(f"{value!r} is not a representable date") from exc


def _date_predicate(field: str, op: str, value: Any) -> Predicate:
    if op == "range":
        if not isinstance(value, dict) or not value or set(value) - _RANGE_KEYS:
            raise TypeError("must be an object with gt, gte, lt and/or lte")
        bounds = {k: parse_instant(v) for k, v in value.items()}

        def in_range(record: dict[str, Any]) -> bool:
            if not record.get(field):
                return False
            ms = sort_value(record, field)
            return (
                ms > bounds.get("gt", ms - 1)
                and ms >= bounds.get("gte", ms)
                and ms < bounds.get("lt", ms + 1)
                and ms <= bounds.get("lte", ms)
            )

        return in_range
    wanted = parse_instant(value)
    if op == "eq":
        return lambda record: bool(record.get(field)) and sort_value(record, field) == wanted
    return lambda record: not record.get(field) or sort_value(record, field) != wanted


def _bool_predicate(field: str, op: str, value: Any) -> Predicate:
    if not isinstance(value, bool):
        raise TypeError("must be a boolean")
    if op == "eq":
        return lambda record: bool(record.get(field)) is value
    return lambda record: bool(record.get(field)) is not value


def _full_text(query: str) -> Predicate:
    words = query.lower().split()

    def test(record: dict[str, Any]) -> bool:
        text = " ".join(
            str(v)
            for v in (full_name(record), record.get("email"), record.get("phone"), record.get("companyName"))
            if v
        ).lower()
        return all(w in text for w in words)

    return test


# ---------------------------------------------------------------------------- deprecated list


MAX_LIST_LIMIT = 100
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also takes "²", which int() refuses


def run_list(query: dict[str, str], records: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    """``GET /contacts/`` (deprecated): oldest first, cursor = (``startAfter`` ms, ``startAfterId``)."""
    errors = []
    limit = query.get("limit", "20")
    if not _DIGITS.fullmatch(limit) or not 1 <= int(limit) <= MAX_LIST_LIMIT:
        errors.append(f"limit must be a number between 1 and {MAX_LIST_LIMIT}")
    after_ms = query.get("startAfter")
    if after_ms is not None and not _DIGITS.fullmatch(after_ms):
        errors.append("startAfter must be a number conforming to the specified constraints")
    words = query.get("query", "")
    if errors:
        raise ValidationError(errors)
    hits = [r for r in records if not words or _full_text(words)(r)]
    keyed = sorted(((sort_value(r, "dateAdded"), r["id"]), r) for r in hits)
    start = 0
    if after_ms is not None:
        cursor = (int(after_ms), query.get("startAfterId", ""))
        start = bisect.bisect_right([k for k, _ in keyed], cursor)
    page = [r for _, r in keyed[start : start + int(limit)]]
    meta: dict[str, Any] = {"total": len(hits), "nextPageUrl": None, "startAfterId": None, "startAfter": None}
    if page and start + len(page) < len(keyed):
        last = page[-1]
        meta.update(startAfterId=last["id"], startAfter=sort_value(last, "dateAdded"))
        meta["nextPageUrl"] = (
            f"{base_url}/contacts/?locationId={query['locationId']}&startAfter={meta['startAfter']}"
            f"&startAfterId={last['id']}&limit={limit}"
        )
    return {"contacts": [get_shape(r) for r in page], "count": len(page), "meta": meta}
