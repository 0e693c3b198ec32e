"""Record errors: a record that could not be processed is kept and reported, never dropped."""

from __future__ import annotations

from syncengine.mirror import Mirror, RecordProblem


def test_record_error_names_system_record_field_and_run(mirror: Mirror, run_id: int, clock) -> None:
    mirror.add_record_error(
        "leadconnector", "422 phone: duplicate of contact x9", remote_id="l1", field="phone", run_id=run_id
    )

    (stored,) = mirror.record_errors(run_id=run_id)
    assert (stored.system, stored.remote_id, stored.field, stored.run_id, stored.at) == (
        "leadconnector", "l1", "phone", run_id, clock.now,
    )
    assert stored.message == "422 phone: duplicate of contact x9"


def test_record_errors_filter_by_run_and_system(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    later = mirror.start_run().id
    mirror.add_record_errors([
        RecordProblem("apollo", "bad email", remote_id="a1", field="email", run_id=run_id),
        RecordProblem("corporatemerch", "state 'XX' is not a US state", entity_id=entity, run_id=later),
        RecordProblem("apollo", "bad phone", remote_id="a2", run_id=later),
    ])

    later_messages = [e.message for e in mirror.record_errors(run_id=later)]
    assert later_messages == ["state 'XX' is not a US state", "bad phone"]
    assert [e.remote_id for e in mirror.record_errors(system="apollo")] == ["a1", "a2"]
    assert mirror.record_errors(run_id=later, system="corporatemerch")[0].entity_id == entity
