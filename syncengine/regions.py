"""Countries and US/CA subdivisions: from the codes, names and nicknames people use to ISO codes.

Lookups ignore case, accents, dots, apostrophes and spacing (``"U.S."``, ``"Côte d'Ivoire"``,
``"cote divoire"`` all match). Besides ISO 3166-1 the country list holds ``XK`` (Kosovo, a
user-assigned code) and ``AN`` (Netherlands Antilles, withdrawn in 2010), since LeadConnector's
country list still offers both.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

# Codes outside current ISO 3166-1 that CRMs still hold.
EXTRA_COUNTRIES: dict[str, str] = {"XK": "Kosovo", "AN": "Netherlands Antilles"}

# Everyday names that pycountry's name, official and common names do not cover.
COUNTRY_ALIASES: dict[str, str] = {
    "America": "US",
    "United States": "US",
    "United States of America": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Russia": "RU",
    "South Korea": "KR",
    "Republic of Korea": "KR",
    "North Korea": "KP",
    "Vietnam": "VN",
    "Kosovo": "XK",
    "Netherlands Antilles": "AN",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Turkey": "TR",
    "Ivory Coast": "CI",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Burma": "MM",
    "Brunei": "BN",
    "Cape Verde": "CV",
    "East Timor": "TL",
    "Vatican": "VA",
    "Vatican City": "VA",
    "DR Congo": "CD",
    "DRC": "CD",
    "Congo-Kinshasa": "CD",
    "Democratic Republic of the Congo": "CD",
    "Congo-Brazzaville": "CG",
    "Republic of the Congo": "CG",
    "Czech Republic": "CZ",
    "Macau": "MO",
    "UAE": "AE",
    "Emirates": "AE",
    "St. Lucia": "LC",
    "St. Kitts and Nevis": "KN",
    "St. Vincent and the Grenadines": "VC",
    "Saint Barthelemy": "BL",
    "Curacao": "CW",
    "Reunion": "RE",
    "Aland Islands": "AX",
    "US Virgin Islands": "VI",
    "British Virgin Islands": "VG",
}

# US and CA subdivisions by other names than pycountry's (codes, ISO names and accents are covered).
SUBDIVISION_ALIASES: dict[str, dict[str, str]] = {
    "US": {
        "Washington DC": "DC",
        "Washington, D.C.": "DC",
        "D.C.": "DC",
        "US Virgin Islands": "VI",
        "Virgin Islands": "VI",
    },
    "CA": {
        "Newfoundland": "NL",
        "Labrador": "NL",
        "PEI": "PE",
        "Yukon Territory": "YT",
        "NWT": "NT",
    },
}

# Countries whose region field holds a subdivision code rather than free text.
CODED_REGION_COUNTRIES = frozenset({"US", "CA"})


def fold(text: str) -> str:
    """The form names are compared in: no accents, case, dots, apostrophes or extra spacing."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.casefold().replace("&", " and ")
    bare = re.sub(r"[.'’`]", "", bare)
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


def _name_variants(name: str) -> list[str]:
    """``"Korea, Republic of"`` -> also ``"Republic of Korea"``; ``"Holy See (Vatican City State)"``
    -> also ``"Holy See"`` and ``"Vatican City State"``."""
    variants = [name]
    inner = re.fullmatch(r"(.+?)\s*\((.+)\)", name)
    if inner:
        variants += [inner.group(1), inner.group(2)]
    for variant in list(variants):
        head, sep, tail = variant.partition(", ")
        if sep:
            variants.append(f"{tail} {head}")
    return variants


def _short_names(name: str) -> list[str]:
    """Shorter names that identify a country only if no other country claims them:
    ``"Iran, Islamic Republic of"`` -> ``"Iran"``."""
    head, sep, _ = name.partition(", ")
    return [head] if sep else []


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    short: dict[str, set[str]] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = [country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)]
        for value in [code, country.alpha_3, country.numeric]:
            index[fold(value)] = code
        for name in filter(None, names):
            for variant in _name_variants(name):
                index.setdefault(fold(variant), code)
            for head in _short_names(name):
                short.setdefault(fold(head), set()).add(code)
    for head, codes in short.items():
        if len(codes) == 1:
            index.setdefault(head, codes.pop())
    for code, name in EXTRA_COUNTRIES.items():
        index[fold(code)] = code
        index[fold(name)] = code
    for alias, code in COUNTRY_ALIASES.items():
        index[fold(alias)] = code
    return index


@lru_cache(maxsize=4096)  # asked once per field of every record: few distinct texts
def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 (or ``XK``/``AN``) for a code, alpha-3, numeric code or name; None if unknown."""
    return _country_index().get(fold(text))


def known_country_codes() -> frozenset[str]:
    """Every alpha-2 code :func:`country_code` can answer."""
    return frozenset(_country_index().values())


@cache
def _subdivision_index(country: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        code = sub.code.split("-", 1)[1]
        for value in (code, sub.code):
            index[fold(value)] = code
        for variant in _name_variants(sub.name):
            index.setdefault(fold(variant), code)
    for alias, code in SUBDIVISION_ALIASES.get(country, {}).items():
        index[fold(alias)] = code
    return index


@lru_cache(maxsize=4096)
def subdivision_code(country: str, text: str) -> str | None:
    """The 2-letter code of a US or CA state, province or territory named by code or name; None if unknown."""
    return _subdivision_index(country).get(fold(text))


def subdivision_codes(country: str) -> frozenset[str]:
    """Every subdivision code :func:`subdivision_code` can answer for ``country``."""
    return frozenset(_subdivision_index(country).values())
