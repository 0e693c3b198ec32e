"""Deterministic sample contacts for the simulators, in each vendor's own record shape.

One seed gives the same records byte for byte (timestamps count back from a fixed instant, not
from today). A share of the people (``overlap``) is present in more than one system, and many of
those differ between systems the way real data does: a newer title or address on one side, a
blank field, another tag set, a nickname, a company suffix, a differently cased or a private
email. Phones come in several formats (``(512) 555-0147``, ``512-555-0147``, ``+1 512 555 0147``)
that normalise to the same E.164 number, so a sync also meets differences that are not changes.

Word lists are small and built in, drawn with one seeded ``random.Random``: 100,000 contacts per
system take a few seconds, where a faker call per field would take minutes.
"""

from __future__ import annotations

import gc
import itertools
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from random import Random
from typing import Any

SYSTEMS = ("apollo", "leadconnector", "corporatemerch")
ANCHOR_AT = datetime(2025, 1, 1, tzinfo=UTC)
_DAY = 86_400
_YEAR = 365 * _DAY

# --------------------------------------------------------------------------- word lists

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Daniel", "Nancy", "Matthew", "Margaret", "Anthony", "Katherine",
    "Mark", "Sandra", "Steven", "Ashley", "Andrew", "Emily", "Joshua", "Michelle", "Kevin", "Amanda",
    "Brian", "Melissa", "Benjamin", "Stephanie", "Samuel", "Rebecca", "Alexander", "Laura",
    "Nicholas", "Olivia", "Jonathan", "Hannah", "Priya", "Wei", "Mei", "Hiroshi", "Aisha", "Omar",
    "Fatima", "Carlos", "Sofía", "José", "Zoë", "Chloé", "Lukas", "Jürgen", "Anja", "Sven", "Niamh",
    "Siobhan", "Connor", "Amélie", "François", "Raj", "Ananya", "Kwame", "Ngozi", "Mateo", "Lucía",
)  # fmt: skip
NICKNAMES = {
    "James": "Jim", "Robert": "Bob", "Patricia": "Pat", "Jennifer": "Jen", "Michael": "Mike",
    "William": "Bill", "Elizabeth": "Liz", "Richard": "Rick", "Joseph": "Joe", "Thomas": "Tom",
    "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt", "Margaret": "Maggie",
    "Anthony": "Tony", "Katherine": "Kate", "Steven": "Steve", "Andrew": "Andy", "Joshua": "Josh",
    "Benjamin": "Ben", "Samuel": "Sam", "Rebecca": "Becky", "Alexander": "Alex", "Nicholas": "Nick",
    "Jonathan": "Jon", "Stephanie": "Steph",
}  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "O'Brien", "McAllister", "Van der Berg", "Müller", "Schmidt",
    "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Tremblay", "Gagnon", "Roy", "Côté",
    "Bouchard", "Patel", "Shah", "Kim", "Park", "Chen", "Wang", "Li", "Tanaka", "Sato", "Okafor",
    "Mensah", "Kowalski", "Novak", "García", "Fernández", "Murphy", "Kelly", "Byrne", "Hughes",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Northwind", "Granite", "Summit", "Bluebird", "Copperleaf", "Ironwood", "Lakeshore",
    "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Quantum", "Redwood", "Silverline", "Trident",
    "Upland", "Vertex", "Willow", "Zenith", "Harbor", "Beacon", "Cascade", "Driftwood", "Evergreen",
    "Foxglove", "Goldcrest", "Highland", "Juniper", "Keystone", "Lighthouse", "Maplewood",
    "Northstar", "Orchard", "Prairie", "Riverbend", "Stonegate", "Timberline", "Bright", "Clearwater",
)  # fmt: skip
COMPANY_KINDS = (
    "Analytics", "Logistics", "Labs", "Software", "Health", "Foods", "Consulting", "Energy",
    "Robotics", "Media", "Capital", "Design", "Systems", "Networks", "Manufacturing", "Outfitters",
    "Brewing", "Dental", "Realty", "Insurance", "Education", "Security", "Biotech", "Apparel",
)  # fmt: skip
TITLES = (
    "CEO", "CTO", "CFO", "COO", "VP of Sales", "VP of Marketing", "VP Engineering", "Head of People",
    "Director of Operations", "Marketing Manager", "Sales Manager", "Account Executive",
    "Senior Account Executive", "Customer Success Manager", "Office Manager", "HR Manager",
    "Talent Acquisition Lead", "Software Engineer", "Senior Software Engineer", "Product Manager",
    "Procurement Specialist", "Event Coordinator", "Brand Manager", "Founder", "Managing Director",
    "Operations Analyst", "Executive Assistant", "Partnerships Lead",
)  # fmt: skip
DEPARTMENTS = ("Sales", "Marketing", "Engineering", "Operations", "Finance", "People", "Customer Success")
EMPLOYMENT_TYPES = ("Full-Time", "Full-Time", "Full-Time", "Part-Time", "Contract")
SHIRT_SIZES = ("XS", "SM", "MD", "LG", "XL", "2XL", "3XL")
_SHIRT_WEIGHTS = {"XS": 3, "SM": 12, "MD": 28, "LG": 28, "XL": 18, "2XL": 8, "3XL": 3}
TAGS = (
    "customer", "prospect", "vip", "partner", "newsletter", "webinar-2024", "trade-show",
    "event-attendee", "churn-risk", "beta-tester", "referral", "holiday-gift", "merch",
)  # fmt: skip
CM_LISTS = ("Holiday Gift 2024", "New Hire Kit", "Client Appreciation", "Conference Swag", "Anniversary Box")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")
STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset",
    "River", "Church", "Market", "Spring", "Highland", "Mill", "Forest", "Meadow", "Harbor",
)  # fmt: skip
STREET_KINDS = ("St", "Ave", "Blvd", "Rd", "Ln", "Way", "Dr", "Ct")
UNITS = ("Suite 100", "Suite 210", "Apt 4B", "Unit 12", "Floor 3", "#305")
GB_STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Mill Road")
DE_STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Lindenallee", "Friedrichstraße")


@dataclass(frozen=True)
class Place:
    """A city with what every vendor needs: codes for LC/CM, full names for Apollo."""

    country: str  # ISO alpha-2
    country_name: str
    city: str
    state: str  # 2-letter code for US/CA; the region's name elsewhere
    state_name: str
    postal: str  # prefix of the postal code
    time_zone: str
    area_codes: tuple[str, ...]


def _places(country: str, country_name: str, rows: str) -> tuple[Place, ...]:
    out = []
    for row in rows.strip().splitlines():
        city, state, state_name, postal, tz, codes = (part.strip() for part in row.split("|"))
        out.append(Place(country, country_name, city, state, state_name, postal, tz, tuple(codes.split())))
    return tuple(out)


US_PLACES = _places("US", "United States", """
    New York|NY|New York|100|America/New_York|212 646 917
    Brooklyn|NY|New York|112|America/New_York|718 347
    Boston|MA|Massachusetts|021|America/New_York|617 857
    Philadelphia|PA|Pennsylvania|191|America/New_York|215 267
    Pittsburgh|PA|Pennsylvania|152|America/New_York|412
    Washington|DC|District of Columbia|200|America/New_York|202
    Atlanta|GA|Georgia|303|America/New_York|404 470
    Miami|FL|Florida|331|America/New_York|305 786
    Orlando|FL|Florida|328|America/New_York|407
    Charlotte|NC|North Carolina|282|America/New_York|704 980
    Raleigh|NC|North Carolina|276|America/New_York|919
    Columbus|OH|Ohio|432|America/New_York|614
    Detroit|MI|Michigan|482|America/Detroit|313
    Chicago|IL|Illinois|606|America/Chicago|312 773
    Minneapolis|MN|Minnesota|554|America/Chicago|612
    Nashville|TN|Tennessee|372|America/Chicago|615
    Austin|TX|Texas|787|America/Chicago|512 737
    Dallas|TX|Texas|752|America/Chicago|214 469 972
    Houston|TX|Texas|770|America/Chicago|713 281 832
    Kansas City|MO|Missouri|641|America/Chicago|816
    Denver|CO|Colorado|802|America/Denver|303 720
    Salt Lake City|UT|Utah|841|America/Denver|801
    Phoenix|AZ|Arizona|850|America/Phoenix|602 480
    Las Vegas|NV|Nevada|891|America/Los_Angeles|702
    Los Angeles|CA|California|900|America/Los_Angeles|213 310 323
    San Diego|CA|California|921|America/Los_Angeles|619 858
    San Francisco|CA|California|941|America/Los_Angeles|415 628
    San Jose|CA|California|951|America/Los_Angeles|408 669
    Portland|OR|Oregon|972|America/Los_Angeles|503 971
    Seattle|WA|Washington|981|America/Los_Angeles|206
    Anchorage|AK|Alaska|995|America/Anchorage|907
    Honolulu|HI|Hawaii|968|Pacific/Honolulu|808
""")
CA_PLACES = _places("CA", "Canada", """
    Toronto|ON|Ontario|M5V|America/Toronto|416 647
    Ottawa|ON|Ontario|K1P|America/Toronto|613
    Montreal|QC|Quebec|H3B|America/Toronto|514 438
    Vancouver|BC|British Columbia|V6B|America/Vancouver|604 778
    Calgary|AB|Alberta|T2P|America/Edmonton|403 587
    Halifax|NS|Nova Scotia|B3H|America/Halifax|902
    Winnipeg|MB|Manitoba|R3C|America/Winnipeg|204
""")
GB_PLACES = _places("GB", "United Kingdom", """
    London|London|England|EC1A|Europe/London|20
    Manchester|Greater Manchester|England|M1|Europe/London|161
    Edinburgh|Edinburgh|Scotland|EH1|Europe/London|131
    Leeds|West Yorkshire|England|LS1|Europe/London|113
""")
DE_PLACES = _places("DE", "Germany", """
    Berlin|Berlin|Berlin|101|Europe/Berlin|30
    München|Bayern|Bavaria|803|Europe/Berlin|89
    Hamburg|Hamburg|Hamburg|203|Europe/Berlin|40
    Köln|Nordrhein-Westfalen|North Rhine-Westphalia|506|Europe/Berlin|221
""")
_COUNTRY_PLACES = (("US", US_PLACES, 80), ("CA", CA_PLACES, 10), ("GB", GB_PLACES, 5), ("DE", DE_PLACES, 5))

# --------------------------------------------------------------------------- catalogues

# The vendor's example stage ids (GET /contact_stages), so they match a fresh Apollo team.
APOLLO_STAGES = (
    ("6095a710bd01d100a506d4ae", "New"),
    ("6095a710bd01d100a506d4af", "Approaching"),
    ("6095a710bd01d100a506d4b0", "Replied"),
    ("6095a710bd01d100a506d4b1", "Interested"),
    ("6095a710bd01d100a506d4b3", "Unresponsive"),
)
APOLLO_SHIRT_FIELD = "66f0a1b2c3d4e5f607182930"
APOLLO_SINCE_FIELD = "66f0a1b2c3d4e5f607182931"
APOLLO_SHIRT_OPTIONS = {size: f"66f0a1b2c3d4e5f6071829{40 + i:02d}" for i, size in enumerate(SHIRT_SIZES)}
LC_SHIRT_FIELD = "SimShirtSizeField001"
LC_SINCE_FIELD = "SimClientSinceFld001"


def catalogues() -> dict[str, dict[str, list[Any]]]:
    """What each system must know before the sample contacts arrive, per admin path.

    ``{"apollo": {"labels": [...], ...}, ...}``: each key is the simulator's admin path under
    ``/__admin`` and the key of its body (``POST /__admin/labels {"labels": [...]}``).
    """
    return {
        "apollo": {
            "labels": [{"name": tag} for tag in TAGS],
            "contact_stages": [
                {"id": sid, "name": name, "display_order": order}
                for order, (sid, name) in enumerate(APOLLO_STAGES)
            ],
            "typed_custom_fields": [
                {
                    "id": APOLLO_SHIRT_FIELD,
                    "name": "Shirt Size",
                    "type": "picklist",
                    "picklist_values": [{"id": i, "name": size} for size, i in APOLLO_SHIRT_OPTIONS.items()],
                },
                {"id": APOLLO_SINCE_FIELD, "name": "Client Since", "type": "date"},
            ],
        },
        "leadconnector": {
            "tags": list(TAGS),
            "customFields": [
                {
                    "id": LC_SHIRT_FIELD,
                    "name": "Shirt Size",
                    "fieldKey": "contact.shirt_size",
                    "dataType": "SINGLE_OPTIONS",
                    "picklistOptions": list(SHIRT_SIZES),
                },
                {
                    "id": LC_SINCE_FIELD,
                    "name": "Client Since",
                    "fieldKey": "contact.client_since",
                    "dataType": "DATE",
                },
            ],
        },
        "corporatemerch": {
            "lists": [{"id": i, "name": name} for i, name in enumerate(CM_LISTS, start=1)],
            "labels": [{"id": i, "name": tag} for i, tag in enumerate(TAGS, start=1)],
        },
    }


CM_LABEL_IDS = {tag: i for i, tag in enumerate(TAGS, start=1)}

# --------------------------------------------------------------------------- generation

# Share of the people present in several systems whose records differ, and how they differ.
DIFFERING_SHARE = 0.45
DIFFERENCE_KINDS = {  # kind: (weight, systems whose records carry the field)
    "title": (16, ("apollo", "corporatemerch")),
    "address": (14, SYSTEMS),
    "tags": (16, SYSTEMS),
    "phone": (8, SYSTEMS),
    "blank": (14, SYSTEMS),
    "email_case": (10, SYSTEMS),
    "first_name": (8, SYSTEMS),
    "company": (8, SYSTEMS),
    "email": (6, SYSTEMS),
}
# Random bytes become 20-character LeadConnector ids through one translation table.
# Optional fields a record may lack while another system's copy has them (LC has no title).
BLANKABLE = {"leadconnector": ("phone", "company_name"), "*": ("title", "phone", "company_name")}
_ALNUM_TABLE = bytes((string.ascii_letters + string.digits).encode()[b % 62] for b in range(256))
# Every set of 0 to 3 tags, repeated so that each size is about as likely, drawn as one index
# (random.sample is slow in a hot loop).
_TAG_SETS = tuple(
    list(combo)
    for size, times in ((0, 220), (1, 18), (2, 3), (3, 1))
    for combo in itertools.combinations(TAGS, size)
    for _ in range(times)
)
_CA_LETTERS = "ABCEGHJKLMNPRSTVXY"
_GB_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_SHIRT_DRAW = tuple(size for size, weight in _SHIRT_WEIGHTS.items() for _ in range(weight))
_COMPANY_TLDS = ("com", "com", "com", "com", "io", "co", "net")
_LEGAL = ("Inc.", "LLC", "Corp.", "Ltd", "GmbH", "", "")
_SOURCES = {"apollo": ("csv_import", "api", "crm", "search"), "leadconnector": ("CSV Import", "API", "form")}


@dataclass(frozen=True)
class SampleData:
    """Records per system plus the truth a test or benchmark can check a sync against."""

    records: dict[str, list[dict[str, Any]]]
    people: list[dict[str, Any]]  # one per person: {system: record id}
    differences: dict[str, int]  # difference kind: shared people whose records differ that way


def generate(
    n: int,
    *,
    overlap: float = 0.5,
    seed: int = 0,
    cm_share: float = 0.2,
    systems: tuple[str, ...] = SYSTEMS,
) -> dict[str, list[dict[str, Any]]]:
    """``n`` contacts per system (``cm_share * n`` for CorporateMerch) in each vendor's read shape."""
    return generate_sample(n, overlap=overlap, seed=seed, cm_share=cm_share, systems=systems).records


def generate_sample(
    n: int,
    *,
    overlap: float = 0.5,
    seed: int = 0,
    cm_share: float = 0.2,
    systems: tuple[str, ...] = SYSTEMS,
) -> SampleData:
    """Like ``generate``, with which records are one person and how shared people differ.

    ``overlap`` is the share of people present in more than one system. It is reached exactly
    (to rounding) when Apollo and LeadConnector are both generated; with only one of them next to
    CorporateMerch, the smaller system bounds it.
    """
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: {list(SYSTEMS)}")
    if n < 0 or not 0.0 <= overlap <= 1.0 or not 0.0 <= cm_share <= 1.0:
        raise ValueError("n must be >= 0, overlap and cm_share between 0 and 1")
    counts = {s: (round(n * cm_share) if s == "corporatemerch" else n) for s in SYSTEMS if s in systems}
    # Hundreds of thousands of new dicts would trigger many full collections: pause the cycle GC.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(seed).run(counts, overlap)
    finally:
        if was_enabled:
            gc.enable()


def membership_counts(counts: dict[str, int], overlap: float) -> dict[tuple[str, ...], int]:
    """How many people are in each combination of systems, given records per system.

    Half of CorporateMerch's shared people are in all three systems, the rest pair with one CRM;
    the remaining shared people are in Apollo and LeadConnector.
    """
    left = dict(counts)
    out: dict[tuple[str, ...], int] = {}

    def take(combo: tuple[str, ...], k: int) -> int:
        k = max(0, min(k, *(left[s] for s in combo)))
        if k:
            out[combo] = out.get(combo, 0) + k
            for s in combo:
                left[s] -= k
        return k

    cm = counts.get("corporatemerch", 0)
    crms = [s for s in counts if s != "corporatemerch"]
    triples = take(tuple(counts), round(overlap * cm / 2)) if len(counts) == 3 else 0
    total = sum(left.values())
    pairs = max(0, round((overlap * (total + triples) - triples) / (1 + overlap)))
    if cm and crms:
        cm_pairs = pairs if len(crms) < 2 else round(overlap * cm) - triples
        cm_pairs = min(cm_pairs, left["corporatemerch"])
        weight = sum(left[s] for s in crms) or 1
        first = take((crms[0], "corporatemerch"), round(cm_pairs * left[crms[0]] / weight))
        if len(crms) > 1:
            take((crms[1], "corporatemerch"), cm_pairs - first)
        pairs -= cm_pairs
    if len(crms) == 2:
        take((crms[0], crms[1]), pairs)
    for s, k in left.items():
        take((s,), k)
    return out


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = Random(seed)
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.anchor = int(ANCHOR_AT.timestamp())
        self.places = [p for _, places, weight in _COUNTRY_PLACES for p in places * weight]

    def run(self, counts: dict[str, int], overlap: float) -> SampleData:
        combos = [c for c, k in sorted(membership_counts(counts, overlap).items()) for _ in range(k)]
        self.rng.shuffle(combos)
        records: dict[str, list[dict[str, Any]]] = {s: [] for s in counts}
        people: list[dict[str, Any]] = []
        differences = dict.fromkeys(DIFFERENCE_KINDS, 0)
        render = {"apollo": self.apollo, "leadconnector": self.leadconnector, "corporatemerch": self.cm}
        for combo in combos:
            person = self.person(shared=len(combo) > 1)
            views = {s: dict(person) for s in combo}
            newer: set[str] = set()
            if len(combo) > 1 and self.rng.random() < DIFFERING_SHARE:
                for _ in range(1 if self.rng.random() < 0.7 else 2):
                    kind = self.vary(views, newer)
                    if kind:
                        differences[kind] += 1
            links: dict[str, Any] = {}
            for s in combo:
                record = render[s](views[s], s in newer)
                record["_person"] = links
                records[s].append(record)
                links[s] = record["id"]
            people.append(links)
        for s, rows in records.items():
            created = "dateAdded" if s == "leadconnector" else "created_at"
            rows.sort(key=lambda r: (r[created], str(r["id"])))
        if "corporatemerch" in records:  # CorporateMerch numbers contacts in creation order
            for number, row in enumerate(records["corporatemerch"], start=1):
                row["id"] = number
                row["_person"]["corporatemerch"] = number
        for rows in records.values():
            for row in rows:
                del row["_person"]
        return SampleData(records, people, {k: v for k, v in differences.items() if v})

    # ------------------------------------------------------------------ one person

    def person(self, *, shared: bool) -> dict[str, Any]:
        r = self.rng
        place = self.places[int(r.random() * len(self.places))]
        company = int(r.random() * len(COMPANY_WORDS) * len(COMPANY_KINDS))
        first = FIRST_NAMES[int(r.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(r.random() * len(LAST_NAMES))]
        created = self.anchor - int(r.uniform(60, 900) * _DAY)
        domain = _company_domain(company)
        return {
            "first": first,
            "last": last,
            "company": company,
            "company_name": _company_name(company),
            "domain": domain,
            "email": self.email(first, last, domain),
            "title": TITLES[int(r.random() * len(TITLES))] if r.random() < 0.9 else None,
            "place": place,
            "street": self.street(place),
            "unit": UNITS[int(r.random() * len(UNITS))] if r.random() < 0.2 else None,
            "postal": self.postal(place),
            "phone": self.phone(place) if r.random() < 0.85 else None,
            "tags": _TAG_SETS[int(r.random() * len(_TAG_SETS))],
            "shirt": _SHIRT_DRAW[int(r.random() * len(_SHIRT_DRAW))],
            "shirt_known": r.random() < 0.5,
            "birthday": _date(self.anchor - int(r.uniform(23, 65) * _YEAR)) if r.random() < 0.3 else None,
            "since": _date(created - int(r.random() * 700) * _DAY) if r.random() < 0.4 else None,
            "stage": APOLLO_STAGES[int(r.random() * len(APOLLO_STAGES))][0],
            "cm_type": "client" if shared or r.random() < 0.5 else "employee",
            "department": DEPARTMENTS[int(r.random() * len(DEPARTMENTS))],
            "employment": EMPLOYMENT_TYPES[int(r.random() * len(EMPLOYMENT_TYPES))],
            "created": created,
            "format": int(r.random() * 5),
            "linkedin": f"{_ascii(first)}-{_ascii(last)}-{r.getrandbits(24):06x}".lower().replace(" ", ""),
        }

    def email(self, first: str, last: str, domain: str, style: int | None = None) -> str:
        f, la = _ascii(first).lower(), _ascii(last).lower().replace(" ", "")
        style = int(self.rng.random() * 10) if style is None else style
        local = f"{f}.{la}" if style < 6 else f"{f[0]}{la}" if style < 8 else f"{f}_{la}" if style < 9 else f
        email, k = f"{local}@{domain}", 1
        while email in self.emails:
            k += 1
            email = f"{local}{k}@{domain}"
        self.emails.add(email)
        return email

    def street(self, place: Place) -> str:
        r = self.rng
        number = int(r.random() * 9000) + 1
        if place.country == "GB":
            return f"{number % 300 + 1} {GB_STREETS[int(r.random() * len(GB_STREETS))]}"
        if place.country == "DE":
            return f"{DE_STREETS[int(r.random() * len(DE_STREETS))]} {number % 200 + 1}"
        name, kind = STREET_NAMES[int(r.random() * len(STREET_NAMES))], STREET_KINDS[int(r.random() * 8)]
        return f"{number} {name} {kind}"

    def postal(self, place: Place) -> str:
        r = self.rng
        k = int(r.random() * 1_000_000)
        if place.country == "CA":  # forward sortation area of the city, then digit-letter-digit
            return f"{place.postal} {k % 9 + 1}{_CA_LETTERS[k // 9 % 18]}{k // 162 % 10}"
        if place.country == "GB":  # outward code of the city, then digit-letter-letter
            return f"{place.postal} {k % 9 + 1}{_GB_LETTERS[k // 9 % 20]}{_GB_LETTERS[k // 180 % 20]}"
        return f"{place.postal}{k % 100:02d}"

    def phone(self, place: Place) -> str:
        """A unique E.164 number of the place; 555 exchanges in North America."""
        r = self.rng
        for _ in range(20):
            area = place.area_codes[int(r.random() * len(place.area_codes))]
            line = f"{int(r.random() * 10000):04d}"
            if place.country in ("US", "CA"):
                e164 = f"+1{area}555{line}"
            elif place.country == "GB":
                e164 = f"+44{area}{'7946' if area == '20' else '496'}{line}"
            else:
                e164 = f"+49{area}5550{line}"
            if e164 not in self.phones:
                self.phones.add(e164)
                return e164
        return self.phone(self.places[0])

    # ------------------------------------------------------------------ differences

    def vary(self, views: dict[str, dict[str, Any]], newer: set[str]) -> str | None:
        """Make one system's copy of a shared person differ; returns the kind, or None."""
        r = self.rng
        kinds = list(DIFFERENCE_KINDS)
        kind = r.choices(kinds, [DIFFERENCE_KINDS[k][0] for k in kinds])[0]
        sides = [s for s in views if s in DIFFERENCE_KINDS[kind][1]]
        if not sides:
            return None
        side = sides[int(r.random() * len(sides))]
        v = views[side]
        if kind == "title":
            v["title"] = _other(r, TITLES, v["title"])
        elif kind == "address":
            v["place"] = _other(r, self.places, v["place"])
            v.update(street=self.street(v["place"]), postal=self.postal(v["place"]), unit=None)
        elif kind == "tags":
            tags = list(v["tags"])
            if tags and r.random() < 0.5:
                tags.remove(tags[int(r.random() * len(tags))])
            else:
                tags.append(_other(r, [t for t in TAGS if t not in tags] or TAGS, None))
            v["tags"] = sorted(set(tags), key=TAGS.index)
        elif kind == "phone":
            v["phone"] = self.phone(v["place"])
        elif kind == "blank":
            fields = BLANKABLE.get(side, BLANKABLE["*"])
            field = fields[int(r.random() * len(fields))]
            if not v[field]:
                return None
            v[field] = None
            return kind  # a blank is an older record, not a newer one
        elif kind == "email_case":
            local, domain = v["email"].split("@")
            v["email"] = ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
        elif kind == "first_name":
            if v["first"] not in NICKNAMES:
                return None
            v["first"] = NICKNAMES[v["first"]]
        elif kind == "company":
            base = _company_name(v["company"], legal=False)
            v["company_name"] = base if v["company_name"] != base else f"{base} Inc."
        elif kind == "email":
            v["email"] = self.email(v["first"], v["last"], FREE_MAIL[int(r.random() * len(FREE_MAIL))])
        newer.add(side)
        return kind

    # ------------------------------------------------------------------ timestamps and ids

    def stamps(self, v: dict[str, Any], newer: bool) -> tuple[int, int]:
        """Created and updated instants (epoch ms); a ``newer`` copy was saved after all others."""
        r = self.rng
        created = min(v["created"] + int(r.random() * 20 * _DAY), self.anchor - 50 * _DAY)
        if newer:
            updated = self.anchor - int(r.uniform(1, 40) * _DAY)
        else:
            updated = created + int(r.random() * max(0, self.anchor - 45 * _DAY - created))
        return created * 1000 + int(r.random() * 1000), updated * 1000 + int(r.random() * 1000)

    # ------------------------------------------------------------------ UI edits

    def apollo_edit(self, record: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        what = int(r.random() * 4)
        if what == 0:
            return {"title": _other(r, TITLES, record.get("title"))}
        if what == 1 and "label_names" in record:
            return {"label_names": _toggled(r, list(record["label_names"]))}
        if what == 1 and record.get("label_ids"):  # stored records name lists by id: drop one
            ids = record["label_ids"]
            return {"label_ids": [i for i in ids if i != ids[int(r.random() * len(ids))]]}
        if what == 1:
            return {"title": _other(r, TITLES, record.get("title"))}
        place = self.places[int(r.random() * len(self.places))]
        if what == 2:
            number = self.phone(place)
            raw = _formatted(number, int(r.random() * 5))
            return {"phone_numbers": [{"raw_number": raw, "sanitized_number": number, "type": "mobile"}]}
        return {
            "present_raw_address": f"{place.city}, {place.state_name}, {place.country_name}",
            "city": place.city,
            "state": place.state_name,
            "country": place.country_name,
            "time_zone": place.time_zone,
        }

    def lc_edit(self, record: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        what = int(r.random() * 4)
        place = self.places[int(r.random() * len(self.places))]
        if what == 0:
            return {"tags": _toggled(r, list(record.get("tags") or []))}
        if what == 1:
            return {"phone": self.phone(place)}
        if what == 2:
            return {"companyName": _company_name(int(r.random() * len(COMPANY_WORDS) * len(COMPANY_KINDS)))}
        return {
            "address1": self.street(place),
            "city": place.city,
            "state": place.state,
            "postalCode": self.postal(place),
            "country": place.country,
        }

    def cm_edit(self, record: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        what = int(r.random() * 5)
        place = self.places[int(r.random() * len(self.places))]
        if what == 0:
            return {"position": _other(r, TITLES, record.get("position"))}
        if what == 1:
            return {"shirt_size": _other(r, SHIRT_SIZES, record.get("shirt_size"))}
        if what == 2:
            return {"phone_number": _formatted(self.phone(place), int(r.random() * 5))}
        if what == 3:
            names = {i: t for t, i in CM_LABEL_IDS.items()}
            tags = _toggled(r, [names[i] for i in record.get("labels") or [] if i in names])
            return {"labels": [CM_LABEL_IDS[t] for t in tags]}
        return {
            "address": self.street(place),
            "unit": None,
            "city": place.city,
            "state": place.state,
            "zip_code": self.postal(place),
            "country": place.country,
        }

    # ------------------------------------------------------------------ vendor shapes

    def apollo(self, v: dict[str, Any], newer: bool) -> dict[str, Any]:
        created, updated = self.stamps(v, newer)
        place: Place = v["place"]
        phones = []
        if v["phone"]:
            phones.append(
                {
                    "raw_number": _formatted(v["phone"], v["format"]),
                    "sanitized_number": v["phone"],
                    "type": "mobile" if v["format"] % 2 else "work_direct",
                    "position": 0,
                    "status": "no_status",
                }
            )
        custom = {APOLLO_SHIRT_FIELD: APOLLO_SHIRT_OPTIONS[v["shirt"]]} if v["shirt_known"] else {}
        if v["since"]:
            custom[APOLLO_SINCE_FIELD] = v["since"]
        return {
            "id": f"{self.rng.getrandbits(96):024x}",
            "first_name": v["first"],
            "last_name": v["last"],
            "title": v["title"],
            "email": v["email"],
            "organization_name": v["company_name"],
            "present_raw_address": f"{place.city}, {place.state_name}, {place.country_name}",
            "city": place.city,
            "state": place.state_name,
            "country": place.country_name,
            "time_zone": place.time_zone,
            "phone_numbers": phones,
            "sanitized_phone": v["phone"],
            "label_names": list(v["tags"]),
            "contact_stage_id": v["stage"],
            "typed_custom_fields": custom,
            "linkedin_url": f"http://www.linkedin.com/in/{v['linkedin']}",
            "source": _SOURCES["apollo"][v["format"] % 4],
            "created_at": _iso(created),
            "updated_at": _iso(updated),
        }

    def leadconnector(self, v: dict[str, Any], newer: bool) -> dict[str, Any]:
        created, updated = self.stamps(v, newer)
        place: Place = v["place"]
        custom = [{"id": LC_SHIRT_FIELD, "value": v["shirt"]}] if v["shirt_known"] else []
        if v["since"]:
            custom.append({"id": LC_SINCE_FIELD, "value": v["since"]})
        record = {
            "id": self.rng.randbytes(20).translate(_ALNUM_TABLE).decode(),
            "firstName": v["first"],
            "lastName": v["last"],
            "email": v["email"],
            "phone": v["phone"],
            "companyName": v["company_name"],
            "address1": v["street"],
            "city": place.city,
            "state": place.state,
            "postalCode": v["postal"],
            "country": place.country,
            "website": f"https://www.{v['domain']}" if v["format"] < 2 else None,
            "timezone": place.time_zone,
            "tags": list(v["tags"]),
            "customFields": custom,
            "source": _SOURCES["leadconnector"][v["format"] % 3],
            "type": "customer" if "customer" in v["tags"] else "lead",
            "dateAdded": _iso(created),
            "dateUpdated": _iso(updated),
        }
        if v["birthday"]:
            record["dateOfBirth"] = f"{v['birthday']}T00:00:00.000Z"
        return {k: value for k, value in record.items() if value is not None}  # LC leaves out empty keys

    def cm(self, v: dict[str, Any], newer: bool) -> dict[str, Any]:
        created, updated = self.stamps(v, newer)
        place: Place = v["place"]
        employee = v["cm_type"] == "employee"
        record = {
            "id": None,
            "type": v["cm_type"],
            "first_name": v["first"],
            "last_name": v["last"],
            "email": v["email"],
            "phone_number": _formatted(v["phone"], (v["format"] + 1) % 5) if v["phone"] else None,
            "gender": None,
            "shirt_size": v["shirt"],
            "birthday": v["birthday"],
            "country": place.country,
            "address": v["street"],
            "unit": v["unit"],
            "city": place.city,
            "state": place.state,
            "zip_code": v["postal"],
            "department": v["department"] if employee else None,
            "position": v["title"],
            "employment_type": v["employment"] if employee else None,
            "start_date": _date(v["created"]) if employee else None,
            "company_name": v["company_name"],
            "wedding_anniversary": None,
            "address_validated": place.country in ("US", "CA"),
            "address_forced": False,
            "address_verified": place.country in ("US", "CA"),
            "lists": [1 + (v["format"] % len(CM_LISTS))] if v["format"] < 3 else [],
            "labels": [CM_LABEL_IDS[t] for t in v["tags"]],
            "created_at": _iso(created),
            "updated_at": _iso(updated),
        }
        return record


# --------------------------------------------------------------------------- steady-state edits


@dataclass(frozen=True)
class UiEdit:
    """A change a person makes in one system's UI: ``sim.ui_edit(contact_id, changes)``."""

    system: str
    contact_id: str
    changes: dict[str, Any]


def edits(
    records_by_system: dict[str, list[dict[str, Any]]], share: float, seed: int = 0
) -> dict[str, list[UiEdit]]:
    """UI edits for ``share`` of each system's contacts (as stored, with ids), in vendor field names.

    Each edit changes one thing a person would: a title, a tag or list, a phone, an address, a
    company name or a shirt size. Same records, share and seed give the same edits.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    gen = _Generator(seed)
    editors = {"apollo": gen.apollo_edit, "leadconnector": gen.lc_edit, "corporatemerch": gen.cm_edit}
    out: dict[str, list[UiEdit]] = {}
    for system, records in records_by_system.items():
        change = editors.get(system)
        if change is None:
            raise ValueError(f"unknown system {system!r}; known: {list(SYSTEMS)}")
        picked = sorted(gen.rng.sample(range(len(records)), round(share * len(records))))
        out[system] = [UiEdit(system, str(records[i]["id"]), change(records[i])) for i in picked]
    return out


def _toggled(r: Random, tags: list[str]) -> list[str]:
    """The tags with one removed or one from the vocabulary added."""
    if tags and r.random() < 0.4:
        return [t for t in tags if t != tags[int(r.random() * len(tags))]]
    return [*tags, _other(r, [t for t in TAGS if t not in tags] or list(TAGS), None)]


def _other(r: Random, items: Any, current: Any) -> Any:
    while True:
        item = items[int(r.random() * len(items))]
        if item != current or len(items) == 1:
            return item


@lru_cache(maxsize=1024)
def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c == " "))


def _company_name(index: int, *, legal: bool = True) -> str:
    word, kind = COMPANY_WORDS[index // len(COMPANY_KINDS)], COMPANY_KINDS[index % len(COMPANY_KINDS)]
    suffix = _LEGAL[index % len(_LEGAL)] if legal else ""
    return f"{word} {kind} {suffix}".strip()


def _company_domain(index: int) -> str:
    word, kind = COMPANY_WORDS[index // len(COMPANY_KINDS)], COMPANY_KINDS[index % len(COMPANY_KINDS)]
    return f"{word}{kind}.{_COMPANY_TLDS[index % len(_COMPANY_TLDS)]}".lower()


def _formatted(e164: str, style: int) -> str:
    """One of the ways people type a number; all of them parse back to ``e164``."""
    if e164.startswith("+1"):
        area, exchange, line = e164[2:5], e164[5:8], e164[8:]
        return (
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"+1 {area} {exchange} {line}",
            f"{area}.{exchange}.{line}",
            e164,
        )[style]
    country = e164[1:3]
    rest = e164[3:]
    return e164 if style == 4 else f"+{country} {rest[:-8]} {rest[-8:-4]} {rest[-4:]}".replace("  ", " ")


def _iso(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``; the date part is cached per day (speed)."""
    seconds, ms = divmod(epoch_ms, 1000)
    day, second = divmod(seconds, _DAY)
    hour, rest = divmod(second, 3600)
    return f"{_date(day * _DAY)}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}.{ms:03d}Z"


def _date(epoch: int) -> str:
    return _day(epoch // _DAY)


@lru_cache(maxsize=8192)
def _day(day: int) -> str:
    return datetime.fromtimestamp(day * _DAY, UTC).strftime("%Y-%m-%d")
