"""One writer at a time per state: the lock every command that writes the state or a CRM holds.

Two runs on one state would both see the same person as new and both create them, and would move
the same outbox ops and runs under each other's feet. So ``sync``, ``run``, ``resolve`` and ``undo``
take an exclusive lock first; read-only commands never take it and never wait.

- SQLite: ``flock`` on a file beside the database (``syncengine.db.lock``). The kernel drops the
  lock when its process dies, however it dies, so a lock left by a killed run is never in force and
  is simply taken by the next one; the file keeps the last holder's pid, host and start time,
  which is only read to name a live holder.
- PostgreSQL: a session-level advisory lock keyed on the state (and pairing), held on a connection
  of its own. The server drops it when that connection ends; the holder is named through
  ``application_name`` in ``pg_stat_activity``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from syncengine.mirror.db import Location

POLL_SECONDS = 0.2
_PG_NAMESPACE = 0x5E1C  # first key of the advisory lock: ours, whatever else uses advisory locks


@dataclass(frozen=True)
class Holder:
    """Who holds a state: enough for a person to find the process."""

    pid: int
    host: str
    started_at: str
    command: str = ""

    def describe(self) -> str:
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host}{what}, since {self.started_at}"


class StateBusyError(Exception):
    """Another process holds the state's lock; nothing was written."""

    def __init__(self, where: str, holder: Holder | None, waited: float) -> None:
        self.where, self.holder, self.waited = where, holder, waited
        who = holder.describe() if holder else "another process"
        after = f" after waiting {waited:g} s" if waited else ""
        super().__init__(
            f"{where} is in use by {who}{after}; nothing was written. Wait for it to finish, "
            "or give --wait SECONDS"
        )


def _me(command: str) -> Holder:
    return Holder(os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat(timespec="seconds"), command)


@contextmanager
def hold_state(
    location: Location, *, wait: float = 0.0, command: str = "", pairing: str = ""
) -> Iterator[Holder]:
    """Hold the exclusive lock of the state at ``location`` for the block; raise ``StateBusyError``
    when another process still holds it after ``wait`` seconds."""
    me = _me(command)
    if location.path is not None:
        with _file_lock(location.path.with_name(location.path.name + ".lock"), me, wait):
            yield me
    else:
        with _advisory_lock(location, pairing, me, wait):
            yield me


@contextmanager
def _file_lock(path: Path, me: Holder, wait: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StateBusyError(str(path.with_suffix("")), _read_holder(path), wait) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me.__dict__).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text() or "null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def _pg_key(location: Location, pairing: str) -> int:
    # The URL without password, query included: a schema chosen through ``options`` is another state.
    name = f"{location.url.set(drivername='postgresql').render_as_string(hide_password=True)}#{pairing}"
    return zlib.crc32(name.encode()) - 2**31  # a signed int4, as pg_advisory_lock(int4, int4) takes


@contextmanager
def _advisory_lock(location: Location, pairing: str, me: Holder, wait: float) -> Iterator[None]:
    # application_name names the holder to others (at most 63 bytes are kept by the server).
    label = f"syncengine {me.pid}@{me.host[:20]} {me.started_at}"[:63]
    engine = create_engine(
        location.url,
        poolclass=NullPool,
        connect_args={"application_name": label, "keepalives": 1, "keepalives_idle": 10},
    )
    key = _pg_key(location, pairing)
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + max(wait, 0.0)
            keys = {"a": _PG_NAMESPACE, "b": key}
            while not conn.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), keys):
                if time.monotonic() >= deadline:
                    raise StateBusyError(location.describe(), _pg_holder(conn, key), wait)
                time.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
    finally:
        engine.dispose()


def _pg_holder(conn: Connection, key: int) -> Holder | None:
    row = conn.execute(
        text(
            "SELECT a.application_name, a.pid, a.client_hostname, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :a AND l.objid = :b AND l.objsubid = 2"
        ),
        {"a": _PG_NAMESPACE, "b": key & 0xFFFFFFFF},
    ).first()
    if row is None:
        return None
    name = str(row.application_name or "")
    parts = name.split(" ")
    if len(parts) >= 3 and parts[0] == "syncengine" and "@" in parts[1]:
        pid, host = parts[1].split("@", 1)
        return Holder(int(pid) if pid.isdigit() else 0, host, parts[2])
    started = row.backend_start.isoformat(timespec="seconds") if row.backend_start else "?"
    return Holder(0, str(row.client_hostname or "?"), started, f"server pid {row.pid}")
