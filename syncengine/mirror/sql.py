"""Small SQL helpers shared by the mirror's query modules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# Rows per executemany call and ids per IN (...) list: well under SQLite's 32,766 bound parameters
# and PostgreSQL's 65,535, large enough that per-statement overhead does not show.
CHUNK_SIZE = 2000


def chunks(items: Iterable[T], size: int = CHUNK_SIZE) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, without reading ahead more than one list."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Second items grouped by first, in order: ``(system, remote_id)`` pairs by system."""
    result: dict[str, list[str]] = {}
    for first, second in pairs:
        result.setdefault(first, []).append(second)
    return result


def upsert_insert(conn: Connection, table: Table) -> Any:
    """An INSERT for ``table`` that supports ``on_conflict_do_update`` on this connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def ensure_planner_stats(conn: Connection, table: Table) -> None:
    """On PostgreSQL, ANALYZE ``table`` if it was never analyzed.

    Without statistics the planner takes ``key IN (2,000 ids)`` to match the whole table and scans
    instead of probing the primary key, which makes a first bulk import quadratic. Once analyzed it
    knows the key is unique; autovacuum keeps the figures current after that.
    """
    if conn.dialect.name != "postgresql":
        return
    query = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)")
    tuples = conn.scalar(query, {"name": table.name})
    if tuples is not None and tuples <= 0:
        conn.execute(text(f"ANALYZE {table.name}"))
