"""Posts, channels, edits, deletions and matches: query helpers that take the connection.

Call the writing helpers inside `Store.write(...)`; they never commit.
A post is keyed by (channel_id, message_id): inserting it twice stores it once.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable

import aiosqlite

from bot.models import ChannelStatus, Match, Post
from bot.storage.db import Store, from_iso, to_iso

_POST_COLUMNS = (
    "channel_id, message_id, date, text, link, views, forwards, fwd_from_channel_id,"
    " fwd_from_message_id, has_media, grouped_id, lang, late, edit_date, stored_at, author_id, author_name"
)


async def insert_post(conn: aiosqlite.Connection, post: Post, now: datetime) -> int | None:
    """Store a post; return its row id, or None when (channel_id, message_id) was already stored."""
    cursor = await conn.execute(
        f"INSERT OR IGNORE INTO posts({_POST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            post.channel_id, post.message_id, to_iso(post.date), post.text, post.link, post.views,
            post.forwards, post.fwd_from_channel_id, post.fwd_from_message_id, int(post.has_media),
            post.grouped_id, post.lang, int(post.late), to_iso(post.edit_date), to_iso(now),
            post.author_id, post.author_name,
        ),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


async def find_post_row(conn: aiosqlite.Connection, channel_id: int, message_id: int) -> aiosqlite.Row | None:
    async with conn.execute(
        "SELECT * FROM posts WHERE channel_id = ? AND message_id = ?", (channel_id, message_id)
    ) as cursor:
        return await cursor.fetchone()


async def stored_keys(store: Store, posts: Iterable[Post]) -> set[tuple[int, int]]:
    """Which (channel_id, message_id) of these posts are already stored (a read, outside any write)."""
    keys = list({(p.channel_id, p.message_id) for p in posts})
    found: set[tuple[int, int]] = set()
    for i in range(0, len(keys), 400):  # stay under SQLite's bound-parameter limit
        chunk = keys[i:i + 400]
        values = ", ".join("(?, ?)" for _ in chunk)
        rows = await store.fetchall(
            f"SELECT channel_id, message_id FROM posts WHERE (channel_id, message_id) IN (VALUES {values})",
            [x for key in chunk for x in key],
        )
        found.update((r[0], r[1]) for r in rows)
    return found


async def ensure_channel(conn: aiosqlite.Connection, post: Post, now: datetime, status: ChannelStatus = ChannelStatus.ACTIVE) -> None:
    """Create the channel row for a post's channel if it is new (username and title from the post).

    Replay uses status 'replay' so the live watcher never tries to watch channels
    that only came from a file. last_seen_id is the watcher's business, not ours.
    """
    await conn.execute(
        "INSERT OR IGNORE INTO channels(id, username, title, status, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?)",
        (post.channel_id, post.channel or None, post.channel_title, status, to_iso(now), status),
    )
    # A username already taken by another id leaves the row absent: retry without it.
    await conn.execute(
        "INSERT OR IGNORE INTO channels(id, title, status, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
        (post.channel_id, post.channel_title, status, to_iso(now), status),
    )


async def record_edit(conn: aiosqlite.Connection, row: aiosqlite.Row, post: Post, now: datetime) -> None:
    """Keep the earlier text in post_edits, then store the new text and edit date."""
    await conn.execute(
        "INSERT INTO post_edits(post_id, text, edit_date, recorded_at) VALUES (?, ?, ?, ?)",
        (row["id"], row["text"], row["edit_date"], to_iso(now)),
    )
    await conn.execute(
        "UPDATE posts SET text = ?, edit_date = ?, views = coalesce(?, views) WHERE id = ?",
        (post.text, to_iso(post.edit_date or now), post.views, row["id"]),
    )


async def mark_deleted(conn: aiosqlite.Connection, channel_id: int, message_ids: Iterable[int], at: datetime) -> int:
    """Mark posts deleted (the row and its text stay); returns how many were marked."""
    marked = 0
    for message_id in message_ids:
        cursor = await conn.execute(
            "UPDATE posts SET deleted_at = ? WHERE channel_id = ? AND message_id = ? AND deleted_at IS NULL",
            (to_iso(at), channel_id, message_id),
        )
        marked += cursor.rowcount
    return marked


async def replace_matches(conn: aiosqlite.Connection, post_id: int, matches: Iterable[Match], now: datetime) -> None:
    """Store the post's current matches (an edit may add or remove some)."""
    await conn.execute("DELETE FROM matches WHERE post_id = ?", (post_id,))
    await add_matches(conn, post_id, matches, now)


async def add_matches(conn: aiosqlite.Connection, post_id: int, matches: Iterable[Match], now: datetime,
                      rematched: bool = False) -> None:
    """Store these matches of the post beside any it has (one row per rule); `rematched`: found by
    `dozor rematch` and not yet alerted."""
    await conn.executemany(
        "INSERT OR REPLACE INTO matches(post_id, rule_id, tags, spans, severity, created_at, rematched)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (post_id, m.rule_id, json.dumps(list(m.tags), ensure_ascii=False),
             json.dumps([list(s) for s in m.spans]), m.severity, to_iso(now), int(rematched))
            for m in matches
        ],
    )


def match_from_row(row) -> Match:
    return Match(
        rule_id=row["rule_id"], tags=tuple(json.loads(row["tags"])),
        spans=tuple(tuple(s) for s in json.loads(row["spans"])), severity=row["severity"],
    )


def post_from_row(row, channel: aiosqlite.Row | None = None) -> Post:
    """A Post from a posts row (and its channels row, for username and title)."""
    return Post(
        channel_id=row["channel_id"], message_id=row["message_id"], text=row["text"],
        date=from_iso(row["date"]), channel=channel["username"] if channel else None,
        channel_title=channel["title"] if channel else None, link=row["link"], views=row["views"],
        forwards=row["forwards"], fwd_from_channel_id=row["fwd_from_channel_id"],
        fwd_from_message_id=row["fwd_from_message_id"], has_media=bool(row["has_media"]),
        grouped_id=row["grouped_id"], edit_date=from_iso(row["edit_date"]), late=bool(row["late"]),
        lang=row["lang"], author_id=_optional(row, "author_id"), author_name=_optional(row, "author_name"),
    )


def _optional(row, key: str):
    """A column a query may not have selected (None then)."""
    return row[key] if key in row.keys() else None


# --- reach: views and forwards, refreshed while a post is young -------------------------------

REACH_DAYS = 3  # views and forwards of posts younger than this are refreshed by the sweeps


async def reach_window(store: Store, channel_id: int, since: datetime) -> list[int]:
    """Message ids of the channel's posts dated after `since` (not deleted), oldest first: whose
    views and forwards the sweeps refresh."""
    rows = await store.fetchall(
        "SELECT message_id FROM posts WHERE channel_id = ? AND deleted_at IS NULL AND date >= ? ORDER BY message_id",
        (channel_id, to_iso(since)),
    )
    return [r[0] for r in rows]


async def update_reach(conn: aiosqlite.Connection, channel_id: int,
                       counts: Iterable[tuple[int, int | None, int | None]]) -> int:
    """Store fresh (message_id, views, forwards) of a channel's posts; an unknown count keeps the stored
    one. Returns how many stored posts were updated."""
    updated = 0
    for message_id, views, forwards in counts:
        cursor = await conn.execute(
            "UPDATE posts SET views = COALESCE(?, views), forwards = COALESCE(?, forwards)"
            " WHERE channel_id = ? AND message_id = ?",
            (views, forwards, channel_id, message_id),
        )
        updated += cursor.rowcount
    return updated


async def recheck_window(store: Store, channel_id: int, since: datetime,
                         alerted_since: datetime) -> list[tuple[int, datetime | None, bool, str]]:
    """(message_id, edit_date, is_album, text) of the channel's live posts to re-read for edits and deletions.

    Every post dated after `since`, and the alerted ones (an outbox row) dated after
    `alerted_since`; deleted posts are left out, oldest first."""
    rows = await store.fetchall(
        "SELECT p.message_id, p.edit_date, p.grouped_id, p.text FROM posts p"
        " WHERE p.channel_id = ? AND p.deleted_at IS NULL"
        " AND (p.date >= ? OR (p.date >= ? AND EXISTS (SELECT 1 FROM outbox o WHERE o.post_id = p.id)))"
        " ORDER BY p.message_id",
        (channel_id, to_iso(since), to_iso(alerted_since)),
    )
    return [(r[0], from_iso(r[1]), r[2] is not None, r[3]) for r in rows]


async def post_row(store: Store, channel_id: int, message_id: int) -> aiosqlite.Row | None:
    """The stored posts row of (channel_id, message_id), or None (a read, outside any write)."""
    return await store.fetchone("SELECT * FROM posts WHERE channel_id = ? AND message_id = ?", (channel_id, message_id))


async def earlier_texts(store: Store, post_id: int) -> list[str]:
    """The texts a post had before each of its edits, oldest first."""
    rows = await store.fetchall("SELECT text FROM post_edits WHERE post_id = ? ORDER BY id", (post_id,))
    return [r[0] for r in rows]


async def matches_of(store: Store, post_id: int) -> list[Match]:
    """The stored matches of a post, by rule id."""
    rows = await store.fetchall("SELECT * FROM matches WHERE post_id = ? ORDER BY rule_id", (post_id,))
    return [match_from_row(r) for r in rows]


async def fulltext_rows(store: Store, post_id: int) -> int:
    """How many rows the full-text table posts_fts (kept by the posts triggers) has for this post: 1 once
    stored, 0 when the post never was."""
    return await store.fetchval("SELECT count(*) FROM posts_fts WHERE rowid = ?", (post_id,), 0)


async def stored_counts(store: Store) -> dict[str, int]:
    """How many posts, matches and earlier texts (post_edits) are stored."""
    return {table: await store.fetchval(f"SELECT count(*) FROM {table}", (), 0)
            for table in ("posts", "matches", "post_edits")}


async def matched_post_keys(store: Store) -> set[tuple[int, int]]:
    """(channel_id, message_id) of every stored post with at least one match."""
    rows = await store.fetchall(
        "SELECT DISTINCT p.channel_id, p.message_id FROM posts p JOIN matches m ON m.post_id = p.id")
    return {(r[0], r[1]) for r in rows}


async def stored_posts_page(store: Store, since: datetime | None, until: datetime | None, after_id: int,
                            limit: int) -> list[tuple[int, Post, frozenset[str], list[Match]]]:
    """One page of `dozor rematch`, by id: live (not deleted) posts dated in [since, until) with ids above
    `after_id`, each as (post id, Post, rule ids it matched, its matches a rematch found, not yet alerted)."""
    rows = await store.fetchall(
        "SELECT p.*, c.username AS c_username, c.title AS c_title FROM posts p"
        " LEFT JOIN channels c ON c.id = p.channel_id"
        " WHERE p.id > ? AND p.deleted_at IS NULL AND p.date >= ? AND p.date < ? ORDER BY p.id LIMIT ?",
        (after_id, to_iso(since) if since else "", to_iso(until) if until else "9999", limit),
    )
    if not rows:
        return []
    marks = ", ".join("?" for _ in rows)
    matched: dict[int, set[str]] = {}
    later: dict[int, list[Match]] = {}
    for row in await store.fetchall(
            f"SELECT * FROM matches WHERE post_id IN ({marks})", [r["id"] for r in rows]):
        matched.setdefault(row["post_id"], set()).add(row["rule_id"])
        if row["rematched"]:
            later.setdefault(row["post_id"], []).append(match_from_row(row))
    return [(r["id"], post_from_row(r, {"username": r["c_username"], "title": r["c_title"]}),
             frozenset(matched.get(r["id"], ())), later.get(r["id"], [])) for r in rows]


async def mark_alerted_late(conn: aiosqlite.Connection, post_id: int, rule_ids: Iterable[str], late: bool) -> None:
    """A rematch --alert handled these matches: no longer waiting for one; with `late` (alerts were
    queued) the post is flagged as found late, so its alerts say "late: posted at …"."""
    if late:
        await conn.execute("UPDATE posts SET late = 1 WHERE id = ?", (post_id,))
    await conn.executemany("UPDATE matches SET rematched = 0 WHERE post_id = ? AND rule_id = ?",
                           [(post_id, rule_id) for rule_id in rule_ids])
