"""Read-only figures the web console's rules, channels and people pages show.

Rules: matched posts per rule and day (by post date) since a moment.
Channels: posts per channel since a moment. People: every subscriber row and
the invites (hashes never leave this module: an invite is named by its label,
the hash's first 12 digits, as the audit log names it).
"""
from __future__ import annotations

from datetime import datetime

from bot.storage.db import Store, to_iso


async def rule_day_counts(store: Store, since: datetime) -> dict[str, dict[str, int]]:
    """rule id -> {YYYY-MM-DD (UTC post date) -> matched posts} for posts dated `since` or later."""
    rows = await store.fetchall(
        "SELECT m.rule_id, substr(p.date, 1, 10) AS day, count(*) AS n FROM posts p"
        " JOIN matches m ON m.post_id = p.id WHERE p.date >= ? GROUP BY m.rule_id, day",
        (to_iso(since),))
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["rule_id"], {})[row["day"]] = row["n"]
    return counts


async def channel_post_counts(store: Store, since: datetime) -> dict[int, int]:
    """channel id -> posts dated `since` or later."""
    rows = await store.fetchall(
        "SELECT channel_id, count(*) AS n FROM posts WHERE date >= ? GROUP BY channel_id", (to_iso(since),))
    return {r["channel_id"]: r["n"] for r in rows}


async def all_subscribers(store: Store) -> list[dict]:
    """Every subscriber row, active first, with how many subscriptions it has."""
    rows = await store.fetchall(
        "SELECT s.id, s.chat_id, s.kind, s.title, s.role, s.active, s.tz, s.created_at,"
        " (SELECT count(*) FROM subscriptions x WHERE x.subscriber_id = s.id) AS subscriptions"
        " FROM subscribers s ORDER BY s.active DESC, s.id")
    return [dict(r) for r in rows]


async def invite_list(store: Store, limit: int = 50) -> list[dict]:
    """The newest invites: label, role, who made it, when it expires, who used it."""
    rows = await store.fetchall(
        "SELECT substr(code_hash, 1, 12) AS label, role, created_by, created_at, expires_at, used_by, used_at"
        " FROM invites ORDER BY created_at DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]
