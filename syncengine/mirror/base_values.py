"""The merge base: per entity and canonical field, the last value every linked system agreed on."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, func, select, type_coerce

from syncengine.mirror import jsoncodec
from syncengine.mirror.models import base_values
from syncengine.mirror.sql import chunks, ensure_planner_stats, upsert_insert


def get_base(conn: Connection, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{entity_id: {field: value}}`` for each asked entity; an entity without a base maps to ``{}``."""
    found: dict[str, dict[str, Any]] = {entity_id: {} for entity_id in entity_ids}
    ensure_planner_stats(conn, base_values)
    for chunk in chunks(list(found)):
        query = select(base_values.c.entity_id, base_values.c.field, base_values.c.value).where(
            base_values.c.entity_id.in_(chunk)
        )
        for row in conn.execute(query):
            found[row.entity_id][row.field] = row.value
    return found


def entities_with_values(conn: Connection, wanted: Mapping[str, Collection[str]]) -> set[str]:
    """Entities whose base holds, in one of the fields named, one of the given text values
    (compared lower-cased): the few entities a batch of new records could match, found without
    reading every entity's base."""
    found: set[str] = set()
    text = func.lower(type_coerce(base_values.c.value, Text))
    for field, values in wanted.items():
        forms = {form for v in values for form in _lowered_forms(v)}
        encoded = sorted(jsoncodec.dumps(form, what="match key") for form in forms)
        for chunk in chunks(encoded):
            query = select(base_values.c.entity_id).where(base_values.c.field == field, text.in_(chunk))
            found.update(row.entity_id for row in conn.execute(query))
    return found


NAME_FORMS = 20_000  # lowered forms of first and last names asked in one statement


def entities_with_names(
    conn: Connection, names: Collection[tuple[str, str]], keep: Callable[[Mapping[str, Any]], bool]
) -> set[str]:
    """Entities whose base holds one of the ``(first name, last name)`` pairs (lower-cased) and
    whose first name, last name and company ``keep`` takes. The pairs are asked together, not
    every first name with every last name: a few thousand new records name most first and most
    last names in an account, but few of its people."""
    found: set[str] = set()
    first, last, company = base_values.alias("first"), base_values.alias("last"), base_values.alias("company")
    first_text = func.lower(type_coerce(first.c.value, Text))
    last_text = func.lower(type_coerce(last.c.value, Text))
    columns = (
        first.c.entity_id, first_text.label("first"), last_text.label("last"),
        first.c.value.label("first_name"), last.c.value.label("last_name"), company.c.value.label("company"),
    )  # fmt: skip
    query = (
        select(*columns)
        .join(last, and_(last.c.entity_id == first.c.entity_id, last.c.field == "last_name"))
        .outerjoin(company, and_(company.c.entity_id == first.c.entity_id, company.c.field == "company"))
    )
    wanted: set[tuple[str, str]] = set()
    firsts: set[str] = set()
    lasts: set[str] = set()

    def ask() -> None:
        asked = query.where(
            first.c.field == "first_name", first_text.in_(sorted(firsts)), last_text.in_(sorted(lasts))
        )
        for row in conn.execute(asked):
            if (row.first, row.last) in wanted and keep(
                {"first_name": row.first_name, "last_name": row.last_name, "company": row.company}
            ):
                found.add(row.entity_id)
        for held in (wanted, firsts, lasts):
            held.clear()

    for given, family in sorted(names):
        given_forms = {jsoncodec.dumps(f, what="match key") for f in _lowered_forms(given)}
        family_forms = {jsoncodec.dumps(f, what="match key") for f in _lowered_forms(family)}
        wanted.update((g, f) for g in given_forms for f in family_forms)
        firsts.update(given_forms)
        lasts.update(family_forms)
        if len(firsts) + len(lasts) >= NAME_FORMS:
            ask()
    if wanted:
        ask()
    return found


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lowered_forms(value: str) -> set[str]:
    """What SQL ``lower()`` may make of the ways ``value`` can be cased: SQLite lowers ASCII only,
    PostgreSQL every letter, so "ÁLVAREZ" stored is found from "álvarez" asked on both."""
    cased = {value, value.lower(), value.upper(), value.casefold(), value.title(), value.capitalize()}
    return {v.translate(_ASCII_LOWER) for v in cased} | {v.lower() for v in cased}


def set_base_many(
    conn: Connection, values: Mapping[str, Mapping[str, Any]], *, run_id: int | None, now: datetime
) -> None:
    """Store ``{entity_id: {field: value}}``; fields not mentioned keep their base."""
    rows = []
    for entity_id, fields in values.items():
        for field, value in fields.items():
            # Checked here so the error names the entity and field, not a column.
            jsoncodec.dumps(value, what=f"base of entity {entity_id}: field {field}", field=field)
            rows.append(
                {"entity_id": entity_id, "field": field, "value": value, "updated_at": now, "run_id": run_id}
            )
    stmt = upsert_insert(conn, base_values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[base_values.c.entity_id, base_values.c.field],
        set_={name: stmt.excluded[name] for name in ("value", "updated_at", "run_id")},
    )
    for chunk in chunks(rows):
        conn.execute(stmt, chunk)
