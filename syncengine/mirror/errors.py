"""Errors raised by the mirror, grouped by what the caller should do.

``MirrorError``
 ├── ``StateFileError``         the state database cannot be used as it is: stop, tell a person
 │    ├── ``CorruptStateError``      the file is not a readable SQLite database (left untouched)
 │    ├── ``SchemaVersionError``     written by a newer syncengine, or not a syncengine database
 ├── ``MirrorValueError``       a value cannot be stored (naive datetime, not JSON); names the field
 ├── ``LinkConflictError``      a link would give an entity two records in one system, or a record
 │                              two entities
 ├── ``NotFoundError``          an id (run, conflict, op) that the mirror does not know
 └── ``StateTransitionError``   an outbox op or conflict asked to move to a state it cannot reach
"""

from __future__ import annotations


class MirrorError(Exception):
    """Base class of every error the mirror raises."""


class StateFileError(MirrorError):
    """The state database cannot be opened as it is; nothing was changed in it."""


class CorruptStateError(StateFileError):
    """The file exists but is not a readable SQLite database."""


class SchemaVersionError(StateFileError):
    """The schema version is unknown to this syncengine (newer, or not a syncengine database)."""


class MirrorValueError(MirrorError, ValueError):
    """A value cannot be stored as given; the message names the record or row and the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LinkConflictError(MirrorError):
    """Linking would break the identity map: one record per system per entity, one entity per record."""


class NotFoundError(MirrorError, LookupError):
    """An id that the mirror does not hold."""


class StateTransitionError(MirrorError):
    """An outbox op or a conflict cannot move from its current state to the one asked for."""
