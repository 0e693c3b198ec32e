"""The canonical contact: its fields, records, blanks, errors and comparison keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.canonical import (
    FIELDS,
    SET_FIELDS,
    Canonical,
    Invalid,
    InvalidValueError,
    Kind,
    is_blank,
    key,
    normalize,
    normalize_record,
    same,
)
from tests.strategies import canonical_records, canonical_values, hostile_values, raw_records

# --------------------------------------------------------------------------- fields

EXPECTED_KINDS = {
    **dict.fromkeys(["first_name", "last_name"], Kind.TEXT),
    "email": Kind.EMAIL,
    **dict.fromkeys(["phone", "phone_mobile", "phone_corporate", "phone_home", "phone_other"], Kind.PHONE),
    **dict.fromkeys(
        ["company", "title", "department", "employment_type", "street", "unit", "city", "postal_code"],
        Kind.TEXT,
    ),
    **dict.fromkeys(["time_zone", "stage", "owner", "source"], Kind.TEXT),
    "website": Kind.URL,
    "region": Kind.REGION,
    "country": Kind.COUNTRY,
    **dict.fromkeys(["date_of_birth", "anniversary", "start_date"], Kind.DATE),
    **dict.fromkeys(["tags", "lists"], Kind.SET),
    "custom": Kind.MAP,
    **dict.fromkeys(["contact_type", "shirt_size", "gender"], Kind.ENUM),
}


def test_fields_have_their_kinds() -> None:
    assert {name: f.kind for name, f in FIELDS.items()} == EXPECTED_KINDS


def test_every_field_has_a_label_and_its_own_name() -> None:
    assert all(f.label and f.name == name for name, f in FIELDS.items())


def test_enum_choices() -> None:
    assert FIELDS["contact_type"].choices == ("employee", "client")
    assert FIELDS["shirt_size"].choices == ("XS", "SM", "MD", "LG", "XL", "2XL", "3XL")
    assert FIELDS["gender"].choices == ("male", "female")


def test_set_fields_are_tags_and_lists() -> None:
    assert frozenset({"tags", "lists"}) == SET_FIELDS


# --------------------------------------------------------------------------- normalize


def test_unknown_field_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'nickname'"):
        normalize("nickname", "Bob")


def test_invalid_value_error_names_field_and_reason() -> None:
    with pytest.raises(InvalidValueError) as info:
        normalize("shirt_size", "huge")
    error = info.value
    assert (error.field, error.raw) == ("shirt_size", "huge")
    assert str(error) == f"shirt_size: {error.reason}"


def test_unreadable_country_context_reads_phone_in_default_region() -> None:
    assert normalize("phone", "512-555-0147", country="Atlantis") == "+15125550147"


# --------------------------------------------------------------------------- is_blank


@pytest.mark.parametrize("value", [None, "", "  \t", [], (), {}, set()])
def test_blank_values(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize("value", ["x", 0, ["a"], {"k": "v"}, False])
def test_non_blank_values(value: object) -> None:
    assert not is_blank(value)


# --------------------------------------------------------------------------- normalize_record


def test_record_reads_region_and_phone_in_its_country_whatever_the_key_order() -> None:
    record = normalize_record({"phone": "030 12345678", "region": "Ontario", "country": "Germany"})
    assert record.values == {"phone": "+493012345678", "region": "Ontario", "country": "DE"}
    record = normalize_record({"region": "Ontario", "phone": "(416) 555-0199", "country": "canada"})
    assert record.values == {"phone": "+14165550199", "region": "ON", "country": "CA"}


def test_record_keeps_invalid_value_raw_and_reports_it() -> None:
    record = normalize_record({"email": "ada(at)example.com", "first_name": "Ada"})
    assert record.values == {"first_name": "Ada", "email": "ada(at)example.com"}
    assert set(record.invalid) == {"email"}
    assert record.invalid["email"].raw == "ada(at)example.com"
    assert "@-sign" in record.invalid["email"].reason


def test_record_leaves_blanks_out() -> None:
    assert normalize_record({"first_name": " ", "tags": [], "city": None}) == Canonical(values={}, invalid={})


def test_record_values_come_in_display_order() -> None:
    record = normalize_record({"tags": ["a"], "country": "US", "first_name": "Ada"})
    assert list(record.values) == ["first_name", "country", "tags"]


def test_record_with_unknown_keys_is_a_value_error_naming_them() -> None:
    with pytest.raises(ValueError, match="nickname, zodiac"):
        normalize_record({"first_name": "Ada", "zodiac": "Leo", "nickname": "A"})


def test_region_invalid_for_its_country_is_kept_raw() -> None:
    record = normalize_record({"region": "Bavaria", "country": "US"})
    assert record.values["region"] == "Bavaria"
    assert record.invalid["region"] == Invalid("region", "Bavaria", record.invalid["region"].reason)


@given(raw_records())
def test_record_never_drops_a_value(raw: dict[str, object]) -> None:
    record = normalize_record(raw)
    country = record.values.get("country") if "country" not in record.invalid else None
    for name, value in raw.items():
        if name in record.invalid:
            assert record.values[name] is value
        else:
            assert record.values.get(name) == normalize(name, value, country=country)


@given(raw_records())
def test_record_normalisation_is_idempotent(raw: dict[str, object]) -> None:
    once = normalize_record(raw)
    valid = {name: value for name, value in once.values.items() if name not in once.invalid}
    assert normalize_record(valid).values == valid


@given(canonical_records())
def test_canonical_records_normalise_to_themselves(record: dict[str, object]) -> None:
    assert normalize_record(record) == Canonical(values=record, invalid={})


# --------------------------------------------------------------------------- key and same


def test_emails_compare_ignoring_case() -> None:
    assert same("email", "Ada@Example.com", "ada@example.com")


def test_sets_compare_ignoring_case_and_order() -> None:
    assert same("tags", ["VIP", "returning"], ["Returning", "vip"])


def test_sets_with_different_members_differ() -> None:
    assert not same("tags", ["vip"], ["vip", "new"])


def test_enums_compare_ignoring_case() -> None:
    assert same("shirt_size", "xl", "XL")


def test_text_compares_exactly() -> None:
    assert not same("last_name", "McDonald", "Mcdonald")


def test_none_equals_any_blank() -> None:
    assert same("tags", None, [])
    assert same("city", None, "  ")
    assert key("custom", {}) is None


def test_maps_compare_regardless_of_key_order() -> None:
    assert same("custom", {"a": "1", "b": "2"}, {"b": "2", "a": "1"})


def test_raw_invalid_values_still_have_keys() -> None:
    assert not same("tags", [["nested"]], ["nested"])
    assert same("custom", {"a": {"b": ["c"]}}, {"a": {"b": ["c"]}})


def _variant(value: object) -> st.SearchStrategy[object]:
    """The value itself or a case/order variant of it (same for case-insensitive fields)."""
    if isinstance(value, str):
        return st.sampled_from([value, value.upper(), value.lower(), value.swapcase()])
    if isinstance(value, list):
        return st.permutations(value).map(lambda members: [m.swapcase() for m in members])
    return st.just(value)


@pytest.mark.parametrize("field", list(FIELDS))
@given(data=st.data())
def test_same_is_an_equivalence(field: str, data: st.DataObject) -> None:
    values = st.one_of(st.none(), canonical_values(field))
    a = data.draw(values, label="a")
    b = data.draw(st.one_of(values, _variant(a)), label="b")
    c = data.draw(st.one_of(values, _variant(b), _variant(a)), label="c")
    assert same(field, a, a)
    assert same(field, a, b) == same(field, b, a)
    if same(field, a, b) and same(field, b, c):
        assert same(field, a, c)


_HOSTILE_FIELDS = list(FIELDS)


@given(st.sampled_from(_HOSTILE_FIELDS).flatmap(lambda name: st.tuples(st.just(name), hostile_values(name))))
def test_a_value_with_a_control_or_bidi_character_is_reported_escaped_and_the_others_kept(
    drawn: tuple[str, object],
) -> None:
    name, value = drawn
    other = "title" if name != "title" else "company"

    canonical = normalize_record({name: value, other: "Engineer"})

    assert name in canonical.invalid and canonical.invalid[name].raw == value
    assert canonical.values[other] == "Engineer" and other not in canonical.invalid
    reason = canonical.invalid[name].reason
    assert reason.isprintable(), reason  # escaped: nothing in it reorders or controls a terminal
