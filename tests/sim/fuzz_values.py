"""Arbitrary JSON values and the structure-aware malformation of generated requests.

Schema-driven negative cases rarely put a wrong type *inside* a valid body (an object where a
custom field's id goes), which is where handlers trip. ``malform`` replaces one value at any depth
of a request's JSON body, or one query parameter, with an arbitrary value: JSON of every kind,
including lone UTF-16 surrogates, and strings that fool ``str.isdigit`` or number parsing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

TRICKY_STRINGS = (
    "",
    " ",
    "²",
    "١٢",
    "-1",
    "0",
    "1e400",
    "9" * 30,
    "\ud800",
    "NaN",
    "null",
    "true",
    "{}",
    "a@b",
    "Z",
)
TEXT = st.one_of(
    st.sampled_from(TRICKY_STRINGS),
    st.text(st.characters(exclude_categories=()), max_size=12),  # surrogates included
)
# A URL carries UTF-8, which has no lone surrogates.
QUERY_TEXT = st.one_of(st.sampled_from([t for t in TRICKY_STRINGS if t != "\ud800"]), st.text(max_size=12))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON value, the whole value (``()``) first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


def with_value(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with the position ``path`` holding ``new``."""
    if not path:
        return new
    out = copy.deepcopy(value)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return out


def malform(request: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The request (``requests`` keywords) with maybe one value of its JSON body or one query
    parameter replaced, as drawn from ``data``."""
    choice = data.draw(st.sampled_from(["keep", "body", "query"]), label="malform")
    body, query = request.get("json"), request.get("params")
    if choice == "body" and isinstance(body, dict | list):
        path = data.draw(st.sampled_from(list(json_paths(body))), label="at")
        return {**request, "json": with_value(body, path, data.draw(JSON_VALUES, label="value"))}
    if choice == "query" and isinstance(query, dict) and query:
        name = data.draw(st.sampled_from(sorted(query)), label="parameter")
        return {**request, "params": {**query, name: data.draw(QUERY_TEXT, label="text")}}
    return request
