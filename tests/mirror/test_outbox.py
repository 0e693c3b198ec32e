"""The outbox: every write is stored before it is sent, and survives a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from syncengine.mirror import Mirror, MirrorValueError, NewOp, NotFoundError, StateTransitionError


def _update(op_id: str = "op-u", system: str = "apollo") -> NewOp:
    return NewOp(system, "update", {"title": "CTO"}, entity_id=None, remote_id="a1", op_id=op_id)


def test_enqueued_op_is_pending_with_its_payload(mirror: Mirror, run_id: int, clock) -> None:
    entity = mirror.new_entity()
    new = NewOp("leadconnector", "tags", {"add": ["vip"]}, entity, "l1", op_id="op-1")

    op = mirror.enqueue(new, run_id=run_id)

    assert (op.op_id, op.run_id, op.system, op.kind, op.entity_id, op.remote_id) == (
        "op-1", run_id, "leadconnector", "tags", entity, "l1",
    )
    assert (op.payload, op.state, op.attempts, op.created_at) == ({"add": ["vip"]}, "pending", 0, clock.now)
    assert mirror.pending() == [op]


def test_op_moves_pending_sent_confirmed(mirror: Mirror, run_id: int) -> None:
    create = mirror.enqueue(NewOp("apollo", "create", {"first_name": "Ada"}), run_id=run_id)

    sent = mirror.mark_sent(create.op_id)
    confirmed = mirror.confirm(create.op_id, remote_id="64b0c0ffee")

    assert (sent.state, sent.attempts) == ("sent", 1)
    assert (confirmed.state, confirmed.remote_id, confirmed.attempts) == ("confirmed", "64b0c0ffee", 1)
    assert mirror.pending() == []


def test_confirming_twice_is_harmless(mirror: Mirror, run_id: int) -> None:
    op = mirror.enqueue(_update(), run_id=run_id)
    first = mirror.confirm(op.op_id)

    assert mirror.confirm(op.op_id) == first


def test_retryable_failure_goes_back_to_pending(mirror: Mirror, run_id: int) -> None:
    op = mirror.enqueue(_update(), run_id=run_id)
    mirror.mark_sent(op.op_id)

    failed = mirror.fail(op.op_id, "429 Too Many Requests", retryable=True)

    assert (failed.state, failed.last_error, failed.attempts) == ("pending", "429 Too Many Requests", 1)
    assert mirror.mark_sent(op.op_id).attempts == 2


def test_final_failure_leaves_the_unfinished_list(mirror: Mirror, run_id: int) -> None:
    op = mirror.enqueue(_update(), run_id=run_id)

    failed = mirror.fail(op.op_id, "422 email: invalid")

    assert failed.state == "failed"
    assert mirror.pending() == []
    assert mirror.failed_ops("apollo") == [failed]


def test_failed_op_cannot_be_confirmed(mirror: Mirror, run_id: int) -> None:
    op = mirror.enqueue(_update(), run_id=run_id)
    mirror.fail(op.op_id, "422")

    with pytest.raises(StateTransitionError, match="update op op-u: cannot move from failed to confirmed"):
        mirror.confirm(op.op_id)


def test_unknown_op_raises(mirror: Mirror) -> None:
    with pytest.raises(NotFoundError, match="outbox op nope"):
        mirror.mark_sent("nope")


def test_pending_is_per_system_and_oldest_first(mirror: Mirror, run_id: int, clock) -> None:
    mirror.enqueue(_update("op-2"), run_id=run_id)
    clock.advance(seconds=1)
    mirror.enqueue(_update("op-3", system="leadconnector"), run_id=run_id)
    clock.advance(seconds=1)
    mirror.enqueue(_update("op-1"), run_id=run_id)

    assert [op.op_id for op in mirror.pending("apollo")] == ["op-2", "op-1"]


def test_create_enqueued_twice_with_one_key_is_stored_once(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    create = NewOp("apollo", "create", {"n": 1}, entity, idempotency_key=f"{entity}:apollo")
    first = mirror.enqueue(create, run_id=run_id)

    again = mirror.enqueue(create, run_id=run_id)

    assert again == first
    assert len(mirror.pending()) == 1
    assert mirror.op_by_key(f"{entity}:apollo") == first


def test_enqueue_many_stores_a_repeated_key_once_and_keeps_order(mirror: Mirror, run_id: int) -> None:
    ops = [NewOp("apollo", "create", {"i": i}, idempotency_key=f"k{i % 2500}") for i in range(3000)]

    stored = mirror.enqueue_many(ops, run_id=run_id)

    assert [op.payload["i"] for op in stored[:3]] == [0, 1, 2]
    assert stored[2500] == stored[0]
    assert len(mirror.pending()) == 2500


def test_create_without_key_is_keyed_by_its_op_id(mirror: Mirror, run_id: int) -> None:
    op = mirror.enqueue(NewOp("apollo", "create", {"n": 1}), run_id=run_id)

    assert op.idempotency_key == op.op_id


def test_update_without_remote_id_is_refused(mirror: Mirror, run_id: int) -> None:
    with pytest.raises(MirrorValueError, match="apollo update op x: needs a remote_id"):
        mirror.enqueue(NewOp("apollo", "update", {}, op_id="x"), run_id=run_id)


CRASHING_WORKER = textwrap.dedent(
    """
    import os, sys
    from syncengine.mirror import Mirror, NewOp

    mirror = Mirror.open(sys.argv[1])
    run_id = mirror.start_run().id
    mirror.enqueue(NewOp("apollo", "create", {"first_name": "Ada"}, op_id="op-sent"), run_id=run_id)
    mirror.mark_sent("op-sent")
    with mirror.transaction():
        mirror.enqueue(NewOp("apollo", "create", {"first_name": "Bob"}, op_id="op-lost"), run_id=run_id)
        os._exit(9)  # the process dies here: no confirm, no commit, no close
    """
)


def test_unconfirmed_op_is_still_pending_after_a_crash(mirror_target: str) -> None:
    worker = subprocess.run(
        [sys.executable, "-c", CRASHING_WORKER, mirror_target], capture_output=True, text=True, timeout=60
    )
    assert worker.returncode == 9, worker.stderr

    with Mirror.open(mirror_target) as reopened:
        pending = reopened.pending("apollo")

    assert [(op.op_id, op.state, op.attempts) for op in pending] == [("op-sent", "sent", 1)]
    assert pending[0].payload == {"first_name": "Ada"}


def test_confirm_many_confirms_unfinished_updates_and_leaves_finished_ones(mirror: Mirror) -> None:
    run_id = mirror.start_run().id
    for op_id in ("u1", "u2", "u3"):
        mirror.enqueue(_update(op_id), run_id=run_id)
    mirror.mark_sent("u1")
    mirror.fail("u3", "refused", retryable=False)

    mirror.confirm_many(["u1", "u2", "u3"])

    assert mirror.pending() == []  # u1 (sent) and u2 (pending) are confirmed
    assert [op.op_id for op in mirror.failed_ops("apollo")] == ["u3"]  # a failed op stays failed


def test_mark_sent_many_counts_an_attempt_each_and_refuses_a_finished_op(mirror: Mirror) -> None:
    run_id = mirror.start_run().id
    for op_id in ("u1", "u2", "u3"):
        mirror.enqueue(_update(op_id), run_id=run_id)
    mirror.mark_sent("u2")

    mirror.mark_sent_many(["u1", "u2"])

    assert {op.op_id: (op.state, op.attempts) for op in mirror.pending()} == {
        "u1": ("sent", 1), "u2": ("sent", 2), "u3": ("pending", 0),
    }  # fmt: skip
    mirror.fail("u3", "refused", retryable=False)
    refused = pytest.raises(StateTransitionError, match="op u3: cannot move from failed to sent")
    with refused, mirror.transaction():
        mirror.mark_sent_many(["u1", "u3"])
    assert {op.op_id: op.attempts for op in mirror.pending()} == {"u1": 1, "u2": 2}  # rolled back


def test_confirm_created_records_each_remote_id_and_leaves_finished_ops(mirror: Mirror) -> None:
    run_id = mirror.start_run().id
    for op_id in ("c1", "c2", "c3"):
        mirror.enqueue(NewOp("apollo", "create", {"first_name": op_id}, op_id=op_id), run_id=run_id)
    mirror.mark_sent_many(["c1", "c2"])
    mirror.fail("c3", "refused", retryable=False)

    mirror.confirm_created([("c1", "r1"), ("c2", "r2"), ("c3", "r3")])

    assert mirror.pending() == []
    assert [(op.op_id, op.remote_id) for op in mirror.failed_ops("apollo")] == [("c3", None)]
    assert (mirror.get_op("c1").state, mirror.get_op("c1").remote_id) == ("confirmed", "r1")
    assert mirror.get_op("c2").remote_id == "r2"
