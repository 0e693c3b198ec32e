"""Reading a request's JSON body the way the vendors' JSON parsers do.

Python's ``json`` module is looser than the parsers behind the vendors' APIs (Node's ``JSON.parse``,
Ruby's ``JSON``, PHP's ``json_decode``) in ways that would let a request store a value no answer
can carry: it reads the non-standard literals ``NaN``, ``Infinity`` and ``-Infinity``, turns a
number beyond the double range into ``inf``, and keeps a lone UTF-16 surrogate (``"\\ud800"``) as a
character that cannot be encoded as UTF-8. ``load_json`` refuses the first two and, for the lone
surrogate, either replaces it with U+FFFD (what a UTF-8 store such as MongoDB keeps of one) or
refuses it (PHP's ``json_decode`` fails on it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, Literal

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(ValueError):
    """A body the vendor's parser refuses; ``pos`` is where, as in ``json.JSONDecodeError``."""

    def __init__(self, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.pos = pos


def load_json(raw: bytes | str, *, lone_surrogates: Literal["replace", "refuse"] = "replace") -> Any:
    """The parsed body; raises ``BodyError`` (a ``ValueError``) for anything the vendors refuse."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # UnicodeDecodeError is a ValueError

    def refuse_constant(name: str) -> Any:
        raise BodyError(f"Unexpected token {name[0]} in JSON", text.find(name))

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise BodyError(f"Number out of range in JSON: {number[:20]}", text.find(number))
        return value

    try:
        data = json.loads(text, parse_constant=refuse_constant, parse_float=finite)
    except RecursionError as exc:  # nesting deeper than the parser's stack
        raise BodyError("Nesting too deep in JSON") from exc
    if "\\u" in text and _has_lone_surrogate(data):
        if lone_surrogates == "refuse":
            raise BodyError("Single unpaired UTF-16 surrogate in JSON")
        try:
            data = _replace_lone_surrogates(data)
        except RecursionError as exc:
            raise BodyError("Nesting too deep in JSON") from exc
    return data


def _strings(data: Any) -> Iterator[str]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _has_lone_surrogate(data: Any) -> bool:
    return any(_LONE_SURROGATE.search(s) for s in _strings(data))


def _replace_lone_surrogates(data: Any) -> Any:
    def fix(item: Any) -> Any:
        if isinstance(item, str):
            return _LONE_SURROGATE.sub("\ufffd", item)
        if isinstance(item, dict):
            return {fix(k): fix(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fix(v) for v in item]
        return item

    return fix(data)
