"""/console: a one-time link into the web console, sent to an operator or admin in a private chat.

The router lets only operators and admins in private chats reach it. The link works
once, for 10 minutes; only its hash is stored (bot/storage/web_sessions.py). Where
the console lives: DOZOR_WEB_URL, else http://DOZOR_WEB, else http://127.0.0.1:8080.
`console_url` and `issue_login_link` are shared with `dozor web-login` and the console.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from bot.commands.context import Ctx, Reply
from bot.formatting import escape as esc
from bot.storage.db import Store
from bot.storage.web_sessions import create_login_link

DEFAULT_ADDRESS = "127.0.0.1:8080"


def console_url(settings, host: str | None = None, port: int | None = None) -> str:
    """Where people open the console: DOZOR_WEB_URL, else http://host:port (given, DOZOR_WEB or the default)."""
    if settings.web_url:
        return settings.web_url.rstrip("/")
    if host is None:
        host, _, port_text = (settings.web or DEFAULT_ADDRESS).rpartition(":")
        port = int(port_text) if port_text.isdigit() else 8080
    return f"http://{host}:{port}"


async def issue_login_link(store: Store, base_url: str, user_id: int, actor: str,
                           now: datetime) -> tuple[str, datetime]:
    """A one-time login link for `user_id` and when it expires."""
    token = secrets.token_urlsafe(32)
    expires = await store.write(lambda conn: create_login_link(conn, token, user_id, actor, now))
    return f"{base_url.rstrip('/')}/login/{token}", expires


async def handle_console(ctx: Ctx, cmd) -> Reply:
    link, expires = await issue_login_link(ctx.store, console_url(ctx.settings), ctx.user_id, ctx.actor, ctx.now)
    return Reply(f"Your link to the web console (works once, until {expires:%H:%M} UTC):\n"
                 f'<a href="{esc(link, quote=True)}">{esc(link)}</a>')
