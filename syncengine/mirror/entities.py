"""Entities and the identity map: which record of each system is which real person.

Checks run before the insert so that the caller gets a ``LinkConflictError`` naming both sides and
the transaction stays usable; the table's constraints are the backstop against a concurrent writer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from syncengine.mirror.errors import LinkConflictError, NotFoundError
from syncengine.mirror.models import entities, links
from syncengine.mirror.sql import chunks, ensure_planner_stats, grouped


def new_entities(conn: Connection, count: int, *, now: datetime) -> list[str]:
    """``count`` new entity ids (random hex, so ids never depend on one system's data)."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    if ids:
        conn.execute(insert(entities), [{"id": entity_id, "created_at": now} for entity_id in ids])
    return ids


def link_many(
    conn: Connection, wanted: Iterable[tuple[str, str, str]], *, run_id: int | None, now: datetime
) -> None:
    """Link each (entity_id, system, remote_id). An existing identical link is kept as it is.

    Every check runs before anything is stored, so a failing call stores nothing. Raises
    ``LinkConflictError`` when a record is linked to another entity, an entity would get two
    records of one system, or the input itself asks for either; ``NotFoundError`` for an unknown
    entity.
    """
    by_record: dict[tuple[str, str], str] = {}
    by_slot: dict[tuple[str, str], str] = {}
    for entity_id, system, remote_id in wanted:
        other = by_record.setdefault((system, remote_id), entity_id)
        if other != entity_id:
            raise LinkConflictError(
                f"{system} record {remote_id}: asked to link to entities {other} and {entity_id}"
            )
        taken = by_slot.setdefault((entity_id, system), remote_id)
        if taken != remote_id:
            raise LinkConflictError(
                f"entity {entity_id}: asked to link two {system} records, {taken} and {remote_id}"
            )
    new_rows = _not_yet_linked(conn, by_record)
    _check_slots_free(conn, new_rows)
    _check_entities_exist(conn, {row["entity_id"] for row in new_rows})
    for chunk in chunks(new_rows):
        conn.execute(insert(links), [{**row, "linked_at": now, "run_id": run_id} for row in chunk])


def _not_yet_linked(conn: Connection, by_record: dict[tuple[str, str], str]) -> list[dict[str, str]]:
    """Rows for the wanted links that do not exist yet; a record linked elsewhere raises."""
    new_rows = []
    ensure_planner_stats(conn, links)
    for chunk in chunks(list(by_record.items())):
        existing: dict[tuple[str, str], str] = {}
        # One IN list per system: SQLite does not search an index for a list of (a, b) pairs.
        for system, remote_ids in grouped((system, remote_id) for (system, remote_id), _ in chunk).items():
            query = select(links.c.remote_id, links.c.entity_id).where(
                links.c.system == system, links.c.remote_id.in_(remote_ids)
            )
            existing.update({(system, row.remote_id): row.entity_id for row in conn.execute(query)})
        for (system, remote_id), entity_id in chunk:
            current = existing.get((system, remote_id))
            if current is None:
                new_rows.append({"system": system, "remote_id": remote_id, "entity_id": entity_id})
            elif current != entity_id:
                raise LinkConflictError(
                    f"{system} record {remote_id}: already linked to entity {current}, not {entity_id}; "
                    "unlink it first"
                )
    return new_rows


def _check_slots_free(conn: Connection, new_rows: Sequence[dict[str, str]]) -> None:
    for chunk in chunks(new_rows):
        for system, entity_ids in grouped((row["system"], row["entity_id"]) for row in chunk).items():
            query = select(links.c.entity_id, links.c.system, links.c.remote_id).where(
                links.c.system == system, links.c.entity_id.in_(entity_ids)
            )
            row = conn.execute(query).first()
            if row is None:
                continue
            raise LinkConflictError(
                f"entity {row.entity_id}: already linked to {row.system} record {row.remote_id}; "
                "an entity holds at most one record per system"
            )


def _check_entities_exist(conn: Connection, entity_ids: set[str]) -> None:
    ensure_planner_stats(conn, entities)
    for chunk in chunks(sorted(entity_ids)):
        found = set(conn.scalars(select(entities.c.id).where(entities.c.id.in_(chunk))))
        missing = sorted(set(chunk) - found)
        if missing:
            raise NotFoundError(f"entity {missing[0]}: unknown; create it with new_entity() first")


def unlink(conn: Connection, system: str, remote_id: str) -> str | None:
    """Remove the record's link; returns the entity it was linked to, or None."""
    entity_id = entity_for(conn, system, remote_id)
    if entity_id is not None:
        conn.execute(delete(links).where(links.c.system == system, links.c.remote_id == remote_id))
    return entity_id


def entity_for(conn: Connection, system: str, remote_id: str) -> str | None:
    return conn.scalar(
        select(links.c.entity_id).where(links.c.system == system, links.c.remote_id == remote_id)
    )


def entities_for(conn: Connection, system: str, remote_ids: Sequence[str]) -> dict[str, str]:
    """Entity ids of the linked records among ``remote_ids`` of ``system``, by remote id."""
    found: dict[str, str] = {}
    ensure_planner_stats(conn, links)
    for chunk in chunks(remote_ids):
        query = select(links.c.remote_id, links.c.entity_id).where(
            links.c.system == system, links.c.remote_id.in_(chunk)
        )
        found.update((row.remote_id, row.entity_id) for row in conn.execute(query))
    return found


def links_of(conn: Connection, entity_id: str) -> dict[str, str]:
    """The remote id of the entity's record in each linked system, by system."""
    query = select(links.c.system, links.c.remote_id).where(links.c.entity_id == entity_id)
    return {row.system: row.remote_id for row in conn.execute(query)}


def links_for(conn: Connection, entity_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{entity_id: {system: remote_id}}`` for the given entities that have links."""
    found: dict[str, dict[str, str]] = {}
    for chunk in chunks(sorted(set(entity_ids))):
        query = select(links.c.entity_id, links.c.system, links.c.remote_id).where(
            links.c.entity_id.in_(chunk)
        )
        for row in conn.execute(query):
            found.setdefault(row.entity_id, {})[row.system] = row.remote_id
    return found


def link_counts(conn: Connection) -> dict[str, int]:
    """How many records of each system are linked to an entity."""
    query = select(links.c.system, func.count()).group_by(links.c.system)
    return {system: count for system, count in conn.execute(query)}


def all_links(conn: Connection) -> dict[str, dict[str, str]]:
    """``{entity_id: {system: remote_id}}`` for every linked entity (the identity map at once)."""
    found: dict[str, dict[str, str]] = {}
    for row in conn.execute(select(links.c.entity_id, links.c.system, links.c.remote_id)):
        found.setdefault(row.entity_id, {})[row.system] = row.remote_id
    return found

