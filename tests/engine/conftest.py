"""The engine tests' fixture. Their helpers live in ``engine_world``: a module named ``conftest``
would clash with the mirror tests' own when both folders run in one session."""

from engine_world import world  # noqa: F401 - the fixture, for pytest to find
