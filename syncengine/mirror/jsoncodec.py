"""Canonical JSON text for every JSON value the mirror stores, and the content hash of records.

One serialisation for everything: keys sorted, no spaces, non-ASCII kept readable. The same value
always gives the same text, so the hash of a record's raw JSON only changes when its data does.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from syncengine.mirror.errors import MirrorValueError


def dumps(value: Any, *, what: str, field: str | None = None) -> str:
    """Canonical JSON text of ``value``; ``what`` names the record and field for an error, which
    carries ``field``.

    Text that UTF-8 cannot encode (a lone surrogate from a ``\\ud800`` escape in an API reply) is
    kept as ASCII escapes instead of failing, so such a value still round-trips exactly.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MirrorValueError(f"{what}: not storable as JSON ({exc})", field=field) from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text


def loads(text: str) -> Any:
    """The value of canonical JSON text read back from the database."""
    return json.loads(text)


def pack(text: str) -> bytes:
    """A record's canonical JSON text as stored: zlib at its fastest level. A contact's JSON is
    mostly key names and repeated words, so this halves it (Apollo's 2.3 KB become about 1.1 KB)
    for some 20 µs; the state file is most of all these records."""
    return zlib.compress(text.encode("utf-8"), 1)


def unpack(data: bytes) -> Any:
    """The value of a record stored by ``pack``."""
    return json.loads(zlib.decompress(data))


def content_hash(text: str) -> str:
    """Hex digest identifying a record's content (128-bit BLAKE2b of its canonical JSON text).

    Text that ``dumps`` produced always encodes to UTF-8."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
