"""Values and strategies shared by the mirror tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Pulled:
    """A pulled record as a connector yields it (the shape of ``RemoteRecord``)."""

    remote_id: str
    raw: Any
    updated_at: datetime | None = None


def contact(remote_id: str, **fields: Any) -> Pulled:
    raw = {"id": remote_id, "first_name": "Ada", "email": f"{remote_id}@example.com", **fields}
    return Pulled(remote_id=remote_id, raw=raw, updated_at=START)


class FakeClock:
    """UTC time that a test moves by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# Any JSON value: what a base value, a payload or a conflict side may hold.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


def raw_engine(target: str) -> Any:
    """A plain SQLAlchemy engine on the test database, bypassing the mirror's checks."""
    from sqlalchemy import create_engine

    if "://" in target:
        return create_engine(target.replace("postgresql://", "postgresql+psycopg://", 1))
    return create_engine(f"sqlite:///{target}")
