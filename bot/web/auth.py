"""Who is asking: one-time login links, signed session cookies, roles, CSRF and login throttling.

- `issue_login_link`: a random token whose hash is stored (bot/storage/web_sessions.py);
  the link works once, for 10 minutes. Opening it shows a button; the POST logs in,
  so a chat's link preview cannot use the link up.
- The session is a cookie signed with itsdangerous (timestamped; SESSION_AGE):
  the user id, the role at login and a CSRF token. Every request re-reads the
  role (settings.admins, the subscriber row, as the bot does): a role removed or
  changed ends the session.
- Every POST must carry the session's CSRF token (form field `csrf` or header
  X-CSRF-Token); a forged or missing one changes nothing.
- Login attempts are limited per client address (LoginThrottle).
"""
from __future__ import annotations

import hmac
import secrets
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.commands.console import console_url, issue_login_link  # noqa: F401  (the CLI's too)
from bot.commands.roles import Role, role_of_row
from bot.datadir import create_private_file, make_private_dir
from bot.settings import Settings
from bot.storage.db import Store
from bot.storage.subscribers import subscriber_by_chat

SESSION_COOKIE = "dozor_session"
SESSION_AGE = 12 * 3600  # seconds a session lasts
SECRET_FILE = "web-secret"
ROLE_NAMES = {Role.SUBSCRIBER: "subscriber", Role.OPERATOR: "operator", Role.ADMIN: "admin"}


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: Role
    csrf: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, "stranger")

    @property
    def actor(self) -> str:
        """How the audit log names changes made in the console."""
        return f"web:{self.user_id}"


def load_secret(data_dir: Path) -> str:
    """The key that signs session cookies: kept in <data dir>/web-secret (created private once)."""
    path = Path(data_dir) / SECRET_FILE
    if not path.is_file() or not path.read_text().strip():
        make_private_dir(path.parent)
        create_private_file(path)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


async def current_role(store: Store, settings: Settings, user_id: int) -> Role:
    """The person's role now, as the bot decides it in a private chat."""
    if user_id <= 0:
        return Role.STRANGER
    if user_id in tuple(settings.admins or ()):
        return Role.ADMIN
    return role_of_row(await subscriber_by_chat(store, user_id, active_only=True))


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str, max_age: int = SESSION_AGE):
        self.serializer = URLSafeTimedSerializer(secret, salt="dozor-web-session")
        self.max_age = max_age

    def dump(self, user_id: int, role: Role) -> str:
        return self.serializer.dumps({"uid": user_id, "role": int(role), "csrf": secrets.token_urlsafe(24)})

    def load(self, cookie: str | None) -> dict | None:
        """The session's data, or None when the cookie is missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        return data if isinstance(data, dict) and {"uid", "role", "csrf"} <= set(data) else None


async def viewer_of(sessions: Sessions, store: Store, settings: Settings, cookie: str | None) -> Viewer | None:
    """The logged-in person, or None (no session, or their role was removed or changed since)."""
    data = sessions.load(cookie)
    if data is None:
        return None
    role = await current_role(store, settings, int(data["uid"]))
    if role == Role.STRANGER or int(role) != int(data["role"]):
        return None
    return Viewer(int(data["uid"]), role, str(data["csrf"]))


def csrf_ok(viewer: Viewer, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(viewer.csrf.encode(), str(sent).encode())


class LoginThrottle:
    """At most `limit` login attempts per client address in `window` seconds (clock passed in)."""

    def __init__(self, limit: int = 10, window: float = 600.0):
        self.limit = limit
        self.window = window
        self.attempts: dict[str, deque] = {}

    def allow(self, client: str, now: float) -> bool:
        if len(self.attempts) > 10_000:  # many addresses: forget those with nothing in the window
            self.attempts = {k: v for k, v in self.attempts.items() if v and v[-1] > now - self.window}
        times = self.attempts.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True
