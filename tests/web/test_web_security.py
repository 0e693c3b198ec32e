"""Who may use the app and how: loopback only unless a token is given, CSRF on every form, no
credential in any page, every CRM value escaped, security headers on every answer."""

from __future__ import annotations

import re

import httpx
from web_world import WebClient, WebWorld, with_conflicts

from syncengine.sim.core import ServerThread
from syncengine.web.app import create_app
from syncengine.web.security import Guard

PAGES = ("/", "/preview", "/conflicts", "/history", "/history/run/2", "/history/run/2/undo", "/errors",
         "/contact?q=ada@x.example")  # fmt: skip


def test_a_form_without_the_apps_csrf_token_or_from_another_site_is_refused(web: WebWorld) -> None:
    with_conflicts(web)
    [first, *_] = web.ctx.mirror.open_conflicts()
    client = WebClient(web.url)
    forged = client.http.post(f"/conflicts/{first.id}/settle", data={"take": "apollo"})
    assert forged.status_code == 403
    wrong = client.http.post(f"/conflicts/{first.id}/settle", data={"take": "apollo", "csrf": "0" * 64})
    assert wrong.status_code == 403
    elsewhere = client.http.post(
        f"/conflicts/{first.id}/settle", data={"take": "apollo", "csrf": client.csrf()},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert elsewhere.status_code == 403
    assert web.ctx.mirror.get_conflict(first.id).status == "open"
    assert client.post(f"/conflicts/{first.id}/settle", take="apollo").status_code == 200
    assert web.ctx.mirror.get_conflict(first.id).status == "resolved"


def test_on_loopback_a_request_for_another_host_name_is_refused(web: WebWorld) -> None:
    rebound = httpx.get(f"{web.url}/", headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    assert httpx.get(f"{web.url}/", headers={"Host": f"localhost:{web.server.port}"}).status_code == 200


def test_pages_hold_no_credential_escape_crm_values_and_send_security_headers(web: WebWorld) -> None:
    with_conflicts(web)
    secrets = [v for k, v in web.env.items() if k.endswith(("_KEY", "_TOKEN"))]
    assert len(secrets) == 2
    client = WebClient(web.url)
    for path in PAGES:
        answer = client.http.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert not any(secret in answer.text for secret in secrets), path
        assert "<script>window.pwned" not in answer.text, path  # escaped where it shows
        assert len(re.findall(r"<script", answer.text)) == 1, path  # only the page's own
        policy = answer.headers["content-security-policy"]
        assert "script-src 'nonce-" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in client.http.get("/conflicts").text


def test_beyond_loopback_the_token_printed_once_is_needed_and_only_its_digest_is_kept(web: WebWorld) -> None:
    guard, token = Guard.for_host("0.0.0.0")
    assert token is not None and guard.token_digest != token
    assert token not in repr(vars(guard))
    server = ServerThread(create_app(web.ctx, guard)).start()
    try:
        client = WebClient(server.url)
        assert client.http.get("/").url.path == "/login"  # sent to sign in
        assert client.http.get("/conflicts", follow_redirects=False).status_code == 303
        assert client.http.post("/errors/dismiss-error", data={"id": "1"}).status_code == 401
        refused = client.post("/login", token="not-the-token")
        assert refused.status_code == 401 and "not this server" in refused.text
        signed_in = client.post("/login?next=/conflicts", token=token)
        assert signed_in.status_code == 200 and signed_in.url.path == "/conflicts"
        assert token not in signed_in.text
        assert "httponly" in signed_in.history[0].headers["set-cookie"].lower()
        bearer = httpx.get(f"{server.url}/history", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200
    finally:
        server.stop()
