"""Per-system cursors keep their instant whatever zone they were given in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from syncengine.mirror import Mirror, MirrorValueError


def test_cursor_keeps_the_instant_and_reads_back_in_utc(mirror: Mirror, run_id: int) -> None:
    given = datetime(2025, 6, 30, 23, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    mirror.set_cursor("apollo", given, run_id=run_id)

    stored = mirror.get_cursor("apollo")
    assert stored.cursor_at == given
    assert stored.cursor_at == datetime(2025, 6, 30, 18, 0, 0, 123456, tzinfo=UTC)
    assert stored.cursor_at.utcoffset() == timedelta(0)
    assert stored.run_id == run_id


def test_cursor_west_of_utc_is_not_shifted(mirror: Mirror) -> None:
    given = datetime(2025, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5)))

    mirror.set_cursor("leadconnector", given)

    assert mirror.get_cursor("leadconnector").cursor_at == datetime(2025, 1, 2, 1, 0, tzinfo=UTC)


def test_naive_cursor_is_refused(mirror: Mirror) -> None:
    with pytest.raises(MirrorValueError, match="cursor of apollo: datetime 2025-01-01T00:00:00 has no time"):
        mirror.set_cursor("apollo", datetime(2025, 1, 1))
    assert mirror.get_cursor("apollo") is None


def test_opaque_cursor_json_round_trips_and_is_replaced(mirror: Mirror, clock) -> None:
    mirror.set_cursor("leadconnector", None, cursor_json={"searchAfter": [1717171717000, "abc"]})
    clock.advance(minutes=1)

    mirror.set_cursor("leadconnector", clock.now, cursor_json=None)

    stored = mirror.get_cursor("leadconnector")
    assert (stored.cursor_at, stored.cursor_json, stored.updated_at) == (clock.now, None, clock.now)


def test_cursors_are_per_system(mirror: Mirror, clock) -> None:
    mirror.set_cursor("apollo", clock.now, cursor_json={"page": 3})

    assert mirror.get_cursor("corporatemerch") is None
    assert mirror.get_cursor("apollo").cursor_json == {"page": 3}
