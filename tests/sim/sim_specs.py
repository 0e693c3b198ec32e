"""Where the vendors' official OpenAPI documents are: ``$SYNCENGINE_SPECS_DIR`` or ``../shared/specs``.

They are reference material kept beside the repository, not in it; tests that need them are skipped
with a reason when they are absent, except that a test marked ``required_in_ci`` fails instead
when the ``CI`` environment variable is set, so CI cannot pass without running it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SPECS_DIR = Path(
    os.environ.get("SYNCENGINE_SPECS_DIR", Path(__file__).resolve().parents[3] / "shared" / "specs")
)


def spec_path(relative: str, *, whole_module: bool = True, required_in_ci: bool = False) -> Path:
    """The document's path; skips the module (or, with ``whole_module=False``, the test) without it."""
    path = SPECS_DIR / relative
    if not path.exists():
        reason = f"OpenAPI document not found: {path} (set SYNCENGINE_SPECS_DIR)"
        if required_in_ci and os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this test may not be skipped", pytrace=False)
        pytest.skip(reason, allow_module_level=whole_module)
    return path
