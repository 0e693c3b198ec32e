"""Where the vendors' official OpenAPI documents are: ``$SYNCENGINE_SPECS_DIR`` or ``../shared/specs``.

They are reference material kept beside the repository, not in it; tests that need them are skipped
with a reason when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SPECS_DIR = Path(
    os.environ.get("SYNCENGINE_SPECS_DIR", Path(__file__).resolve().parents[3] / "shared" / "specs")
)


def spec_path(relative: str, *, whole_module: bool = True) -> Path:
    """The document's path; skips the module (or, with ``whole_module=False``, the test) without it."""
    path = SPECS_DIR / relative
    if not path.exists():
        pytest.skip(
            f"OpenAPI document not found: {path} (set SYNCENGINE_SPECS_DIR)", allow_module_level=whole_module
        )
    return path
