"""Column types that behave the same on SQLite and PostgreSQL.

* ``UTCDateTime``: aware datetimes in, UTC-aware datetimes out. PostgreSQL stores ``timestamptz``;
  SQLite, which has no time type, stores fixed-width ISO-8601 text in UTC, so text order is time
  order and comparisons in SQL stay correct. A naive datetime is refused rather than guessed.
* ``JSONValue``: any JSON value as canonical text. Text (not ``jsonb``) keeps numbers, key order
  of the canonical form and ``\\u0000`` escapes exactly as given, and ``None`` is stored as JSON
  ``null``, distinct from a missing row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from syncengine.mirror import jsoncodec
from syncengine.mirror.errors import MirrorValueError


def require_utc(value: datetime, what: str, field: str | None = None) -> datetime:
    """``value`` converted to UTC; a naive datetime raises ``MirrorValueError`` naming ``what``."""
    if not isinstance(value, datetime):
        raise MirrorValueError(f"{what}: expected a datetime, got {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise MirrorValueError(
            f"{what}: datetime {value.isoformat()} has no time zone; give it one", field=field
        )
    return value.astimezone(UTC)


def driver_time(value: datetime, dialect_name: str) -> Any:
    """A UTC datetime (see ``require_utc``) as the driver stores it: ISO text for SQLite, the
    datetime itself elsewhere."""
    return value.isoformat(timespec="microseconds") if dialect_name == "sqlite" else value


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time; see the module docstring."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        return None if value is None else driver_time(require_utc(value, "datetime column"), dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


class JSONValue(TypeDecorator[Any]):
    """Any JSON value, stored as canonical JSON text; see the module docstring."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        return jsoncodec.dumps(value, what="JSON column")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else jsoncodec.loads(value)
