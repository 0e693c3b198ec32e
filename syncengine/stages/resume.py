"""Resume: settle what an interrupted run left in the outbox, after the pull and before matching.

A create whose answer was lost is looked for among the records just pulled, which costs no call
of the system's budget (``Pusher.resume``).
"""

from __future__ import annotations

from syncengine.connectors.base import RemoteRecord
from syncengine.match import record_keys
from syncengine.mirror import OutboxOp
from syncengine.push import Pusher
from syncengine.stages.context import RunContext


def resume(ctx: RunContext, active: tuple[str, ...]) -> dict[str, int]:
    return Pusher(ctx.mirror, ctx.connectors, run_id=ctx.run_id).resume(active, _Finder(ctx))


class _Finder:
    """The unlinked record just pulled that a create whose answer was lost made: the only one
    sharing the create's strongest match key (email, then phone, then name and company). None when
    no record, or more than one, holds it."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.unlinked: dict[str, list[tuple[RemoteRecord, set[str]]]] = {}

    def __call__(self, stored: OutboxOp) -> RemoteRecord | None:
        kinds = self.ctx.rules.match_keys
        values = (stored.payload or {}).get("values", {})
        wanted = [record_keys(values, [kind]) for kind in kinds]
        if not any(wanted):
            return None
        held = self._unlinked(stored.system)
        for keys in wanted:
            if not keys:
                continue
            found = [remote for remote, keys_held in held if keys_held & keys]
            if len(found) == 1:
                held[:] = [(r, h) for r, h in held if r.remote_id != found[0].remote_id]
                return found[0]
            if found:
                return None  # several: matching decides, and reports an ambiguity
        return None

    def _unlinked(self, system: str) -> list[tuple[RemoteRecord, set[str]]]:
        if system not in self.unlinked:
            kinds = self.ctx.rules.match_keys
            connector = self.ctx.connectors[system]
            self.unlinked[system] = [
                (remote, record_keys(connector.to_canonical(remote).values, kinds))
                for record in self.ctx.mirror.unlinked_records(system)
                if not record.is_deleted
                for remote in [RemoteRecord(system, record.remote_id, record.raw, record.remote_updated_at)]
            ]
        return self.unlinked[system]
