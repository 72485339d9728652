"""One-time login links into the web console (table `web_login_links`, migration 0016a).

A link carries a random token; only its SHA-256 is stored. `redeem_login_link`
succeeds once, before the link expires, and marks it used in the same statement,
so two requests racing with one link cannot both get in. Issuing and using a
link are audited (actor, the user id; never the token).
Writers take the connection (call them inside `Store.write`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from bot.storage.audit import record_audit
from bot.storage.db import sha256_hex, to_iso

LINK_LIFETIME = timedelta(minutes=10)


async def create_login_link(conn: aiosqlite.Connection, token: str, user_id: int, actor: str,
                            now: datetime, lifetime: timedelta = LINK_LIFETIME) -> datetime:
    """Store the hash of `token` as a link for `user_id`; returns when it expires."""
    expires = now + lifetime
    await conn.execute(
        "INSERT INTO web_login_links(token_hash, user_id, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (sha256_hex(token), user_id, actor, to_iso(now), to_iso(expires)),
    )
    await record_audit(conn, actor, "web.link", "user", str(user_id), None, {"expires_at": to_iso(expires)},
                       at=to_iso(now))
    return expires


async def redeem_login_link(conn: aiosqlite.Connection, token: str, now: datetime) -> int | None:
    """The user id of an unused, unexpired link (now marked used), or None."""
    cursor = await conn.execute(
        "UPDATE web_login_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (to_iso(now), sha256_hex(token), to_iso(now)),
    )
    if cursor.rowcount != 1:
        return None
    async with conn.execute("SELECT user_id FROM web_login_links WHERE token_hash = ?",
                            (sha256_hex(token),)) as cur:
        user_id = (await cur.fetchone())[0]
    await record_audit(conn, f"web:{user_id}", "web.login", "user", str(user_id), at=to_iso(now))
    return user_id


async def forget_old_links(conn: aiosqlite.Connection, before: datetime) -> int:
    """Drop links that expired before `before`; returns how many."""
    cursor = await conn.execute("DELETE FROM web_login_links WHERE expires_at < ?", (to_iso(before),))
    return cursor.rowcount
