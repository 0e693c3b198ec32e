"""Apollo's rate limits by plan for "All other APIs" (contacts, search of own records, stages,
labels, fields, users, usage): the figures every endpoint action gets unless set on its own.

Sources:
* per minute and per hour: https://docs.apollo.io/reference/rate-limits, table "All Other APIs"
  (Free 1–50 / 20–200, Basic 200 / 400, Organization 200 / 400, Professional 200 / 600 "or custom");
* per day: the docs' row is cut off in every stored copy; the api-evangelist summary lists
  600 / 2,000 / 2,000 / 6,000. Its Organization/Professional labels may be swapped (apis.md open
  question 5); the order kept here pairs 400/hour with 2,000/day and 600/hour with 6,000/day, as
  the usage-stats example of the spec does (``organization_top_people`` 200/400/2000, contacts
  actions 200/600/6000).
* Free gives ranges; the upper end is used (50/minute, 200/hour), which is also the Free row of the
  enrichment table with its 600/day.
"""

from __future__ import annotations

PLANS: dict[str, dict[str, int | None]] = {
    "free": {"minute": 50, "hour": 200, "day": 600},
    "basic": {"minute": 200, "hour": 400, "day": 2000},
    "organization": {"minute": 200, "hour": 400, "day": 2000},
    "professional": {"minute": 200, "hour": 600, "day": 6000},
}
DEFAULT_PLAN = "professional"  # the figures of the spec's usage-stats example for contacts actions
CUSTOM = "custom"  # "200 or custom": limits set window by window


def plan_limits(plan: str) -> dict[str, int | None]:
    """The three windows of ``plan``; ValueError for a name the docs do not list."""
    if plan not in PLANS:
        raise ValueError(f"unknown Apollo plan {plan!r}; known: {sorted(PLANS)} or {CUSTOM!r}")
    return dict(PLANS[plan])


def plan_name(plan: str, limits: dict[str, int | None]) -> str:
    """``plan`` while the limits are still its figures, else ``custom``."""
    return plan if PLANS.get(plan) == limits else CUSTOM
