"""Fixtures for the mirror tests: every test gets its own database, on SQLite (a file under
``tmp_path``) and on PostgreSQL (a scratch schema) when ``SYNCENGINE_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from mirror_support import FakeClock
from pg_support import postgres_url, scratch_schema

from syncengine.mirror import Mirror


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], str]]:
    """Makes what ``Mirror.open`` is given for a new, empty database: a file path, or a
    PostgreSQL URL bound to a fresh schema (dropped after the test)."""
    url = postgres_url()
    if request.param == "postgresql" and url is None:
        pytest.skip("SYNCENGINE_TEST_DATABASE_URL is not set")
    with ExitStack() as cleanup:

        def make() -> str:
            if request.param == "sqlite":
                return str(tmp_path_factory.mktemp("state") / "syncengine.db")
            return cleanup.enter_context(scratch_schema(url))

        yield make


@pytest.fixture
def mirror_target(new_target: Callable[[], str]) -> str:
    return new_target()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mirror(mirror_target: str, clock: FakeClock) -> Iterator[Mirror]:
    opened = Mirror.open(mirror_target, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def run_id(mirror: Mirror) -> int:
    return mirror.start_run().id
