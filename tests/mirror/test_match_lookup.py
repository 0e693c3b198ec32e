"""Finding the entities a new record could match without reading every base (SQLite and PostgreSQL)."""

from __future__ import annotations

from syncengine.mirror import Mirror


def test_entities_are_found_by_any_casing_of_a_value(mirror: Mirror, run_id: int) -> None:
    ada, jose, other = mirror.new_entities(3)
    mirror.set_base_many(
        {
            ada: {"email": "Ada@Example.com", "phone": "+15125550147", "last_name": "Lovelace"},
            jose: {"email": "jose@example.com", "last_name": "ÁLVAREZ"},
            other: {"email": "someone@example.com", "last_name": "Lovelace-Byron"},
        },
        run_id=run_id,
    )

    assert mirror.entities_with_values({"email": {"ada@example.com"}}) == {ada}
    assert mirror.entities_with_values({"phone": {"+15125550147"}}) == {ada}
    assert mirror.entities_with_values({"last_name": {"álvarez"}}) == {jose}
    assert mirror.entities_with_values({"last_name": {"Álvarez"}, "email": {"nobody@x.com"}}) == {jose}
    assert mirror.entities_with_values({"phone": {"ada@example.com"}}) == set()  # field by field
    assert mirror.entities_with_values({}) == set()
