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


def test_names_are_looked_up_as_pairs_then_kept_by_the_callers_test(mirror: Mirror, run_id: int) -> None:
    """A batch naming John Smith and Jane Doe finds neither John Doe nor Jane Smith: the pairs are
    asked together. The caller's test sees each found entity's name and company (or None)."""
    john_smith, john_doe, jane_smith, jose, nameless = mirror.new_entities(5)
    mirror.set_base_many(
        {
            john_smith: {"first_name": "John", "last_name": "Smith", "company": "Acme"},
            john_doe: {"first_name": "John", "last_name": "Doe", "company": "Acme"},
            jane_smith: {"first_name": "Jane", "last_name": "Smith", "company": "Acme"},
            jose: {"first_name": "JOSÉ", "last_name": "ÁLVAREZ"},
            nameless: {"company": "Acme"},
        },
        run_id=run_id,
    )
    seen: list[dict[str, object]] = []

    def anyone(values: dict[str, object]) -> bool:
        seen.append(dict(values))
        return True

    wanted = {("john", "smith"), ("Jane", "Doe"), ("josé", "Álvarez")}
    assert mirror.entities_with_names(wanted, anyone) == {john_smith, jose}
    assert sorted(seen, key=str) == sorted(
        [
            {"first_name": "John", "last_name": "Smith", "company": "Acme"},
            {"first_name": "JOSÉ", "last_name": "ÁLVAREZ", "company": None},
        ],
        key=str,
    )
    assert mirror.entities_with_names(wanted, lambda values: values["company"] == "Acme") == {john_smith}
    assert mirror.entities_with_names(set(), anyone) == set()
