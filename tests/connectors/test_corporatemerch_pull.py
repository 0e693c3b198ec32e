"""CorporateMerch connector, read side, against the simulator over real HTTP: check, catalogues,
full-scan pulls with the cursor and overlap semantics, single records and rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from urllib.parse import parse_qs

import pytest
from test_corporatemerch_support import (  # noqa: F401 - fixtures
    Cm,
    cm_fixture,
    connector_fixture,
    contact,
    minutes_ago,
    running_fixture,
    stamp,
)

from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.corporatemerch import CorporateMerchConnector
from syncengine.connectors.errors import AuthError, MissingRecordError


def contact_reads(cm: Cm) -> list[dict[str, list[str]]]:
    return [parse_qs(e["query"]) for e in cm.journal() if e["path"] == "/v2/contacts"]


def test_check_makes_one_call(cm: Cm, connector: CorporateMerchConnector) -> None:
    cm.clear_journal()

    connector.check()

    assert len(cm.journal()) == 1


def test_a_refused_token_stops_with_an_auth_error_that_hides_it(cm: Cm) -> None:
    connector = cm.connector(token="wrong-token-4711")

    with pytest.raises(AuthError) as caught:
        connector.check()

    assert "CORPORATEMERCH_TOKEN" in str(caught.value)
    assert "wrong-token-4711" not in str(caught.value) and "wrong-token-4711" not in repr(caught.value)


def test_load_catalogue_reads_labels_and_lists(connector: CorporateMerchConnector) -> None:
    catalogue = connector.load_catalogue()

    assert catalogue.labels == {1: "alpha", 2: "beta", 3: "gamma"}
    assert catalogue.lists == {11: "Holiday Gift", 12: "New Hire Kit"}


def test_a_full_pull_reads_pages_of_50_to_the_end(cm: Cm, connector: CorporateMerchConnector) -> None:
    cm.seed([contact(i) for i in range(57)])
    cm.clear_journal()

    ids = [r.remote_id for r in connector.pull(None, full=True)]

    assert len(ids) == 57 == len(set(ids))
    assert contact_reads(cm) == [{"page": ["1"], "limit": ["50"]}, {"page": ["2"], "limit": ["50"]}]


def test_a_deletion_during_the_scan_does_not_hide_the_record_it_moves_up_a_page(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    seeded = cm.seed([contact(i) for i in range(60)])
    records = connector.pull(None)
    first_page = [r.remote_id for r in islice(records, 50)]
    cm.admin.delete(f"/contacts/{first_page[0]}").raise_for_status()

    rest = [r.remote_id for r in records]

    assert set(first_page) | set(rest) == {str(s["id"]) for s in seeded}
    assert len(first_page) + len(rest) == 60


def test_pulled_records_are_in_the_single_get_shape(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1, labels=[1], lists=[11])])

    [pulled] = connector.pull(None)

    assert pulled.raw == connector.get(str(seeded["id"])).raw


def test_records_listed_without_memberships_are_read_one_by_one(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1, labels=[2])])
    cm.admin.put("/settings", json={"list_memberships": False}).raise_for_status()
    cm.clear_journal()

    [pulled] = connector.pull(None)

    assert pulled.raw["labels"] == [2]
    assert [e["path"] for e in cm.journal()] == ["/v2/contacts", f"/v2/contacts/{seeded['id']}"]


def test_updated_at_is_utc_aware(cm: Cm, connector: CorporateMerchConnector) -> None:
    cm.seed([contact(1, updated_at="2024-05-01T10:00:00.000Z", created_at="2024-05-01T09:00:00.000Z")])

    [pulled] = connector.pull(None)

    assert pulled.updated_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_an_incremental_pull_scans_everything_but_yields_from_the_cursor_less_the_overlap(cm: Cm) -> None:
    connector = cm.connector(options=ConnectorOptions(overlap=timedelta(minutes=5)))
    connector.load_catalogue()
    since = minutes_ago(60)
    ages = {"old": 70, "inside_overlap": 63, "newer": 30}
    seeded = cm.seed([contact(i, updated_at=stamp(minutes_ago(m, since + timedelta(minutes=60))))
                      for i, m in enumerate(ages.values())])  # fmt: skip
    by_age = dict(zip(ages, (str(s["id"]) for s in seeded), strict=True))
    cm.clear_journal()

    found = {r.remote_id for r in connector.pull(since)}

    assert found == {by_age["inside_overlap"], by_age["newer"]}
    assert len(contact_reads(cm)) == 1  # the whole list was read all the same


def test_a_record_updated_exactly_at_the_cursor_is_kept(cm: Cm) -> None:
    connector = cm.connector(options=ConnectorOptions(overlap=timedelta(0)))
    at = datetime(2024, 6, 1, 12, tzinfo=UTC)
    seeded = cm.seed([contact(1, updated_at=stamp(at)), contact(2, updated_at=stamp(at)),
                      contact(3, updated_at=stamp(at - timedelta(milliseconds=1)))])  # fmt: skip

    found = {r.remote_id for r in connector.pull(at)}

    assert found == {str(seeded[0]["id"]), str(seeded[1]["id"])}


def test_full_yields_every_record_whatever_the_cursor(cm: Cm, connector: CorporateMerchConnector) -> None:
    cm.seed([contact(1, updated_at="2020-01-01T00:00:00.000Z", created_at="2020-01-01T00:00:00.000Z")])

    assert len(list(connector.pull(datetime.now(UTC), full=True))) == 1


def test_get_of_a_deleted_record_is_a_missing_record_error(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1)])
    cm.admin.delete(f"/contacts/{seeded['id']}").raise_for_status()

    with pytest.raises(MissingRecordError) as caught:
        connector.get(str(seeded["id"]))

    assert caught.value.remote_id == str(seeded["id"])


def test_a_429_is_waited_out_and_the_page_read_again(cm: Cm, connector: CorporateMerchConnector) -> None:
    cm.seed([contact(1)])
    cm.faults(burst_429=1)
    cm.clear_journal()

    assert len(list(connector.pull(None))) == 1
    assert [e["status"] for e in cm.journal()] == [429, 200]
    assert connector.client.stats.rate_limit_waits == 1


def test_to_canonical_names_labels_and_lists_through_the_catalogues(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1, labels=[3, 1], lists=[12], position="Buyer", phone_number="512-555-0147")])

    values = connector.to_canonical(connector.get(str(seeded["id"]))).values

    assert values["tags"] == ["alpha", "gamma"] and values["lists"] == ["New Hire Kit"]
    assert values["title"] == "Buyer" and values["phone"] == "+15125550147"
