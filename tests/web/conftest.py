"""The web tests' fixtures live in ``web_world`` and ``browser`` (a module named ``conftest`` is
not importable from two folders in one session)."""

from browser import browser, page, screenshots  # noqa: F401 - fixtures, for pytest to find
from web_world import web  # noqa: F401
