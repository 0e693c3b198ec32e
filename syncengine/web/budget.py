"""The rate budget a system had left, as its client last knew it (from the servers' rate-limit
headers where they send them, else from the documented windows and the calls sent)."""

from __future__ import annotations

from typing import Any


def budget_left(connector: Any) -> dict[str, int]:
    """Per window (``minute``, ``day``...), the fewest calls left in any of the client's buckets;
    empty when the client keeps no such count."""
    limiter = getattr(getattr(connector, "client", None), "limiter", None)
    left: dict[str, int] = {}
    for bucket in dict(getattr(limiter, "_buckets", {}) or {}).values():
        for window in getattr(bucket, "windows", ()):
            server_left = getattr(window, "server_left", None)
            if server_left is not None:
                count = int(server_left) - int(getattr(window, "sent_since_observed", 0))
            elif getattr(window, "limit", None) is not None:
                count = int(window.limit) - len(getattr(window, "sent", ()))
            else:
                continue
            name = str(getattr(window, "name", "window"))
            left[name] = min(count, left.get(name, count))
    return left
