"""Where the state database lives, and an engine set up for it.

SQLite (the default) is a file ``state/syncengine.db``, created owner-only (0600; SQLite gives its
``-wal`` and ``-shm`` files the same mode) and run in WAL mode: readers never block the writer,
and a crash loses at most the transaction in flight. ``synchronous=NORMAL`` is durable in WAL mode
except for the last transactions before a power cut, never corrupting. A transaction that may
write starts with ``BEGIN IMMEDIATE`` so that two writers wait for each other (``busy_timeout``)
instead of failing halfway when a reader upgrades to a writer.

A ``postgresql://`` URL selects PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url

from syncengine.mirror.errors import CorruptStateError, StateFileError

DEFAULT_STATE_DIR = Path("state")
DEFAULT_FILENAME = "syncengine.db"
BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
READ_ONLY = "syncengine_read_only"  # execution option: this transaction only reads



@dataclass(frozen=True)
class Location:
    """A resolved state database: its SQLAlchemy URL and, for SQLite, the file."""

    url: URL
    path: Path | None

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def describe(self) -> str:
        """The file path, or the URL with its password hidden: safe to print and log."""
        if self.path is not None:
            return str(self.path)
        return self.url.render_as_string(hide_password=True)


def resolve(target: str | os.PathLike[str] | None, state_dir: str | os.PathLike[str] | None) -> Location:
    """The database meant by ``target``: None (``<state_dir>/syncengine.db``), a file or directory
    path, a ``sqlite:///`` URL, or a ``postgresql://`` URL."""
    if target is None:
        return _sqlite_location(Path(state_dir or DEFAULT_STATE_DIR) / DEFAULT_FILENAME)
    text = os.fspath(target)
    if "://" not in text:
        path = Path(text)
        return _sqlite_location(path / DEFAULT_FILENAME if path.is_dir() else path)
    url = make_url(text)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StateFileError(f"{text}: an in-memory database would forget the state; give a file path")
        return _sqlite_location(Path(url.database))
    if backend == "postgresql":
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return Location(url=url, path=None)
    shown = url.render_as_string(hide_password=True)
    raise StateFileError(f"{shown}: only SQLite and PostgreSQL are supported")


def _sqlite_location(path: Path) -> Location:
    path = path.expanduser().absolute()
    return Location(url=URL.create("sqlite", database=str(path)), path=path)


def ensure_private_file(path: Path) -> None:
    """Create the SQLite file (and its directory) readable by the owner only, or tighten an
    existing file to 0600: the mirror holds copies of customer contact data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if not path.is_file():
            raise StateFileError(f"{path}: exists and is not a file") from None
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    else:
        os.close(fd)


def make_engine(location: Location) -> Engine:
    """An engine for ``location``; SQLite connections get the pragmas described above."""
    if location.backend == "sqlite":
        engine = create_engine(location.url)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(location.url, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # The driver's own implicit BEGIN is off; _begin_immediate issues ours (SQLAlchemy's pysqlite
    # recipe), which also makes SAVEPOINT and transactional DDL work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin(conn: Any) -> None:
    # A read-only transaction reads a WAL snapshot without taking the write lock, so status and
    # conflict listings work while a run holds a long write transaction.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def require_sound_sqlite(conn: Any, where: str) -> None:
    """Read every page (``PRAGMA quick_check``, about 0.1 s per 150 MB) and raise
    ``CorruptStateError`` naming ``where`` if any is damaged."""
    found = [line for row in conn.exec_driver_sql("PRAGMA quick_check") for line in str(row[0]).splitlines()]
    if found != ["ok"]:
        more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
        raise corruption_error(where, "; ".join(found[:3]) + more)


def corruption_error(where: str, detail: object) -> CorruptStateError:
    return CorruptStateError(
        f"{where}: not a sound SQLite database ({detail}). The file was left as it is: restore it from "
        "a backup, or move it aside to start from an empty state."
    )


def is_corruption(exc: BaseException) -> bool:
    """Whether ``exc`` (or the driver error it wraps) says the file is not a sound SQLite database."""
    orig = getattr(exc, "orig", None) or exc
    name = getattr(orig, "sqlite_errorname", "")
    return isinstance(orig, sqlite3.DatabaseError) and name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
