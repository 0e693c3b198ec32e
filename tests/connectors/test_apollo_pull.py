"""Apollo reads: pulls page by page through search, the cursor's overlap, get, check, catalogues."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_apollo_support import (  # noqa: F401 - fixtures
    Apollo,
    apollo_fixture,
    connector_fixture,
    person,
    running_fixture,
    vendor,
)

from syncengine.connectors.apollo import ApolloConnector
from syncengine.connectors.base import ConnectorOptions, WriteOp
from syncengine.connectors.errors import AuthError, ConfigError, MissingRecordError
from syncengine.sim.core import iso_ms, parse_iso


def seed(apollo: Apollo, n: int, *, start: int = 0, minutes_apart: float = 1.0, now: Any = None) -> list[str]:
    """``n`` contacts updated ``minutes_apart`` apart, the last one ``now`` (default: the sim's now)."""
    now = now or apollo.sim.state.clock.now()
    records = [
        {
            "first_name": f"First{i}",
            "email": f"p{i}@apollo.example",
            "updated_at": iso_ms(now - timedelta(minutes=minutes_apart * (start + n - 1 - i))),
        }
        for i in range(start, start + n)
    ]
    return [r["id"] for r in apollo.seed(records)]


def searches(apollo: Apollo) -> list[dict]:
    return [c["body"] for c in vendor(apollo.journal(), "POST") if c["path"] == "/contacts/search"]


def test_a_full_pull_pages_to_the_end_sorted_by_update_time(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = seed(apollo, 205)
    apollo.clear_journal()

    pulled = [r.remote_id for r in connector.pull(None, full=True)]

    assert sorted(pulled) == sorted(ids)
    bodies = searches(apollo)
    assert [b["page"] for b in bodies] == [1, 2, 3]
    assert all(b["sort_by_field"] == "contact_updated_at" and b["per_page"] == 100 for b in bodies)


def test_a_pulled_record_has_the_get_shape_and_an_aware_utc_time(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    [remote_id] = seed(apollo, 1)

    [record] = connector.pull(None, full=True)

    assert dict(record.raw) == dict(connector.get(remote_id).raw)
    assert "account" not in record.raw
    assert record.updated_at is not None and record.updated_at.utcoffset() == timedelta(0)


def test_an_incremental_pull_stops_at_the_first_page_past_the_overlap(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    now = parse_iso(iso_ms(apollo.sim.state.clock.now()))  # as stored: to the millisecond
    seed(apollo, 300, minutes_apart=1, now=now)  # one record a minute, the newest now
    apollo.clear_journal()

    pulled = list(connector.pull(now - timedelta(minutes=20)))

    # 20 minutes before the cursor plus the 5-minute overlap: 26 records (both ends kept).
    assert len(pulled) == 26
    assert len(searches(apollo)) == 1


def test_records_sharing_the_cursor_time_are_all_kept(apollo: Apollo, connector: ApolloConnector) -> None:
    now = parse_iso(iso_ms(apollo.sim.state.clock.now()))
    same = [{"first_name": f"Same{i}", "updated_at": iso_ms(now)} for i in range(3)]
    ids = [r["id"] for r in apollo.seed(same)]
    options = ConnectorOptions(overlap=timedelta(0))
    strict = apollo.connector(options=options)

    pulled = {r.remote_id for r in strict.pull(now)}

    assert pulled == set(ids)


def test_past_the_search_window_the_pull_walks_from_the_other_end(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = seed(apollo, 35)
    connector.page_size, connector.max_pages = 10, 2  # a window of 20 records, as 50,000 in Apollo
    apollo.clear_journal()

    pulled = [r.remote_id for r in connector.pull(None, full=True)]

    assert len(pulled) == len(set(pulled))
    assert set(pulled) == set(ids)
    assert {b.get("sort_ascending") for b in searches(apollo)} == {False, True}


def test_two_windows_that_exactly_cover_the_contacts_need_no_narrowing(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = seed(apollo, 40)
    connector.page_size, connector.max_pages = 10, 2  # 20 from each end: exactly the 40
    apollo.clear_journal()

    pulled = [r.remote_id for r in connector.pull(None, full=True)]

    assert sorted(pulled) == sorted(ids)
    assert not any("contact_stage_ids" in b for b in searches(apollo))


def test_contacts_sharing_one_time_past_both_windows_are_never_taken_as_all_read(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    stage = next(iter(connector.catalogue.stages)) if connector.catalogue else None
    moment = iso_ms(apollo.sim.state.clock.now())
    records = [{"first_name": f"T{i}", "contact_stage_id": stage, "updated_at": moment} for i in range(40)]
    apollo.seed(records)
    connector.page_size, connector.max_pages = 10, 2  # ties come by id from both ends: the same 20

    with pytest.raises(ConfigError, match="some would be skipped"):  # refused, not silently short
        list(connector.pull(None, full=True))


def test_beyond_both_ends_the_pull_narrows_the_search_by_stage(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    stages = list(connector.catalogue.stages) if connector.catalogue else []
    now = apollo.sim.state.clock.now()
    records = [
        {
            "first_name": f"S{i}",
            "contact_stage_id": stages[i % 3],
            "updated_at": iso_ms(now - timedelta(minutes=i)),
        }
        for i in range(60)
    ]
    ids = {r["id"] for r in apollo.seed(records)}
    connector.page_size, connector.max_pages = 10, 2  # 40 reachable from both ends of 60

    pulled = [r.remote_id for r in connector.pull(None, full=True)]

    assert set(pulled) == ids and len(pulled) == len(ids)
    assert any("contact_stage_ids" in b for b in searches(apollo))


def test_get_of_a_deleted_contact_is_a_missing_record(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = seed(apollo, 1)
    apollo.sim.ui_delete(remote_id)

    with pytest.raises(MissingRecordError):
        connector.get(remote_id)


def test_check_with_a_refused_key_says_so_without_the_key(apollo: Apollo) -> None:
    connector = apollo.connector(key="not-the-key-98765")

    with pytest.raises(AuthError) as caught:
        connector.check()

    assert "APOLLO_API_KEY" in str(caught.value) and "98765" not in str(caught.value)


def test_a_list_created_by_a_write_is_named_on_the_next_read(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    op = WriteOp("c1", "apollo", "create", values=person(1, tags=["brand new list"]))
    [result] = connector.push([op])
    assert result.ok, result.error

    canonical = connector.to_canonical(connector.get(result.record.remote_id))

    assert canonical.values["tags"] == ["brand new list"] and not canonical.invalid


def test_the_catalogue_names_stages_lists_custom_fields_and_owners(connector: ApolloConnector) -> None:
    catalogue = connector.load_catalogue()

    assert "Interested" in catalogue.stages.values()
    assert "vip" in catalogue.labels.values()
    assert {f.name for f in catalogue.custom_fields} == {"Shirt Size", "Client Since"}
    assert "owner@sim.example" in catalogue.users.values()
    assert {"shirt_size", "custom"} <= connector.fields
