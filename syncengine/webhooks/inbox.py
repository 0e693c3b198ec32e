"""The receiver's durable memory: webhook ids already seen, and the contacts owed a targeted sync.

A small SQLite file of its own in the state directory (``webhooks.db``, readable by its owner
only), so a webhook answered 200 is not lost when the process stops before its sync ran, and a
replay is recognised across restarts. The mirror's database stays the engine's alone.

* ``seen``: one row per ``webhookId`` accepted, kept for ``keep_seconds`` (past that, the
  timestamp check refuses a replay anyway);
* ``queue``: one row per contact owed a sync; a second webhook for a queued contact only moves
  its ``queued_at``, so ``done`` can tell a contact queued again while its sync ran.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

INBOX_FILE = "webhooks.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (webhook_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at ON seen (seen_at);
CREATE TABLE IF NOT EXISTS queue (
    system TEXT NOT NULL, remote_id TEXT NOT NULL, queued_at REAL NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (system, remote_id)
);
"""


@dataclass(frozen=True)
class Queued:
    """One contact owed a targeted sync."""

    system: str
    remote_id: str
    queued_at: float
    event: str


class InboxFullError(Exception):
    """The queue holds ``max_queued`` contacts; answered 429, which LeadConnector retries."""


class Inbox:
    def __init__(self, path: Path, *, keep_seconds: float = 900.0, max_queued: int = 100_000) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self.max_queued = max_queued
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # contact ids: owner only
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._pruned_at = 0.0

    def accept(
        self, webhook_id: str, system: str, remote_id: str, event: str, *, at: float | None = None
    ) -> bool:
        """Remember the webhook and queue its contact, in one transaction. False: the id was seen
        before (a replay or a redelivery), and nothing changed."""
        now = time.time() if at is None else at

        def queue(cur: sqlite3.Cursor) -> None:
            queued = cur.execute(
                "SELECT 1 FROM queue WHERE system = ? AND remote_id = ?", (system, remote_id)
            ).fetchone()
            if queued is None and self._size(cur) >= self.max_queued:
                raise InboxFullError(f"{self.max_queued} contacts wait for a sync")
            cur.execute(
                "INSERT INTO queue (system, remote_id, queued_at, event) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (system, remote_id) DO UPDATE SET queued_at = excluded.queued_at, "
                "event = excluded.event",
                (system, remote_id, now, event),
            )

        return self._once(webhook_id, now, queue)

    def remember(self, webhook_id: str, then: Callable[[], object], *, at: float | None = None) -> bool:
        """Remember the webhook and call ``then`` (which hands its contact on elsewhere: a job for
        the workers) in one transaction; when ``then`` raises, the id is not remembered and the
        error propagates. False: the id was seen before, and ``then`` was not called."""
        return self._once(webhook_id, time.time() if at is None else at, lambda _cur: then())

    def _once(self, webhook_id: str, now: float, then: Callable[[sqlite3.Cursor], object]) -> bool:
        """Record ``webhook_id`` as seen and run ``then`` in the same transaction, unless the id
        was seen before; an error in ``then`` rolls both back."""
        with self._lock:
            self._prune(now)
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                inserted = cur.execute(
                    "INSERT OR IGNORE INTO seen (webhook_id, seen_at) VALUES (?, ?)", (webhook_id, now)
                ).rowcount
                if inserted:
                    then(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return bool(inserted)

    def peek(self, limit: int) -> list[Queued]:
        """The contacts queued longest, at most ``limit``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT system, remote_id, queued_at, event FROM queue ORDER BY queued_at LIMIT ?", (limit,)
            ).fetchall()
        return [Queued(*row) for row in rows]

    def done(self, items: Sequence[Queued]) -> None:
        """Drop what a sync covered; a contact queued again since it was peeked stays."""
        with self._lock:
            self._conn.executemany(
                "DELETE FROM queue WHERE system = ? AND remote_id = ? AND queued_at <= ?",
                [(i.system, i.remote_id, i.queued_at) for i in items],
            )

    def size(self) -> int:
        with self._lock:
            return self._size(self._conn.cursor())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _size(cur: sqlite3.Cursor) -> int:
        return int(cur.execute("SELECT count(*) FROM queue").fetchone()[0])

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < 60:
            return
        self._pruned_at = now
        self._conn.execute("DELETE FROM seen WHERE seen_at < ?", (now - self.keep_seconds,))
