"""The failures a page shows as one line instead of an error page: the ones the command line turns
into exit codes (``syncengine.commands._guard``), with the same words."""

from __future__ import annotations

from syncengine.actions import ActionError
from syncengine.config import ConfigFileError
from syncengine.connectors.errors import ConnectorError, StopSystemError
from syncengine.mirror import MirrorError
from syncengine.rules import RulesError
from syncengine.sim.runner import SimClusterError
from syncengine.state_lock import StateBusyError
from syncengine.sync import RunFailedError


def failing(exc: BaseException) -> str | None:
    """The line to show for ``exc``, or None for a defect (raised on)."""
    if isinstance(exc, StateBusyError):
        return f"busy: {exc}"
    if isinstance(exc, ConfigFileError | RulesError):
        return f"configuration error: {exc}"
    if isinstance(exc, ActionError | SimClusterError):
        return str(exc)
    if isinstance(exc, RunFailedError | StopSystemError | MirrorError | ConnectorError):
        return f"error: {exc}"
    return None
