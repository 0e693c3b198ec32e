"""Normalisers per kind: the forms each accepts, what it rejects and why, and idempotence."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.canonical import FIELDS, InvalidValueError, normalize, normalize_record
from syncengine.match import Candidate, EntityKeys, match
from syncengine.regions import known_country_codes, subdivision_codes
from syncengine.rules import Rules
from syncengine.sim.emails import is_address, is_email
from tests.strategies import canonical_values, national_phone_forms, raw_values


def _reason(field: str, raw: object, **kw: object) -> str:
    with pytest.raises(InvalidValueError) as info:
        normalize(field, raw, **kw)
    return info.value.reason


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ada  ", "Ada"),
        ("Ada \t\n Lovelace", "Ada Lovelace"),
        ("Jose\u0301", "Jos\u00e9"),  # decomposed accent composed (NFC)
        ("Mary\u00a0Ann", "Mary Ann"),  # no-break space is whitespace too
        (78701, "78701"),
    ],
)
def test_text_is_nfc_stripped_and_collapsed(raw: object, expected: str) -> None:
    assert normalize("first_name", raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_blank_text_is_none(raw: object) -> None:
    assert normalize("company", raw) is None


def test_text_rejects_a_list() -> None:
    assert "expected text" in _reason("city", ["Austin"])


# --------------------------------------------------------------------------- email


def test_email_is_stripped_and_lower_cased() -> None:
    assert normalize("email", "  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("ada.example.com", "@-sign"),
        ("ada@localhost", "period"),
        ("a b@example.com", "invalid characters"),
        (f"ada@{'b' * 64}.test", "periods cannot be separated"),  # a special-use TLD keeps the limits
    ],
)
def test_invalid_email_names_the_library_reason(raw: str, fragment: str) -> None:
    assert fragment in _reason("email", raw)


@pytest.mark.parametrize(
    "raw",
    ["Name@Company.TEST", "ops@printer.local", "ada@service.onion", "ada@box.localhost", "ada@x.invalid"],
)
def test_an_email_on_a_special_use_domain_is_an_address(raw: str) -> None:
    """Every CRM takes these (LeadConnector's validator.js isEmail has no special-use list); only
    email-validator would refuse them."""
    value = normalize("email", raw)
    assert value == raw.lower()
    assert normalize("email", value) == value


def test_a_record_with_an_email_on_a_test_domain_is_matched_and_copied() -> None:
    record = normalize_record({"email": "Name@Company.test", "first_name": "Ada"})
    assert record.invalid == {}
    assert record.values["email"] == "name@company.test"
    known = [EntityKeys("e1", frozenset({"apollo"}), [record.values])]
    result = match(known, [Candidate("leadconnector", "l1", {"email": "name@company.test"})], Rules())
    assert [(link.entity_id, link.key) for link in result.links] == [("e1", "email")]


_LOCAL_PARTS = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True)
_SPECIAL_USE_ADDRESSES = st.builds(
    lambda local, host, tld: f"{local}@{host}.{tld}",
    _LOCAL_PARTS,
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["test", "local", "localhost", "onion", "invalid", "arpa", "com", "io"]),
)


@given(st.one_of(st.emails(), _SPECIAL_USE_ADDRESSES))
def test_an_address_every_crm_accepts_is_never_refused(address: str) -> None:
    """The simulators' rules: LeadConnector's validator.js isEmail, Apollo's and CorporateMerch's
    email-validator syntax without the special-use refusal. What all of them take, the engine takes."""
    if is_email(address) and is_address(address):
        assert normalize("email", address) == unicodedata.normalize("NFC", address.strip().lower())


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "raw", ["(512) 555-0147", "512-555-0147", "+1 512 555 0147", "512.555.0147", "+15125550147", 5125550147]
)
def test_us_phone_formats_become_e164(raw: object) -> None:
    assert normalize("phone", raw) == "+15125550147"


def test_international_phone_keeps_its_country_code() -> None:
    assert normalize("phone_mobile", "+49 30 1234 5678") == "+493012345678"


def test_national_phone_is_read_in_the_record_country() -> None:
    assert normalize("phone", "030 12345678", country="DE") == "+493012345678"


def test_national_phone_without_country_uses_default_region() -> None:
    assert normalize("phone", "020 7946 0123", default_region="GB") == "+442079460123"


@pytest.mark.parametrize("raw", ["12", "555-555-0149", "+1 000 000 0000", "call me"])
def test_impossible_phone_is_invalid(raw: str) -> None:
    assert "phone number" in _reason("phone", raw)


def test_national_phone_in_a_country_without_numbering_plan_is_invalid() -> None:
    assert "no country code" in _reason("phone", "512 5550", country="AN")


def test_phone_extension_is_invalid_rather_than_dropped() -> None:
    assert "extension" in _reason("phone", "512-555-0147 ext. 12")


# --------------------------------------------------------------------------- country


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("us", "US"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Vietnam", "VN"),
        ("Kosovo", "XK"),
        ("Netherlands Antilles", "AN"),
        ("Federal Republic of Germany", "DE"),  # official name
        ("Côte d'Ivoire", "CI"),
        ("cote divoire", "CI"),
        ("Iran", "IR"),  # short form of "Iran, Islamic Republic of"
    ],
)
def test_country_from_code_name_or_alias(raw: str, expected: str) -> None:
    assert normalize("country", raw) == expected


@pytest.mark.parametrize("raw", ["Atlantis", "Korea", "ZZ"])
def test_unknown_or_ambiguous_country_is_invalid(raw: str) -> None:
    assert "unknown country" in _reason("country", raw)


def test_every_country_code_maps_to_itself() -> None:
    codes = known_country_codes()
    assert {"XK", "AN", "US", "BL"} <= codes
    assert {code: normalize("country", code) for code in codes} == {code: code for code in codes}


# --------------------------------------------------------------------------- region


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("California", "US", "CA"),
        ("ca", "US", "CA"),
        ("District of Columbia", "US", "DC"),
        ("Washington, D.C.", "US", "DC"),
        ("Quebec", "CA", "QC"),
        ("Québec", "CA", "QC"),
        ("British Columbia", "Canada", "BC"),
        ("US-TX", "United States", "TX"),
    ],
)
def test_us_and_ca_regions_become_codes(raw: str, country: str, expected: str) -> None:
    assert normalize("region", raw, country=country) == expected


def test_region_of_other_country_is_text() -> None:
    assert normalize("region", "  North Rhine-Westphalia ", country="DE") == "North Rhine-Westphalia"


def test_region_without_country_is_text() -> None:
    assert normalize("region", "California") == "California"


def test_unknown_us_region_is_invalid() -> None:
    assert "unknown US state" in _reason("region", "Atlantis", country="US")


def test_every_subdivision_code_maps_to_itself() -> None:
    for country in ("US", "CA"):
        codes = subdivision_codes(country)
        assert {c: normalize("region", c, country=country) for c in codes} == {c: c for c in codes}


# --------------------------------------------------------------------------- date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1990-03-05", "1990-03-05"),
        ("2024-09-12T20:14:53.134Z", "2024-09-12"),
        ("2018-06-26T16:30:35.000+00:00", "2018-06-26"),
        ("2024-01-01T01:00:00+05:00", "2023-12-31"),  # the UTC date
        ("3/5/1990", "1990-03-05"),  # month first
        ("March 5, 1990", "1990-03-05"),
        ("5 Mar 1990", "1990-03-05"),
        ("05.03.1990", "1990-03-05"),  # dotted dates are day first
        ("638668800000", "1990-03-29"),  # epoch milliseconds as text
        (date(1990, 3, 5), "1990-03-05"),
        (datetime(1990, 3, 5, 23, 0), "1990-03-05"),
        (638668800000, "1990-03-29"),  # epoch milliseconds
    ],
)
def test_date_forms_become_iso(raw: object, expected: str) -> None:
    assert normalize("date_of_birth", raw) == expected


@pytest.mark.parametrize("raw", ["2023-02-30", "13/45/2020", "not a date"])
def test_impossible_date_is_invalid(raw: str) -> None:
    assert "not a valid date" in _reason("anniversary", raw)


@pytest.mark.parametrize("raw", ["March 1990", "12/31"])
def test_incomplete_date_is_invalid(raw: str) -> None:
    assert "incomplete date" in _reason("start_date", raw)


# --------------------------------------------------------------------------- set


def test_set_members_deduplicated_ignoring_case_and_sorted() -> None:
    assert normalize("tags", ["vip", " Returning ", "VIP", "alpha  one"]) == ["alpha one", "Returning", "vip"]


def test_set_keeps_first_spelling() -> None:
    assert normalize("lists", ["Partners", "partners"]) == ["Partners"]


def test_set_from_comma_separated_string() -> None:
    assert normalize("tags", "vip, returning,") == ["returning", "vip"]


def test_set_of_blank_members_is_none() -> None:
    assert normalize("tags", ["", "  "]) is None


def test_set_rejects_a_nested_member() -> None:
    assert "member" in _reason("tags", ["ok", ["nested"]])


# --------------------------------------------------------------------------- map


def test_map_values_normalised_blanks_dropped_keys_sorted() -> None:
    value = normalize("custom", {"since": " 2021 ", "empty": "", "rating": 4.5, "vip": True})
    assert list(value.items()) == [("rating", "4.5"), ("since", "2021"), ("vip", "true")]


def test_map_of_blanks_is_none() -> None:
    assert normalize("custom", {"a": "", "b": None}) is None


def test_map_rejects_nested_value() -> None:
    assert "'a'" in _reason("custom", {"a": {"b": "c"}})


# --------------------------------------------------------------------------- enum


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("s", "SM"), ("Small", "SM"), ("M", "MD"), ("medium", "MD"), ("L", "LG"), ("Large", "LG")],
        *[("xl", "XL"), ("X-Large", "XL"), ("XXL", "2XL"), ("2xl", "2XL"), ("xxxl", "3XL"), ("xs", "XS")],
    ],
)
def test_shirt_size_spellings(raw: str, expected: str) -> None:
    assert normalize("shirt_size", raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("M", "male"), ("f", "female"), ("Female", "female")])
def test_gender_spellings(raw: str, expected: str) -> None:
    assert normalize("gender", raw) == expected


def test_contact_type_ignores_case() -> None:
    assert normalize("contact_type", " Employee ") == "employee"


def test_unknown_enum_value_names_the_choices() -> None:
    assert "employee, client" in _reason("contact_type", "lead")


# --------------------------------------------------------------------------- url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "http://example.com"),
        ("example.com/", "http://example.com"),
        ("HTTPS://WWW.Example.com/About/?Q=1", "https://www.example.com/About/?Q=1"),
        ("https://example.com/", "https://example.com"),
        ("ftp://files.example.org/a", "ftp://files.example.org/a"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
    ],
)
def test_url_scheme_and_host_lowered_scheme_kept(raw: str, expected: str) -> None:
    assert normalize("website", raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [("http://intranet", "invalid host"), ("bad_host!.com", "invalid host"), ("my site.com", "spaces")],
)
def test_invalid_url_is_invalid(raw: str, fragment: str) -> None:
    assert fragment in _reason("website", raw)


# --------------------------------------------------------------------------- properties


def _accepted(field: str, raw: object, country: str | None) -> object:
    try:
        return normalize(field, raw, country=country)
    except InvalidValueError:
        return None


@pytest.mark.parametrize("field", list(FIELDS))
@given(data=st.data())
def test_normaliser_is_idempotent(field: str, data: st.DataObject) -> None:
    country = data.draw(st.one_of(st.none(), st.sampled_from(["US", "CA", "DE", "GB"])), label="country")
    once = _accepted(field, data.draw(raw_values(field), label="raw"), country)
    if once is not None:
        assert normalize(field, once, country=country) == once


@pytest.mark.parametrize("field", list(FIELDS))
@given(data=st.data())
def test_canonical_values_are_fixed_points(field: str, data: st.DataObject) -> None:
    country = data.draw(st.one_of(st.none(), st.sampled_from(["US", "CA", "FR"])), label="country")
    value = data.draw(canonical_values(field, country=country), label="value")
    assert normalize(field, value, country=country) == value


@given(data=st.data())
def test_national_phone_forms_read_back_in_their_region(data: st.DataObject) -> None:
    e164 = data.draw(canonical_values("phone"))
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    form = data.draw(st.sampled_from(national_phone_forms(e164)))
    assert normalize("phone", form, country=region) == e164


_HOSTILE = [
    "\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\x00", "\x07", "\x1b", "\x7f", "\x9b",
]


@pytest.mark.parametrize("char", _HOSTILE)
@pytest.mark.parametrize("field", ["first_name", "email", "phone", "country", "website", "tags", "custom"])
def test_a_control_or_bidi_character_is_refused_and_shown_escaped(field: str, char: str) -> None:
    text = {"email": "ada@example.com", "phone": "+15125550147", "country": "US",
            "website": "example.com"}.get(field, "Ada")  # fmt: skip
    spiked = text[:1] + char + text[1:]
    value = [spiked] if field == "tags" else {"note": spiked} if field == "custom" else spiked

    with pytest.raises(InvalidValueError) as caught:
        normalize(field, value)

    assert f"U+{ord(char):04X}" in caught.value.reason and char not in str(caught.value)


def test_tabs_and_line_breaks_are_whitespace_not_controls() -> None:
    assert normalize("first_name", "Ada\tLove\r\nlace\n") == "Ada Love lace"
