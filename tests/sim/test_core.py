"""The simulators' shared core: journal redaction, fault settings and the rate-limit window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sim.core import FixedWindow, ServerThread, SimState, build_app

SECRET = "k-3f9a1c7e55"


class EchoBackend:
    """A minimal backend: one vendor path that counts its calls."""

    name = "echo"

    def __init__(self) -> None:
        self.state = SimState()
        self.calls = 0

    def routes(self) -> list[BaseRoute]:
        async def echo(request: Request) -> Response:
            self.calls += 1
            return JSONResponse({"calls": self.calls})

        return [Route("/echo", echo, methods=["GET", "POST"])]

    def admin_routes(self) -> list[BaseRoute]:
        return []

    def too_many_requests(self) -> Response:
        return JSONResponse({"message": "slow down"}, status_code=429, headers={"Retry-After": "1"})

    def reset(self) -> None:
        self.calls = 0

    def export_state(self) -> dict[str, Any]:
        return {"calls": self.calls}

    def import_state(self, data: dict[str, Any]) -> None:
        self.calls = data["calls"]

    def configure_limits(self, data: dict[str, Any]) -> dict[str, Any]:
        return {}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    backend = EchoBackend()
    with ServerThread(build_app(backend)) as server, httpx.Client(base_url=server.url, timeout=5) as c:
        yield c


@pytest.fixture(autouse=True)
def _reset(client: httpx.Client) -> None:
    client.post("/__admin/reset").raise_for_status()


def test_journal_never_holds_a_credential_from_headers_query_or_body(client: httpx.Client) -> None:
    client.post(
        "/echo",
        params={"api_key": SECRET, "page": "2"},
        json={"api_key": SECRET, "nested": [{"access_token": SECRET}], "first_name": "Ada"},
        headers={"x-api-key": SECRET, "Authorization": f"Bearer {SECRET}"},
    )
    journal = client.get("/__admin/journal").text
    assert SECRET not in journal
    entry = client.get("/__admin/journal").json()["entries"][0]
    assert entry["body"]["first_name"] == "Ada"
    assert "page=2" in entry["query"]


def test_unknown_fault_setting_is_refused_by_name(client: httpx.Client) -> None:
    response = client.put("/__admin/faults", json={"error_rat": 0.5})
    assert response.status_code == 400
    assert "error_rat" in response.json()["error"]


def test_drop_after_applies_the_write_but_loses_the_answer(client: httpx.Client) -> None:
    client.put("/__admin/faults", json={"drop_after_rate": 1.0, "methods": ["POST"]}).raise_for_status()
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/echo")
    client.put("/__admin/faults", json={}).raise_for_status()
    assert client.get("/echo").json() == {"calls": 2}


def test_fixed_window_refuses_past_its_limit_and_reopens_after_its_length() -> None:
    window = FixedWindow(limit=2, seconds=60)
    for _ in range(2):
        assert window.would_allow(1000.0)
        window.hit(1000.0)
    assert not window.would_allow(1030.0)
    assert window.retry_after(1030.0) == 30
    assert window.would_allow(1060.0)
