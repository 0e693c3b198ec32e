"""Rate budgets shared by every process that calls the same account, kept in PostgreSQL.

Two workers syncing pairings on one Apollo team (or one LeadConnector location) each pace
themselves by the documented limits, and together would spend twice the account's budget. So a
worker's ``RateLimiter`` also asks a ``SharedBudget`` before each call: one table holds the calls
spent per account, bucket (Apollo's endpoint action) and window, and one transaction counts the
call in every window of the system or, when one is full, in none of them::

    INSERT ... VALUES (account, bucket, window, start, 1)
    ON CONFLICT DO UPDATE SET spent = spent + 1 WHERE spent < limit RETURNING spent

No row back means the window is spent: the transaction is rolled back and the caller waits for the
window's end. Windows are fixed and aligned on the epoch, as the vendors count them (Apollo's minute,
hour and day; LeadConnector's 10 seconds and day). Each window is counted under the account its
vendor counts it for: LeadConnector's daily window per location across all its tokens, its burst
window per token (``scopes``).

The servers' own answers (rate-limit headers, 429s) still correct each process as before.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from syncengine.connectors.ratelimit import Hold, Window

TABLE = "syncengine_budget_spend"
log = logging.getLogger("syncengine.budget")
_PRUNE_EVERY = 500  # calls between deletions of windows that have ended

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    account text NOT NULL,
    bucket text NOT NULL,
    window_name text NOT NULL,
    window_start double precision NOT NULL,
    ends_at double precision NOT NULL,
    spent integer NOT NULL,
    PRIMARY KEY (account, bucket, window_name, window_start)
)
"""

_TAKE = f"""
INSERT INTO {TABLE} AS t (account, bucket, window_name, window_start, ends_at, spent)
VALUES (%(account)s, %(bucket)s, %(window)s, %(start)s, %(ends)s, 1)
ON CONFLICT (account, bucket, window_name, window_start)
DO UPDATE SET spent = t.spent + 1 WHERE t.spent < %(limit)s
RETURNING spent
"""


class SharedBudget:
    """The calls one system's client may still make on an account, across processes.

    ``account``: whose budget (``apollo:acme``); ``scopes`` maps a window's name to another
    account key where the vendor counts that window apart (LeadConnector's burst per token).
    Thread-safe: one connection, used under a lock."""

    def __init__(
        self,
        url: str,
        account: str,
        *,
        scopes: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import psycopg

        self.account = account
        self.scopes = dict(scopes or {})
        self._clock = clock
        self._url = url
        self._conn = psycopg.connect(url, autocommit=False)
        self._lock = threading.Lock()
        self._taken = 0

    def take(self, bucket: str, windows: tuple[Window, ...]) -> Hold | None:
        """Count one call in each limited window (None), or in none and say how long to wait.

        When the database cannot be reached the call is granted: each process still keeps to the
        documented limits on its own, and the servers' answers still pace it."""
        import psycopg

        try:
            return self._take(bucket, windows)
        except psycopg.Error as exc:
            log.warning("shared budget of %s not reachable, pacing alone: %s", self.account, exc)
            with self._lock:
                self._reconnect()
            return None

    def _reconnect(self) -> None:
        import psycopg

        try:
            self._conn.close()
            self._conn = psycopg.connect(self._url, autocommit=False)
        except psycopg.Error:
            pass  # tried again at the next call

    def _take(self, bucket: str, windows: tuple[Window, ...]) -> Hold | None:
        now = self._clock()
        with self._lock:
            self._taken += 1
            if self._taken % _PRUNE_EVERY == 0:
                self._prune(now)
            with self._conn.cursor() as cur:
                for window in windows:
                    if window.limit is None:
                        continue
                    start = math.floor(now / window.seconds) * window.seconds
                    account = self.scopes.get(window.name, self.account)
                    cur.execute(_TAKE, {
                        "account": account, "bucket": bucket, "window": window.name, "start": start,
                        "ends": start + window.seconds, "limit": window.limit,
                    })  # fmt: skip
                    if cur.fetchone() is None:
                        self._conn.rollback()
                        return Hold(
                            max(start + window.seconds - now, 0.001),
                            f"{window.name} window: {window.limit} requests per {window.seconds:g} s "
                            f"used by every worker on {account}",
                        )
            self._conn.commit()
            return None

    def spent(self, bucket: str, window: Window) -> int:
        """Calls counted in ``window``'s current span (for reports and tests)."""
        now = self._clock()
        start = math.floor(now / window.seconds) * window.seconds
        with self._lock, self._conn.cursor() as cur:
            cur.execute(
                f"SELECT spent FROM {TABLE} WHERE account = %s AND bucket = %s AND window_name = %s "
                "AND window_start = %s",
                (self.scopes.get(window.name, self.account), bucket, window.name, start),
            )
            row = cur.fetchone()
            self._conn.commit()
        return int(row[0]) if row else 0

    def _prune(self, now: float) -> None:
        with self._conn.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE} WHERE ends_at < %s", (now - 60,))
        self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def create_table(url: str) -> None:
    """Create the spend table where ``url``'s connections look (its ``search_path``)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
