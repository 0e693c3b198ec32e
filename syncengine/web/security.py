"""Who may use the app, and that a form was sent by one of its own pages.

- On loopback the app is open to this machine's user, as the command line is; requests naming any
  other host are refused (a web page elsewhere cannot reach it through DNS rebinding).
- Listening elsewhere needs a token: printed once when the server starts and kept only as its
  SHA-256 digest. Signing in trades it for a session cookie (HttpOnly, SameSite=Strict), of which
  too only the digest is kept.
- Every form carries a CSRF token: an HMAC of a random cookie under a secret of this process, so a
  page of another site can neither read nor forge it; a POST whose Origin is another site is
  refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field

SESSION_COOKIE = "syncengine_session"
CSRF_COOKIE = "syncengine_csrf"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """The access rules of one server process."""

    token_digest: str | None = None  # None: no token needed (loopback)
    loopback: bool = True
    _csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _sessions: set[str] = field(default_factory=set)  # digests of the session cookies handed out

    @classmethod
    def for_host(cls, host: str) -> tuple[Guard, str | None]:
        """The guard for a server on ``host`` and, when it needs one, the token to print (once)."""
        if is_loopback(host):
            return cls(loopback=True), None
        token = secrets.token_urlsafe(24)
        return cls(token_digest=digest(token), loopback=False), token

    # ------------------------------------------------------------------ sign-in

    def needs_sign_in(self) -> bool:
        return self.token_digest is not None

    def token_matches(self, given: str) -> bool:
        return self.token_digest is not None and hmac.compare_digest(digest(given), self.token_digest)

    def new_session(self) -> str:
        session = secrets.token_urlsafe(32)
        self._sessions.add(digest(session))
        return session

    def signed_in(self, session: str | None, bearer: str | None) -> bool:
        if not self.needs_sign_in():
            return True
        if bearer and self.token_matches(bearer):
            return True
        return bool(session) and digest(session or "") in self._sessions

    def host_allowed(self, host_header: str) -> bool:
        """On loopback, only requests addressed to a loopback name (no DNS rebinding)."""
        if not self.loopback:
            return True
        host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return is_loopback(host)

    # ------------------------------------------------------------------ CSRF

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self._csrf_key, cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, cookie: str | None, sent: str | None) -> bool:
        if not cookie or not sent:
            return False
        return hmac.compare_digest(self.csrf_token(cookie), sent)
