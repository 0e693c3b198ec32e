"""LeadConnector connector, read side, against the simulator over real HTTP: paging to the end,
the overlap and cursor semantics, the lagging search index, the read shape, check and get."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_leadconnector_support import (  # noqa: F401 - fixtures
    LOCATION,
    Lc,
    connector_fixture,
    contact,
    lc_fixture,
    running_fixture,
)

from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.errors import AuthError, ConfigError, MissingRecordError
from syncengine.connectors.leadconnector import PAGE_SIZE, LeadConnectorConnector
from syncengine.connectors.leadconnector_writes import iso_ms
from syncengine.connectors.settings import Secret, SystemSettings


def searches(lc: Lc) -> list[dict]:
    return [e for e in lc.journal() if e["path"] == "/contacts/search"]


def test_a_full_pull_pages_with_the_cursor_to_the_end(lc: Lc, connector: LeadConnectorConnector) -> None:
    seeded = lc.seed([contact(i) for i in range(PAGE_SIZE * 2 + 3)])
    lc.clear_journal()

    ids = [r.remote_id for r in connector.pull(None, full=True)]

    assert sorted(ids) == sorted(c["id"] for c in seeded)
    bodies = [e["body"] for e in searches(lc)]
    assert len(bodies) == 3 and "searchAfter" not in bodies[0]
    assert all(b["pageLimit"] == PAGE_SIZE and b["locationId"] == LOCATION for b in bodies)
    assert bodies[1]["searchAfter"] != bodies[2]["searchAfter"]


def test_a_full_pull_sends_no_filter(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.seed([contact(1)])
    lc.clear_journal()

    list(connector.pull(lc.sim.state.clock.now(), full=True))

    assert "filters" not in searches(lc)[0]["body"]


def test_records_sharing_one_timestamp_across_pages_are_each_kept(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    same = iso_ms(lc.sim.state.clock.now())
    seeded = lc.seed([contact(i, dateAdded=same, dateUpdated=same) for i in range(PAGE_SIZE + 2)])

    ids = {r.remote_id for r in connector.pull(None, full=True)}

    assert ids == {c["id"] for c in seeded}


def test_an_incremental_pull_looks_back_by_the_overlap_and_keeps_the_cursor_value(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    now = lc.sim.state.clock.now()
    at = {"old": now - timedelta(minutes=30), "overlap": now - timedelta(minutes=4), "cursor": now}
    seeded = lc.seed(
        [contact(i, dateAdded=iso_ms(t), dateUpdated=iso_ms(t)) for i, t in enumerate(at.values())]
    )
    by_name = dict(zip(at, (c["id"] for c in seeded), strict=True))
    lc.clear_journal()

    found = {r.remote_id for r in connector.pull(now)}

    assert found == {by_name["overlap"], by_name["cursor"]}
    [search] = searches(lc)
    floor = iso_ms(now - ConnectorOptions().overlap)
    assert search["body"]["filters"] == [
        {"field": "dateUpdated", "operator": "range", "value": {"gte": floor}}
    ]
    assert search["body"]["sort"] == [{"field": "dateUpdated", "direction": "asc"}]


def test_the_overlap_covers_the_search_index_lag(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.configure(search_lag_seconds=20)
    clock = lc.sim.state.clock
    [seeded] = lc.seed([contact(1, dateAdded=iso_ms(clock.now() - timedelta(hours=1)))])
    clock.advance(60)
    lc.ui_edit(seeded["id"], lastName="Edited")
    clock.advance(5)
    first_run_at = clock.now()
    [first] = connector.pull(first_run_at - timedelta(hours=2))
    assert first.raw["lastName"] == "Last1"  # the index does not show the edit yet

    clock.advance(60)  # the index caught up; the next run pulls since the first run's start
    pulled = [r.raw["lastName"] for r in connector.pull(first_run_at)]
    without_overlap = lc.connector(options=ConnectorOptions(overlap=timedelta(0)))
    without_overlap.load_catalogue()

    assert pulled == ["Edited"]
    assert list(without_overlap.pull(first_run_at)) == []


def test_pulled_records_have_the_get_shape_and_utc_times(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1, dateOfBirth="1990-02-03", tags=["vip"], phone="+15125550147")])

    [pulled] = connector.pull(None, full=True)

    assert pulled.raw == connector.get(seeded["id"]).raw
    assert pulled.updated_at is not None and pulled.updated_at.utcoffset() == timedelta(0)
    assert iso_ms(pulled.updated_at) == seeded["dateUpdated"]


def test_a_429_during_a_pull_is_retried(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.seed([contact(1), contact(2)])
    lc.faults(burst_429=1, paths=["/contacts/search"])
    lc.clear_journal()

    assert len(list(connector.pull(None, full=True))) == 2
    assert [e["status"] for e in searches(lc)] == [429, 200]


def test_get_of_a_deleted_record_is_a_missing_record(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.admin.delete(f"/contacts/{seeded['id']}").raise_for_status()

    with pytest.raises(MissingRecordError) as caught:
        connector.get(seeded["id"])

    assert caught.value.remote_id == seeded["id"]


def test_get_reads_a_404_as_a_missing_record_too(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.configure(not_found_status=404)

    with pytest.raises(MissingRecordError):
        connector.get("NoSuchContact0000001")


def test_check_passes_with_good_credentials(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.clear_journal()

    connector.check()

    assert len(lc.journal()) == 1


def test_check_with_a_refused_token_is_an_auth_error_without_the_token(lc: Lc) -> None:
    connector = lc.connector(token="wrong-token-123456")

    with pytest.raises(AuthError) as caught:
        connector.check()

    assert "LEADCONNECTOR_TOKEN" in str(caught.value) and "wrong-token-123456" not in str(caught.value)


def test_check_with_another_location_names_the_location_setting(lc: Lc) -> None:
    settings = SystemSettings(
        "leadconnector", lc.server.url, Secret("sim-lc-token-connector"), "OtherLocation0000001"
    )

    with pytest.raises(AuthError) as caught:
        LeadConnectorConnector(settings).check()

    assert "LEADCONNECTOR_LOCATION_ID" in str(caught.value)


def test_a_custom_field_option_naming_no_field_is_a_config_error(lc: Lc) -> None:
    connector = lc.connector(options=ConnectorOptions(custom_fields={"start_date": "Hire Date"}))

    with pytest.raises(ConfigError) as caught:
        connector.load_catalogue()

    assert "Hire Date" in str(caught.value)


def test_the_catalogue_feeds_the_fields(lc: Lc) -> None:
    connector = lc.connector()
    before = connector.fields

    connector.load_catalogue()

    assert connector.fields - before == {"shirt_size", "custom"}
