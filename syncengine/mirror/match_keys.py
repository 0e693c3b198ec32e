"""Match keys of stored records: which linked records hold an email, a phone, a name and company."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

from sqlalchemy import Connection, delete, exists, insert, select

from syncengine.mirror.models import match_keys
from syncengine.mirror.sql import chunks, grouped


def set_match_keys(conn: Connection, keys: Mapping[tuple[str, str], Iterable[str]]) -> None:
    """Replace the keys of each given ``(system, remote_id)``."""
    by_system = grouped(keys)
    for system, remote_ids in by_system.items():
        for chunk in chunks(remote_ids):
            conn.execute(
                delete(match_keys).where(match_keys.c.system == system, match_keys.c.remote_id.in_(chunk))
            )
    rows: list[dict[str, str]] = [
        {"system": system, "remote_id": remote_id, "key": key}
        for (system, remote_id), held in keys.items()
        for key in sorted(set(held))
    ]
    for batch in chunks(rows):
        conn.execute(insert(match_keys), batch)


def records_with_keys(conn: Connection, keys: Collection[str]) -> set[tuple[str, str]]:
    """``(system, remote_id)`` of the records holding one of ``keys``."""
    found: set[tuple[str, str]] = set()
    for chunk in chunks(sorted(keys)):
        query = select(match_keys.c.system, match_keys.c.remote_id).where(match_keys.c.key.in_(chunk))
        found.update((row.system, row.remote_id) for row in conn.execute(query))
    return found


def has_match_keys(conn: Connection) -> bool:
    return bool(conn.scalar(select(exists().select_from(match_keys))))


def keys_of_records(conn: Connection, refs: Collection[tuple[str, str]]) -> set[str]:
    """The keys stored for the records ``(system, remote_id)``."""
    by_system = grouped(refs)
    found: set[str] = set()
    for system, remote_ids in by_system.items():
        for chunk in chunks(remote_ids):
            query = select(match_keys.c.key).where(
                match_keys.c.system == system, match_keys.c.remote_id.in_(chunk)
            )
            found.update(conn.scalars(query))
    return found


def keys_by_record(conn: Connection, refs: Collection[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """The keys stored for each of the records ``(system, remote_id)`` that has any."""
    by_system = grouped(refs)
    found: dict[tuple[str, str], set[str]] = {}
    for system, remote_ids in by_system.items():
        for chunk in chunks(remote_ids):
            query = select(match_keys.c.remote_id, match_keys.c.key).where(
                match_keys.c.system == system, match_keys.c.remote_id.in_(chunk)
            )
            for row in conn.execute(query):
                found.setdefault((system, row.remote_id), set()).add(row.key)
    return found


def rows_by_key(conn: Connection) -> Iterator[tuple[str, str, str]]:
    """Every stored ``(key, system, remote_id)``, in key order, read a page at a time."""
    query = select(match_keys.c.key, match_keys.c.system, match_keys.c.remote_id).order_by(match_keys.c.key)
    for row in conn.execution_options(yield_per=5000).execute(query):
        yield row.key, row.system, row.remote_id
