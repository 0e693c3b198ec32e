"""`syncengine sim` as a person runs it: a subprocess that prints one line per system and serves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

PORTS = ("--apollo-port", "0", "--leadconnector-port", "0", "--corporatemerch-port", "0")
CLEAN = {
    k: ""
    for k in ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")
}


def _start(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, dict[str, str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "sim", *PORTS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    systems: dict[str, dict[str, str]] = {}
    assert proc.stdout is not None
    while len(systems) < 3:
        line = proc.stdout.readline()
        assert line, f"sim exited early: {proc.stderr.read() if proc.stderr else ''}"
        name, *pairs = line.split()
        systems[name] = dict(pair.split("=", 1) for pair in pairs)
    return proc, systems


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], dict[str, dict[str, str]]]]:
    proc, systems = _start(env=CLEAN)
    yield proc, systems
    proc.kill()
    proc.wait()


def test_prints_a_line_per_system_in_the_engine_variable_form(running) -> None:
    _, systems = running
    assert systems["apollo"]["APOLLO_BASE_URL"].startswith("http://127.0.0.1:")
    assert systems["apollo"]["APOLLO_BASE_URL"].endswith("/api/v1")
    assert systems["apollo"]["APOLLO_API_KEY"] == "sim-apollo-key"
    assert systems["leadconnector"]["LEADCONNECTOR_TOKEN"] == "sim-lc-token"
    assert systems["leadconnector"]["LEADCONNECTOR_LOCATION_ID"] == "SimLocation000000001"
    assert systems["corporatemerch"]["CORPORATEMERCH_BASE_URL"].endswith("/v2")
    assert systems["corporatemerch"]["CORPORATEMERCH_TOKEN"] == "sim-cm-token"


def test_printed_urls_answer_with_the_printed_credentials_and_refuse_others(running) -> None:
    _, systems = running
    apollo, lc = systems["apollo"], systems["leadconnector"]
    url = apollo["APOLLO_BASE_URL"] + "/contacts/search"
    ok = httpx.post(url, json={}, headers={"x-api-key": apollo["APOLLO_API_KEY"]})
    assert ok.status_code == 200 and ok.json()["contacts"] == []
    assert httpx.post(url, json={}, headers={"x-api-key": "wrong"}).status_code == 401
    headers = {"Authorization": f"Bearer {lc['LEADCONNECTOR_TOKEN']}", "Version": "2021-07-28"}
    body = {"locationId": lc["LEADCONNECTOR_LOCATION_ID"], "pageLimit": 10}
    found = httpx.post(lc["LEADCONNECTOR_BASE_URL"] + "/contacts/search", json=body, headers=headers)
    assert found.status_code == 200 and found.json()["total"] == 0


def test_sigint_stops_cleanly(running) -> None:
    proc, _ = running
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def test_credentials_from_the_environment_are_used_but_never_printed() -> None:
    secret = "real-looking-key-0123456789"
    proc, systems = _start(env={"APOLLO_API_KEY": secret})
    try:
        assert systems["apollo"]["APOLLO_API_KEY"] == "$APOLLO_API_KEY"
        url = systems["apollo"]["APOLLO_BASE_URL"] + "/contacts/search"
        assert httpx.post(url, json={}, headers={"x-api-key": secret}).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert secret not in out + err


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)


def _cm_total(cm: dict[str, str]) -> int:
    headers = {"Authorization": f"Bearer {cm['CORPORATEMERCH_TOKEN']}"}
    answer = httpx.get(cm["CORPORATEMERCH_BASE_URL"] + "/contacts", params={"limit": 50}, headers=headers)
    answer.raise_for_status()
    return answer.json()["pagination"]["total"]


def test_sample_contacts_are_served_and_a_state_file_keeps_them_across_a_restart(tmp_path) -> None:
    state = tmp_path / "sims.json"
    proc, systems = _start("--contacts", "20", "--state-file", str(state), "--no-rate-limits", env=CLEAN)
    try:
        apollo = systems["apollo"]
        found = httpx.post(
            apollo["APOLLO_BASE_URL"] + "/contacts/search",
            json={"per_page": 100},
            headers={"x-api-key": apollo["APOLLO_API_KEY"]},
        ).json()
        assert found["pagination"]["total_entries"] == 20
        assert _cm_total(systems["corporatemerch"]) == 4
        admin = systems["corporatemerch"]["CORPORATEMERCH_BASE_URL"].replace("/v2", "/__admin")
        httpx.post(
            admin + "/contacts",
            json={
                "contacts": [
                    {
                        "type": "client",
                        "first_name": "Kept",
                        "last_name": "Across",
                        "email": "kept@x.example",
                        "country": "US",
                        "address": "1 A St",
                        "city": "Austin",
                        "state": "TX",
                        "zip_code": "78701",
                    }
                ]
            },
        ).raise_for_status()
    finally:
        _stop(proc)
    assert state.exists()
    proc, systems = _start("--contacts", "20", "--state-file", str(state), env=CLEAN)
    try:
        assert _cm_total(systems["corporatemerch"]) == 5
    finally:
        _stop(proc)


def test_an_unknown_system_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncengine", "sim", *PORTS, "--systems", "apollo,hubspot"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "hubspot" in done.stderr
