"""Opening the state database: where it lives, its permissions and pragmas, and refusing files
that are damaged, foreign or from a newer syncengine without touching them."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from mirror_support import contact, raw_engine
from sqlalchemy import text

from syncengine.mirror import (
    LATEST_VERSION,
    CorruptStateError,
    Mirror,
    SchemaVersionError,
    StateFileError,
)
from syncengine.mirror.db import resolve


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_location_is_syncengine_db_in_the_state_dir(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    with Mirror.open(state_dir=state_dir) as mirror:
        info = mirror.info()

    assert info.location == str(state_dir / "syncengine.db")
    assert (state_dir / "syncengine.db").is_file()


def test_a_directory_path_means_the_file_inside_it(tmp_path: Path) -> None:
    with Mirror.open(tmp_path) as mirror:
        assert mirror.info().location == str(tmp_path / "syncengine.db")


def test_new_state_file_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with Mirror.open(state_dir=state_dir) as mirror:
        mirror.start_run()
        created = sorted(p.name for p in state_dir.iterdir())
        modes = {p.name: _mode(p) for p in state_dir.iterdir()}

    assert created == ["syncengine.db", "syncengine.db-shm", "syncengine.db-wal"]
    assert set(modes.values()) == {0o600}
    assert _mode(state_dir) == 0o700


def test_existing_state_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.db"
    Mirror.open(path).close()
    os.chmod(path, 0o644)

    Mirror.open(path).close()

    assert _mode(path) == 0o600


def test_sqlite_runs_in_wal_mode_with_safe_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.db"
    with Mirror.open(path) as mirror:
        settings = mirror.info().settings

    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == "1"  # NORMAL
    assert settings["foreign_keys"] == "1"
    assert int(settings["busy_timeout"]) >= 5000
    with sqlite3.connect(path) as conn:  # WAL is a property of the file, seen by any client
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_finds_what_was_stored(mirror_target: str) -> None:
    with Mirror.open(mirror_target) as mirror:
        run_id = mirror.start_run().id
        mirror.upsert_records("apollo", [contact("a")], run_id=run_id)

    with Mirror.open(mirror_target) as mirror:
        assert mirror.get_record("apollo", "a").raw == contact("a").raw
        assert mirror.info().schema_version == LATEST_VERSION


def test_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.db"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)

    with pytest.raises(CorruptStateError, match=f"{path}: not a sound SQLite database") as caught:
        Mirror.open(path)

    assert "left as it is" in str(caught.value)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syncengine.db"]


def test_damaged_pages_are_found_when_opening(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.db"
    with Mirror.open(path) as mirror:
        run_id = mirror.start_run().id
        pulled = [contact(f"r{i}", notes="x" * 500) for i in range(500)]
        mirror.upsert_records("apollo", pulled, run_id=run_id)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[3 * page_size : 6 * page_size] = b"\xa5" * (3 * page_size)  # pages 4-6; the header stays valid
    path.write_bytes(bytes(data))

    with pytest.raises(CorruptStateError, match=str(path)):
        Mirror.open(path)

    assert path.read_bytes() == bytes(data)


def test_check_integrity_passes_on_a_sound_file(mirror: Mirror) -> None:
    mirror.check_integrity()  # raises on damage; PostgreSQL has nothing to check here


def test_newer_schema_is_refused_without_change(mirror_target: str) -> None:
    Mirror.open(mirror_target).close()
    engine = raw_engine(mirror_target)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :at)"),
            {"v": LATEST_VERSION + 5, "at": "2030-01-01T00:00:00.000000+00:00"},
        )

    with pytest.raises(SchemaVersionError, match=f"version {LATEST_VERSION + 5} was written by a newer"):
        Mirror.open(mirror_target)

    with engine.connect() as conn:
        assert conn.scalar(text("SELECT max(version) FROM schema_version")) == LATEST_VERSION + 5
    engine.dispose()


def test_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")

    with pytest.raises(SchemaVersionError, match="not a syncengine state database"):
        Mirror.open(path)


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(StateFileError, match="in-memory database would forget"):
        Mirror.open("sqlite://")


def test_postgresql_url_uses_psycopg_3_and_never_shows_the_password() -> None:
    location = resolve("postgresql://sync:s3cret@db.example.com:5432/state", None)

    assert location.url.drivername == "postgresql+psycopg"
    assert "s3cret" not in location.describe()
    assert location.describe().startswith("postgresql+psycopg://sync:***@db.example.com")


def test_unreachable_postgresql_gives_a_state_file_error_without_password() -> None:
    with pytest.raises(StateFileError) as caught:
        Mirror.open("postgresql://sync:s3cret@127.0.0.1:1/state?connect_timeout=2")

    assert "cannot open the state database" in str(caught.value)
    assert "s3cret" not in str(caught.value)
