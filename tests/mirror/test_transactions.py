"""``mirror.transaction()``: a run's base, history and outbox confirmations commit together."""

from __future__ import annotations

import threading

import pytest

from syncengine.mirror import HistoryEntry, Mirror, NewOp


class Boom(Exception):
    pass


def _commit_run(mirror: Mirror, entity: str, op_id: str, run_id: int) -> None:
    mirror.set_base(entity, {"email": "new@x.com"}, run_id=run_id)
    mirror.add_history([HistoryEntry(entity, "email", "old@x.com", "new@x.com", "prefer", "apollo", run_id)])
    mirror.confirm(op_id)


def test_block_commits_everything_together(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    op = mirror.enqueue(NewOp("apollo", "update", {"email": "new@x.com"}, entity, "a1"), run_id=run_id)

    with mirror.transaction():
        _commit_run(mirror, entity, op.op_id, run_id)

    assert mirror.get_base([entity])[entity] == {"email": "new@x.com"}
    assert len(mirror.history(entity_id=entity)) == 1
    assert mirror.get_op(op.op_id).state == "confirmed"


def test_error_in_block_rolls_everything_back(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    op = mirror.enqueue(NewOp("apollo", "update", {"email": "new@x.com"}, entity, "a1"), run_id=run_id)

    with pytest.raises(Boom), mirror.transaction():
        _commit_run(mirror, entity, op.op_id, run_id)
        raise Boom

    assert mirror.get_base([entity])[entity] == {}
    assert mirror.history(entity_id=entity) == []
    assert mirror.get_op(op.op_id).state == "pending"


def test_inner_block_rolls_back_alone(mirror: Mirror) -> None:
    entity = mirror.new_entity()

    with mirror.transaction():
        mirror.set_base(entity, {"kept": 1}, run_id=None)
        with pytest.raises(Boom), mirror.transaction():
            mirror.set_base(entity, {"dropped": 2}, run_id=None)
            raise Boom

    assert mirror.get_base([entity])[entity] == {"kept": 1}


def test_readers_see_the_last_commit_while_a_write_transaction_is_open(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    mirror.set_base(entity, {"email": "committed@x.com"}, run_id=None)
    seen: list[dict] = []

    with mirror.transaction():
        mirror.set_base(entity, {"email": "draft@x.com"}, run_id=None)
        reader = threading.Thread(target=lambda: seen.append(mirror.get_base([entity])[entity]))
        reader.start()
        reader.join(timeout=5)

    assert seen == [{"email": "committed@x.com"}]
    assert mirror.get_base([entity])[entity] == {"email": "draft@x.com"}
