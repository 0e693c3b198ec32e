"""PostgreSQL for the tests: the URL CI sets, and scratch schemas that keep tests apart."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_URL_VARIABLE = "SYNCENGINE_TEST_DATABASE_URL"


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """A new empty PostgreSQL schema; yields a URL whose connections use it; drops it after."""
    import psycopg

    schema = f"mirror_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in url else "?"
            yield f"{url}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_url() -> str | None:
    return os.environ.get(PG_URL_VARIABLE) or None
