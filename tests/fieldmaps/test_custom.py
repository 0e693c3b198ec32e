"""Custom fields line up across CRMs by name, and a user's mapping overrides the match."""

from __future__ import annotations

import pytest

from syncengine.fieldmaps.custom import custom_key, resolve_targets

CANONICAL = ("first_name", "shirt_size", "custom")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Client Since", "client_since"),
        ("contact.client_since", "client_since"),
        ("client-since", "client_since"),
        ("  Shirt  Size ", "shirt_size"),
        ("Größe", "groe"),
    ],
)
def test_names_reduce_to_one_snake_case_key(name: str, key: str) -> None:
    assert custom_key(name) == key


def test_a_name_that_is_a_canonical_field_feeds_that_field_and_others_feed_custom() -> None:
    fields = [("f1", ["Shirt Size"]), ("f2", ["Client Since", "contact.client_since"])]
    assert resolve_targets(fields, CANONICAL) == {"f1": "shirt_size", "f2": "custom.client_since"}


def test_an_override_moves_a_target_to_another_field() -> None:
    fields = [("f1", ["Shirt Size"]), ("f2", ["Tee"])]
    assert resolve_targets(fields, CANONICAL, {"shirt_size": "Tee"}) == {"f2": "shirt_size"}


def test_an_override_naming_a_field_the_catalogue_lacks_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'Jersey'"):
        resolve_targets([("f1", ["Shirt Size"])], CANONICAL, {"shirt_size": "Jersey"})


def test_a_field_whose_name_gives_no_key_is_left_out() -> None:
    assert resolve_targets([("f1", ["???"])], CANONICAL) == {}
