"""The check before partial writes: records changed since the pull are listed in batches, not read
one by one, and an edit made after a listing is in the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncengine.connectors.base import RemoteRecord
from syncengine.connectors.stale import MovedSincePull, PullMark

PULLED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class FakeSystem:
    """Records by id with their update times, and a log of how they were asked for."""

    def __init__(self) -> None:
        self.records: dict[str, RemoteRecord] = {}
        self.listings: list[datetime] = []
        self.reads: list[str] = []

    def edit(self, remote_id: str, at: datetime) -> None:
        self.records[remote_id] = RemoteRecord("apollo", remote_id, {"title": f"edited {at}"}, at)

    def changed(self, floor: datetime) -> list[RemoteRecord]:
        self.listings.append(floor)
        return [r for r in self.records.values() if r.updated_at is not None and r.updated_at >= floor]

    def get(self, remote_id: str) -> RemoteRecord:
        self.reads.append(remote_id)
        return self.records.get(remote_id) or RemoteRecord("apollo", remote_id, {}, PULLED)


def test_one_listing_serves_a_batch_of_writes_and_names_only_what_moved() -> None:
    system = FakeSystem()
    system.edit("r7", PULLED + timedelta(seconds=5))
    moved = MovedSincePull(system.changed, system.get, PULLED, batch=3)

    found = [moved.latest(f"r{i}") for i in range(6, 9)]

    assert [r.remote_id if r else None for r in found] == [None, "r7", None]
    # The listing keeps which records moved, not the records: the one that moved is read.
    assert system.listings == [PULLED] and system.reads == ["r7"]


def test_a_record_listed_at_the_version_the_write_was_planned_from_is_not_read() -> None:
    system = FakeSystem()
    at = PULLED + timedelta(seconds=5)
    system.edit("r7", at)  # within the pull's overlap window: the pull read this very version
    moved = MovedSincePull(system.changed, system.get, PULLED, batch=3)

    assert moved.latest("r7", at) is None and system.reads == []
    assert moved.latest("r7", PULLED) is not None and system.reads == ["r7"]


def test_an_edit_after_a_listing_is_found_by_the_next_batch() -> None:
    system = FakeSystem()
    system.edit("r1", PULLED + timedelta(seconds=1))
    moved = MovedSincePull(system.changed, system.get, PULLED, batch=2)
    assert moved.latest("r1") is not None and moved.latest("r2") is None  # first batch, one listing

    system.edit("r3", PULLED + timedelta(seconds=9))  # a person saves while the engine writes
    later = moved.latest("r3")

    assert later is not None and later.updated_at == PULLED + timedelta(seconds=9)
    # The floor moved to the newest time the first listing saw, in the system's own clock.
    assert system.listings == [PULLED, PULLED + timedelta(seconds=1)]


def test_without_a_pull_to_start_from_each_record_is_read() -> None:
    system = FakeSystem()
    moved = MovedSincePull(system.changed, system.get, None, batch=100)

    moved.latest("a")
    moved.latest("b")

    assert system.reads == ["a", "b"] and system.listings == []


def test_the_pull_mark_starts_the_listing_at_the_newest_time_pulled() -> None:
    mark = PullMark()
    assert mark.floor(timedelta(minutes=5)) is None and not mark.pulled

    records = [RemoteRecord("apollo", f"r{i}", {}, PULLED + timedelta(seconds=i)) for i in (3, 9, 1)]
    assert list(mark.watch(records)) == records

    assert mark.pulled and mark.floor(timedelta(minutes=5)) == PULLED + timedelta(seconds=9)
    list(mark.watch([]))  # a later pull that saw nothing: the local clock less the overlap
    floor = mark.floor(timedelta(minutes=5))
    assert floor is not None and mark.started is not None and floor == mark.started - timedelta(minutes=5)
