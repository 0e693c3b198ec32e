"""Every hypothesis strategy of the project, one section per subject.

Canonical contact
    ``raw_values(field)``       messy values a CRM or a person may hold for a canonical field
    ``canonical_values(field)`` values already in canonical form (``normalize`` returns them unchanged)
    ``canonical_records()``     whole canonical records (dicts of canonical values, blanks left out)
    ``hostile_values(field)``   canonical values with a control or bidi character slipped in
    ``over_long_text(limit)``   text longer than a system documents

Sizes are bounded so that property tests stay fast at hypothesis' default example count.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import phonenumbers
import pycountry
from hypothesis import strategies as st

from syncengine.canonical import ENUM_ALIASES, FIELDS, Kind
from syncengine.regions import CODED_REGION_COUNTRIES, COUNTRY_ALIASES, known_country_codes, subdivision_codes

# =========================================================================== canonical contact

# --------------------------------------------------------------------------- building blocks

# Assigned, visible characters of any script: no control, format, private-use or surrogate code points.
_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp", "Zs"))
_WHITESPACE = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u2003", " \r\n "])
_WORD = st.text(_CHARS, min_size=1, max_size=8)


def _padded(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``inner`` with optional whitespace around it, as copied-and-pasted values have."""
    pad = st.one_of(st.just(""), _WHITESPACE)
    return st.tuples(pad, inner, pad).map("".join)


def _any_case(text: str) -> st.SearchStrategy[str]:
    """``text`` with each letter's case drawn at random."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=True))
    )


def _recased(choices: Iterable[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(choices)).flatmap(_any_case)


_BLANKS = st.sampled_from([None, "", "   ", "\t\n"])

# --------------------------------------------------------------------------- text


def _canonical_text(max_words: int = 4) -> st.SearchStrategy[str]:
    words = st.lists(_WORD, min_size=1, max_size=max_words)
    return words.map(lambda ws: unicodedata.normalize("NFC", " ".join(ws)))


def _raw_text() -> st.SearchStrategy[Any]:
    messy = st.lists(st.one_of(_WORD, _WHITESPACE), max_size=8).map("".join)
    decomposed = _canonical_text().map(lambda t: unicodedata.normalize("NFD", t))
    return st.one_of(messy, decomposed, _padded(_canonical_text()), st.integers(0, 99999), _BLANKS)


# --------------------------------------------------------------------------- email

_LOCAL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_LOCAL_PART = st.lists(_LOCAL, min_size=1, max_size=3).map(".".join)
_DOMAIN = st.tuples(
    st.lists(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8), min_size=1, max_size=2),
    st.sampled_from(["com", "org", "net", "de", "co.uk", "io"]),
).map(lambda parts: ".".join([*parts[0], parts[1]]))
_CANONICAL_EMAIL = st.tuples(_LOCAL_PART, st.sampled_from(["", "+crm"]), _DOMAIN).map(
    lambda p: f"{p[0]}{p[1]}@{p[2]}"
)


def _raw_email() -> st.SearchStrategy[Any]:
    recased = _CANONICAL_EMAIL.flatmap(_any_case)
    junk = st.text(_CHARS, max_size=12)
    return st.one_of(_padded(recased), junk, _BLANKS)


# --------------------------------------------------------------------------- phone

# Area codes that phonenumbers holds valid with a 555 exchange (as the simulators' sample data use).
_NANP_AREAS = ("212", "202", "305", "312", "415", "416", "512", "604", "617", "713", "808", "907")


@st.composite
def _phone_parts(draw: st.DrawFn) -> tuple[str, str]:
    """(E.164, national format the number's own region reads) of a valid number."""
    kind = draw(st.sampled_from(["nanp", "gb", "de", "example"]))
    line = draw(st.integers(0, 9999))
    if kind == "nanp":
        e164 = f"+1{draw(st.sampled_from(_NANP_AREAS))}555{line:04d}"
    elif kind == "gb":
        e164 = f"+44207946{line:04d}"
    elif kind == "de":
        e164 = f"+49305550{line:04d}"
    else:
        region = draw(st.sampled_from(["FR", "JP", "AU", "BR", "IN", "MX", "NL", "CH", "ZA", "SE"]))
        number = phonenumbers.example_number(region)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.region_code_for_number(phonenumbers.parse(e164))


_CANONICAL_PHONE = _phone_parts().map(lambda parts: parts[0])


def _typed_forms(e164: str) -> list[str]:
    """The ways people type ``e164``; each reads back without a region."""
    number = phonenumbers.parse(e164)
    forms = [e164, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)]
    if e164.startswith("+1"):
        area, exchange, line = e164[2:5], e164[5:8], e164[8:]
        forms += [
            f"+1 ({area}) {exchange}-{line}",
            f"+1.{area}.{exchange}.{line}",
            f"001 {area} {exchange} {line}",
        ]
    return forms


def national_phone_forms(e164: str) -> list[str]:
    """Ways to type ``e164`` without its country code (read in the number's own region)."""
    number = phonenumbers.parse(e164)
    forms = [phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)]
    if e164.startswith("+1"):
        area, exchange, line = e164[2:5], e164[5:8], e164[8:]
        forms += [f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}", f"{area}{exchange}{line}"]
    return forms


def _raw_phone() -> st.SearchStrategy[Any]:
    typed = _CANONICAL_PHONE.flatmap(lambda e164: st.sampled_from(_typed_forms(e164)))
    national = _CANONICAL_PHONE.flatmap(lambda e164: st.sampled_from(national_phone_forms(e164)))
    digits = st.text("0123456789 -().+", max_size=16)
    return st.one_of(_padded(typed), national, digits, _BLANKS)


# --------------------------------------------------------------------------- country and region

_COUNTRY_CODES = sorted(known_country_codes())


def _country_spellings() -> list[str]:
    names: set[str] = set(COUNTRY_ALIASES)
    for country in pycountry.countries:
        names.update({country.alpha_3, country.name, getattr(country, "common_name", country.name)})
    return sorted(names)


_COUNTRY_SPELLINGS = _country_spellings()


def _raw_country() -> st.SearchStrategy[Any]:
    spelled = st.one_of(_recased(_COUNTRY_CODES), _recased(_COUNTRY_SPELLINGS))
    return st.one_of(_padded(spelled), st.text(_CHARS, max_size=10), _BLANKS)


def _subdivision_names(country: str) -> list[str]:
    return sorted(s.name for s in pycountry.subdivisions.get(country_code=country))


def _raw_region() -> st.SearchStrategy[Any]:
    coded = st.sampled_from(sorted(CODED_REGION_COUNTRIES))
    spelled = coded.flatmap(
        lambda c: st.one_of(_recased(subdivision_codes(c)), _recased(_subdivision_names(c)))
    )
    return st.one_of(_padded(spelled), _raw_text())


def canonical_regions(country: str | None) -> st.SearchStrategy[str]:
    """A canonical region for a record of ``country``: a code for US/CA, text elsewhere."""
    if country in CODED_REGION_COUNTRIES:
        return st.sampled_from(sorted(subdivision_codes(country)))
    return _canonical_text(max_words=3)


# --------------------------------------------------------------------------- date

_DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def _raw_date(draw: st.DrawFn) -> Any:
    day = draw(_DATES)
    style = draw(st.integers(0, 7))
    if style == 0:
        return day.isoformat()
    if style == 1:
        return day.strftime("%m/%d/%Y")
    if style == 2:
        return day.strftime("%B %d, %Y")
    if style == 3:
        return day.strftime("%d %b %Y")
    if style == 4:
        return day
    moment = datetime.combine(day, draw(st.times()), tzinfo=UTC)
    if style == 5:
        offset = timezone(timedelta(hours=draw(st.integers(-12, 14))))
        return moment.astimezone(offset).isoformat()
    if style == 6:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return int(moment.timestamp() * 1000)  # epoch ms


def _raw_dates() -> st.SearchStrategy[Any]:
    typed = _raw_date().filter(lambda v: isinstance(v, str))
    junk = st.one_of(st.text(_CHARS, max_size=10), st.text("0123456789/-. ", max_size=12))
    return st.one_of(_padded(typed), _raw_date(), junk, _BLANKS)


# --------------------------------------------------------------------------- set and map


@st.composite
def _canonical_set(draw: st.DrawFn) -> list[str]:
    members = draw(
        st.lists(_canonical_text(max_words=2).filter(lambda m: "," not in m), min_size=1, max_size=5)
    )
    unique: dict[str, str] = {}
    for member in members:
        unique.setdefault(member.casefold(), member)
    return sorted(unique.values(), key=lambda m: (m.casefold(), m))


@st.composite
def _raw_set(draw: st.DrawFn) -> Any:
    members = draw(st.lists(st.one_of(_raw_text(), _canonical_text().flatmap(_any_case)), max_size=6))
    members = [m for m in members if not isinstance(m, str) or "," not in m]
    shape = draw(st.sampled_from(["list", "tuple", "string"]))
    if shape == "string":
        return ", ".join(str(m) for m in members if m is not None)
    return tuple(members) if shape == "tuple" else members


_MAP_KEYS = st.text(string.ascii_lowercase + "_", min_size=1, max_size=10)


def _canonical_map() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(_MAP_KEYS, _canonical_text(max_words=3), min_size=1, max_size=4).map(
        lambda d: dict(sorted(d.items()))
    )


def _raw_map() -> st.SearchStrategy[Any]:
    values = st.one_of(_raw_text(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False))
    return st.one_of(st.dictionaries(_MAP_KEYS, values, max_size=4), st.just({}), st.none())


# --------------------------------------------------------------------------- enum and url


def _raw_enum(field: str) -> st.SearchStrategy[Any]:
    spellings = set(FIELDS[field].choices) | set(ENUM_ALIASES.get(field, {}))
    return st.one_of(_padded(_recased(spellings)), st.text(_CHARS, max_size=6), _BLANKS)


_HOSTS = st.tuples(
    st.sampled_from(["", "www.", "shop."]),
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10),
    st.sampled_from(["com", "org", "de", "co.uk", "io"]),
).map(lambda p: f"{p[0]}{p[1]}.{p[2]}")
_PATHS = st.sampled_from(["", "/about", "/en/Team", "/a/b?x=1", "/p#Top"])


def _canonical_url() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["http", "https"]), _HOSTS, _PATHS).map(
        lambda p: f"{p[0]}://{p[1]}{p[2]}"
    )


@st.composite
def _raw_url(draw: st.DrawFn) -> Any:
    host = draw(_HOSTS.flatmap(_any_case))
    scheme = draw(st.sampled_from(["", "http://", "https://", "HTTPS://", "Http://"]))
    path = draw(st.sampled_from(["", "/", "/about", "/en/Team/", "/?q=1"]))
    return draw(st.one_of(_padded(st.just(f"{scheme}{host}{path}")), st.text(_CHARS, max_size=12), _BLANKS))


# --------------------------------------------------------------------------- per field


def raw_values(field: str) -> st.SearchStrategy[Any]:
    """Messy values of ``field`` as a CRM or a person may hold them, valid or not, blanks included."""
    kind = FIELDS[field].kind
    match kind:
        case Kind.TEXT:
            return _raw_text()
        case Kind.EMAIL:
            return _raw_email()
        case Kind.PHONE:
            return _raw_phone()
        case Kind.COUNTRY:
            return _raw_country()
        case Kind.REGION:
            return _raw_region()
        case Kind.DATE:
            return _raw_dates()
        case Kind.SET:
            return _raw_set()
        case Kind.MAP:
            return _raw_map()
        case Kind.ENUM:
            return _raw_enum(field)
        case Kind.URL:
            return _raw_url()
    raise AssertionError(f"no strategy for kind {kind}")


def canonical_values(field: str, *, country: str | None = None) -> st.SearchStrategy[Any]:
    """Values of ``field`` already in canonical form (never blank); ``country`` shapes regions."""
    kind = FIELDS[field].kind
    match kind:
        case Kind.TEXT:
            return _canonical_text()
        case Kind.EMAIL:
            return _CANONICAL_EMAIL
        case Kind.PHONE:
            return _CANONICAL_PHONE
        case Kind.COUNTRY:
            return st.sampled_from(_COUNTRY_CODES)
        case Kind.REGION:
            return canonical_regions(country)
        case Kind.DATE:
            return _DATES.map(date.isoformat)
        case Kind.SET:
            return _canonical_set()
        case Kind.MAP:
            return _canonical_map()
        case Kind.ENUM:
            return st.sampled_from(FIELDS[field].choices)
        case Kind.URL:
            return _canonical_url()
    raise AssertionError(f"no strategy for kind {kind}")


@st.composite
def canonical_records(draw: st.DrawFn, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A canonical record over ``fields`` (default: all), each field present or left out; the
    region fits the record's country. Keys come in display order, as ``normalize_record`` gives."""
    names = list(FIELDS) if fields is None else [n for n in FIELDS if n in set(fields)]
    present = [n for n in names if draw(st.booleans())]
    record: dict[str, Any] = {}
    country = (
        draw(canonical_values("country").filter(lambda code: "," not in apollo_country_name(code)))
        if "country" in present
        else None
    )
    for name in present:
        if name == "country":
            record[name] = country
        else:
            record[name] = draw(canonical_values(name, country=country))
    return record


def raw_records(fields: Iterable[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Records of messy raw values (valid or not) over ``fields`` (default: all)."""
    names = list(FIELDS) if fields is None else list(fields)
    return st.fixed_dictionaries({}, optional={name: raw_values(name) for name in names})


# --------------------------------------------------------------------------- hostile values

# Control characters (category Cc, less the tab and line breaks text collapses into a space) and
# the bidi controls that reorder what a screen, a terminal or an HTML report shows.
HOSTILE_CHARS = st.one_of(
    st.characters(categories=("Cc",)).filter(lambda ch: ch not in "\t\n\r"),
    st.sampled_from(sorted("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")),
)


@st.composite
def _spiked(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(HOSTILE_CHARS) + text[at:]


def hostile_values(field: str) -> st.SearchStrategy[Any]:
    """A canonical value of ``field`` with a control or bidi character slipped in (into one member
    of a set, one value of a map): never a value to copy into another CRM."""
    kind = FIELDS[field].kind
    if kind is Kind.SET:
        return _canonical_set().flatmap(
            lambda members: _spiked(members[0]).map(lambda bad: [bad, *members[1:]])
        )
    if kind is Kind.MAP:
        return _canonical_map().flatmap(
            lambda values: _spiked(next(iter(values.values()))).map(
                lambda bad: {**values, next(iter(values)): bad}
            )
        )
    return canonical_values(field).flatmap(_spiked)


def over_long_text(limit: int) -> st.SearchStrategy[str]:
    """Text longer than ``limit`` characters (up to 5,000), as a paste gone wrong makes."""
    return st.tuples(_WORD, st.integers(limit + 1, 5000)).map(lambda p: (p[0] * 5000)[: p[1]])


# =========================================================================== CorporateMerch

# Canonical fields a CorporateMerch create must carry (type, names, email and the postal address).
CORPORATEMERCH_REQUIRED = (
    "contact_type", "first_name", "last_name", "email", "street", "city", "region", "postal_code", "country",
)  # fmt: skip


@st.composite
def corporatemerch_records(draw: st.DrawFn) -> dict[str, Any]:
    """Canonical records CorporateMerch can hold: its fields only, the required ones always present,
    a country in its ISO list and, for US/CA, a state code it accepts. Tags and lists are free
    names: a test gives the catalogue the names the record uses."""
    from syncengine.fieldmaps import corporatemerch as cm

    held = cm.CorporateMerchMap().fields - {"custom", "country", "region"}
    record = draw(canonical_records(fields=held))
    for name in CORPORATEMERCH_REQUIRED:
        if name not in record and name not in ("country", "region"):
            record[name] = draw(canonical_values(name))
    country = draw(st.sampled_from(sorted(cm.COUNTRY_CODES)))
    codes = cm.STATE_CODES.get(country)
    record["country"] = country
    record["region"] = draw(st.sampled_from(sorted(codes)) if codes else canonical_regions(country))
    return {name: record[name] for name in FIELDS if name in record}


# =========================================================================== LeadConnector

# Custom-field keys as LeadConnector field keys give them (``contact.<key>``), none a canonical field.
LEADCONNECTOR_CUSTOM_KEYS = st.from_regex(r"\A[a-z][a-z0-9]{0,7}(_[a-z0-9]{1,5})?\Z").filter(
    lambda key: key not in FIELDS
)


@st.composite
def leadconnector_records(draw: st.DrawFn) -> dict[str, Any]:
    """Canonical records a LeadConnector location (default settings) can hold: its native fields,
    a country from its list, tags in lower case (the location lower-cases them), a shirt size and
    custom keys. A test gives the catalogue the custom fields the record uses."""
    from syncengine.canonical import normalize
    from syncengine.fieldmaps import leadconnector as lc

    record = draw(canonical_records(fields=lc.LeadConnectorMap().fields | {"shirt_size"}))
    if record.get("country") not in lc.COUNTRY_CODES:
        record.pop("country", None)  # the region drawn for it is free text, valid without a country
    if "tags" in record:
        record["tags"] = normalize("tags", [tag.lower() for tag in record["tags"]])
    custom = draw(st.dictionaries(LEADCONNECTOR_CUSTOM_KEYS, canonical_values("city"), max_size=3))
    if custom:
        record["custom"] = dict(sorted(custom.items()))
    return {name: record[name] for name in FIELDS if name in record}


# =========================================================================== Apollo

_APOLLO_ADDRESS = ("street", "unit", "city", "region", "postal_code", "country")
_APOLLO_NAMED = ("tags", "stage", "owner", "custom", "shirt_size")


def _no_comma(text: str) -> bool:
    return "," not in text


def apollo_country_name(code: str) -> str:
    from syncengine.fieldmaps.apollo import country_name

    return country_name(code)


@st.composite
def apollo_records(
    draw: st.DrawFn, fields: Iterable[str], stages: list[str], owners: list[str]
) -> dict[str, Any]:
    """Canonical records Apollo can hold: its ``fields``; a stage and an owner always (Apollo gives
    every contact one), named from ``stages`` and ``owners``; address parts it can keep apart in
    its one address line (no commas; a postal code starts with a digit-bearing word, region words
    have none); ``custom`` keys of the simulator's sample catalogue."""
    held = set(fields)
    plain = held - set(_APOLLO_ADDRESS) - set(_APOLLO_NAMED)
    record = draw(canonical_records(fields=plain))
    present = [n for n in _APOLLO_ADDRESS if n in held and draw(st.booleans())]
    country = (
        draw(canonical_values("country").filter(lambda code: "," not in apollo_country_name(code)))
        if "country" in present
        else None
    )
    for name in present:
        if name == "country":
            record[name] = country
        elif name == "region":
            record[name] = draw(
                canonical_regions(country).filter(lambda t: _no_comma(t) and not any(c.isdigit() for c in t))
            )
        elif name == "postal_code":
            first = draw(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=5))
            digit = draw(st.sampled_from(string.digits))
            rest = draw(st.sampled_from(["", " 1AA", "-123"]))
            record[name] = first + digit + rest
        else:
            record[name] = draw(canonical_values(name).filter(_no_comma))
    record["stage"] = draw(st.sampled_from(stages))
    record["owner"] = draw(st.sampled_from(owners))
    if "tags" in held and draw(st.booleans()):
        record["tags"] = draw(canonical_values("tags"))
    if "shirt_size" in held and draw(st.booleans()):
        record["shirt_size"] = draw(canonical_values("shirt_size"))
    if "custom" in held and draw(st.booleans()):
        record["custom"] = {"client_since": draw(canonical_values("date_of_birth"))}
    return {name: record[name] for name in FIELDS if name in record}
