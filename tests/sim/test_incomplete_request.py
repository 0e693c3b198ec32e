"""A request whose body never arrives whole (its client killed between headers and body) is not
acted on: no server runs a handler on half a request, so no contact is created from it."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"


def send_headers_only(port: int, path: str, headers: dict[str, str], partial: bytes) -> None:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             "Content-Length: 120", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + partial)
        time.sleep(0.1)


CASES: list[tuple[str, Any, str, dict[str, str]]] = [
    ("apollo", lambda: ApolloSim("key"), "/api/v1/contacts", {"x-api-key": "key"}),
    ("apollo bulk", lambda: ApolloSim("key"), "/api/v1/contacts/bulk_create", {"x-api-key": "key"}),
    ("leadconnector", lambda: LeadConnectorSim(token="tok", location_id=LOCATION), "/contacts/",
     {"Authorization": "Bearer tok", "Version": "2021-07-28"}),
    ("corporatemerch", lambda: CorporateMerchSim(token="tok"), "/v2/contacts",
     {"Authorization": "Bearer tok"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "path", "headers"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("partial", [b"", b'{"first_name": "Ha'], ids=["no body", "half a body"])
def test_a_request_cut_off_before_its_body_ends_creates_nothing(
    name: str, make: Any, path: str, headers: dict[str, str], partial: bytes
) -> None:
    sim = make()
    with ServerThread(sim.app) as server:
        send_headers_only(server.port, path, headers, partial)
        time.sleep(0.2)
        assert sim.contacts() == []
        # not even journalled: the middleware that runs before any route never saw a whole request
        assert sim.state.journal.entries() == []
