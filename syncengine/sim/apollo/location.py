"""The location Apollo reads from ``present_raw_address``: city, state and country as full names.

Documented [SEED 001, SPEC]: "Apollo will intelligently infer the city, state, and country from your
address"; the read side shows full English names (``California``, ``United States``, ``Russia``),
never ISO codes. pycountry supplies the country and subdivision names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pycountry

# Names Apollo shows that differ from ISO 3166 short names, and spellings clients commonly send.
_COUNTRY_DISPLAY = {
    "RU": "Russia",
    "TR": "Turkey",
    "KR": "South Korea",
    "KP": "North Korea",
    "IR": "Iran",
    "VN": "Vietnam",
    "TW": "Taiwan",
    "SY": "Syria",
    "LA": "Laos",
    "BO": "Bolivia",
    "VE": "Venezuela",
    "TZ": "Tanzania",
    "MD": "Moldova",
}
_COUNTRY_ALIASES = {
    "russia": "RU",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "turkey": "TR",
    "uae": "AE",
    "korea": "KR",
}
_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 -]{2,9}$", re.IGNORECASE)


@dataclass(frozen=True)
class Location:
    city: str | None = None
    state: str | None = None
    country: str | None = None


def country_name(alpha_2: str) -> str:
    country = pycountry.countries.get(alpha_2=alpha_2)
    if country is None:
        raise LookupError(alpha_2)
    return _COUNTRY_DISPLAY.get(alpha_2) or getattr(country, "common_name", None) or country.name


def _country_code(text: str) -> str | None:
    key = text.strip().lower()
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return pycountry.countries.lookup(text.strip()).alpha_2
    except LookupError:
        return None


def _subdivision(text: str, country: str) -> str | None:
    """The subdivision name for a code (``TX``) or name (``texas``) of ``country``, else None."""
    text = text.strip()
    if not text:
        return None
    by_code = pycountry.subdivisions.get(code=f"{country}-{text.upper()}")
    if by_code is not None:
        return by_code.name
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        if sub.name.lower() == text.lower():
            return sub.name
    return None


def _state_part(part: str, country: str) -> str | None:
    """A state, possibly followed by a postal code (``TX 78701``, ``New York 10001``)."""
    words = part.split()
    for cut in range(len(words), 0, -1):
        rest = " ".join(words[cut:])
        if rest and not _POSTAL.match(rest):
            continue
        name = _subdivision(" ".join(words[:cut]), country)
        if name:
            return name
    return None


def _city(part: str) -> str:
    # Apollo spells out abbreviated saint names ("St. Petersburg" -> "Saint Petersburg").
    match = re.match(r"^(St|Ste)\.?\s+(.+)$", part.strip())
    if match:
        return ("Saint " if match.group(1) == "St" else "Sainte ") + match.group(2)
    return part.strip()


def _split_country(parts: list[str]) -> tuple[list[str], str | None]:
    last = parts[-1]
    # After a city, a two-letter token reads as a US state first: "San Francisco, CA" is California.
    us_state_code = len(parts) > 1 and re.fullmatch(r"[A-Za-z]{2}", last) and _subdivision(last, "US")
    if not us_state_code:
        code = _country_code(last)
        if code is not None:
            return parts[:-1], code
    return parts, None


def infer_location(raw: str | None) -> Location:
    """City, state and country (full names) from a free-text address, as far as they can be read.

    ``"123 Main St, Austin, TX 78701, US"`` gives ``Austin``, ``Texas``, ``United States``; a US
    state with no country implies the United States (``"San Francisco, CA"``). A single part is a
    city unless it names a country. Regions that ISO 3166-2 does not name in English stay unread.
    """
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not parts:
        return Location()
    parts, country = _split_country(parts)
    state: str | None = None
    # A lone part before the country is a city ("Paris, France") except for US and Canadian states.
    if len(parts) > 1 or (parts and country in ("US", "CA")):
        state = _state_part(parts[-1], country or "US")
        if state is not None:
            country = country or "US"
            parts = parts[:-1]
    city = _city(parts[-1]) if parts else None
    if city and any(ch.isdigit() for ch in city):
        city = None  # a street line, not a city
    return Location(city=city, state=state, country=country_name(country) if country else None)
