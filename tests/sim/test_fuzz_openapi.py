"""Spec-driven fuzzing of the Apollo and LeadConnector simulators with schemathesis.

Every contact endpoint a simulator serves gets requests generated from the vendor's own OpenAPI
document (``apps/contacts.json`` for LeadConnector, ``apollo-rest-api.openapi.json`` for Apollo),
both valid ones and ones that break the schema, and must never answer 5xx: without a configured
fault, malformed input gets the vendor's 4xx. Half of the cases use the simulator's own location
and a stored contact, so that the requests reach past the "unknown id" and "wrong location"
answers into the validation of the body; half have one value deep inside the body, or one query
parameter, replaced by an arbitrary one (``fuzz_values``), which finds in tens of examples what
schemathesis's whole-body negation finds in thousands.

Runs are bounded (``MAX_EXAMPLES`` per endpoint, no deadline) and derandomized, so one commit
passes or fails the same way every time. Without the documents the tests are skipped, unless
``CI`` is set: then they fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from fuzz_values import malform
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import ServerError
from sim_specs import spec_path
from starlette.routing import Mount, Route

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

MAX_EXAMPLES = 75
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

LC_SPEC = "leadconnector/apps/contacts.json"
LC_TOKEN = "sim-lc-token-fuzz"
LC_LOCATION = "SimLocation000000001"
# Every contact route of the LeadConnector simulator, as the spec names it.
LC_OPERATIONS = (
    ("POST", "/contacts/"),
    ("GET", "/contacts/"),
    ("GET", "/contacts/{contactId}"),
    ("PUT", "/contacts/{contactId}"),
    ("DELETE", "/contacts/{contactId}"),
    ("POST", "/contacts/upsert"),
    ("POST", "/contacts/search"),
    ("GET", "/contacts/search/duplicate"),
    ("POST", "/contacts/{contactId}/tags"),
    ("DELETE", "/contacts/{contactId}/tags"),
    ("POST", "/contacts/bulk/tags/update/{type}"),
)

APOLLO_SPEC = "apollo/apollo-rest-api.openapi.json"
APOLLO_KEY = "sim-apollo-key-fuzz"
APOLLO_OPERATIONS = (
    ("POST", "/contacts"),
    ("GET", "/contacts/{contact_id}"),
    ("PATCH", "/contacts/{contact_id}"),
    ("POST", "/contacts/search"),
    ("POST", "/contacts/bulk_create"),
    ("POST", "/contacts/bulk_update"),
    ("POST", "/contacts/update_stages"),
    ("POST", "/contacts/update_owners"),
)
# Not in the spec: the legacy forms of the update, served by the same handler as PATCH.
APOLLO_UNDOCUMENTED = {("PUT", "/contacts"), ("PUT", "/contacts/{contact_id}")}


@dataclass
class Target:
    """A running simulator, the vendor's schema and what makes a generated case reach it."""

    schema: Any
    base_url: str
    headers: dict[str, str]
    session: requests.Session
    known: Callable[[Case], None]  # points a case at the simulator's own location and contact


def vendor_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of the simulator's contact routes, mounts flattened."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/api/v1":
                found |= vendor_routes(route.routes, "")
        elif isinstance(route, Route) and route.path.startswith(f"{prefix}/contacts"):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
    return found


def load_schema(relative: str) -> Any:
    return schemathesis.openapi.from_path(spec_path(relative, whole_module=False, required_in_ci=True))


def _point_at(case: Case, location_id: str, path_values: dict[str, str]) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("locationId"), str):
        case.body["locationId"] = location_id
    if isinstance(case.query, dict) and isinstance(case.query.get("locationId"), str):
        case.query["locationId"] = location_id
    for name, value in path_values.items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value


@pytest.fixture(scope="module")
def leadconnector() -> Iterator[Target]:
    schema = load_schema(LC_SPEC)
    sim = LeadConnectorSim(token=LC_TOKEN, location_id=LC_LOCATION, seed=5)
    sim.seed_custom_fields(
        [
            {"name": "Pin", "dataType": "TEXT"},
            {"name": "Score", "dataType": "NUMERICAL"},
            {"name": "Sizes", "dataType": "MULTIPLE_OPTIONS", "picklistOptions": ["S", "M"]},
            {"name": "Files", "dataType": "FILE_UPLOAD"},
        ]
    )
    contact = sim.seed_contacts([{"firstName": "Ada", "email": "ada@example.com", "phone": "+14155550100"}])
    path_values = {"contactId": contact[0]["id"], "type": "add"}
    with ServerThread(sim.app) as thread, requests.Session() as session:
        session.put(f"{thread.url}/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield Target(
            schema=schema,
            base_url=thread.url,
            headers={"Authorization": f"Bearer {LC_TOKEN}", "Version": "2021-07-28"},
            session=session,
            known=lambda case: _point_at(case, LC_LOCATION, path_values),
        )


@pytest.fixture(scope="module")
def apollo() -> Iterator[Target]:
    schema = load_schema(APOLLO_SPEC)
    sim = ApolloSim(api_key=APOLLO_KEY, seed=5)
    sim.seed_custom_fields([{"name": "Pin", "type": "string"}])
    contact = sim.seed_contacts([{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}])
    path_values = {"contact_id": contact[0]["id"]}
    with ServerThread(sim.app) as thread, requests.Session() as session:
        session.put(f"{thread.url}/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield Target(
            schema=schema,
            base_url=f"{thread.url}/api/v1",
            headers={"x-api-key": APOLLO_KEY},
            session=session,
            known=lambda case: _point_at(case, "", path_values),
        )


def fuzz(target: Target, method: str, path: str) -> None:
    operation = target.schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @FUZZ
    @given(case=cases, known=st.booleans(), data=st.data())
    def run(case: Case, known: bool, data: st.DataObject) -> None:
        if known:
            target.known(case)
        request = malform(case.as_transport_kwargs(base_url=target.base_url, headers=target.headers), data)
        note(
            f"sent {request['method']} {request['url']} params={request.get('params')!r} "
            f"json={request.get('json', request.get('data'))!r}"
        )
        response = target.session.request(**request, timeout=10)
        case.validate_response(response, checks=[not_a_server_error])

    run()


@pytest.mark.parametrize(("method", "path"), LC_OPERATIONS, ids=[f"{m} {p}" for m, p in LC_OPERATIONS])
def test_leadconnector_never_answers_5xx(leadconnector: Target, method: str, path: str) -> None:
    fuzz(leadconnector, method, path)


@pytest.mark.parametrize(
    ("method", "path"), APOLLO_OPERATIONS, ids=[f"{m} {p}" for m, p in APOLLO_OPERATIONS]
)
def test_apollo_never_answers_5xx(apollo: Target, method: str, path: str) -> None:
    fuzz(apollo, method, path)


def test_every_leadconnector_contact_route_is_fuzzed() -> None:
    routes = vendor_routes(LeadConnectorSim().routes())
    # The simulator also answers POST /contacts (no slash) like POST /contacts/.
    assert routes - {("POST", "/contacts")} == set(LC_OPERATIONS)


def test_every_apollo_contact_route_is_fuzzed() -> None:
    routes = vendor_routes(ApolloSim().routes())
    assert routes - APOLLO_UNDOCUMENTED == set(APOLLO_OPERATIONS)


def test_a_server_error_fails_the_check(apollo: Target) -> None:
    """The check is live: an injected fault is a 5xx and fails it."""
    admin = apollo.base_url.removesuffix("/api/v1") + "/__admin/faults"
    apollo.session.put(admin, json={"error_rate": 1.0, "error_status": 500}).raise_for_status()
    try:
        case = apollo.schema["/contacts/{contact_id}"]["GET"].Case(path_parameters={"contact_id": "x"})
        response = case.call(base_url=apollo.base_url, headers=apollo.headers, session=apollo.session)
        assert response.status_code == 500
        with pytest.raises(BaseExceptionGroup) as caught:
            case.validate_response(response, checks=[not_a_server_error])
        assert caught.group_contains(ServerError)
    finally:
        apollo.session.put(admin, json={}).raise_for_status()


def test_a_missing_spec_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        spec_path("no/such/spec.json", whole_module=False, required_in_ci=True)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        spec_path("no/such/spec.json", whole_module=False, required_in_ci=True)
