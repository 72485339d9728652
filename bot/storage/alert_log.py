"""The alert log: alert messages we sent and the posts grouped into each (migration 0005).

`alert_messages` holds one row per Telegram message that carries an alert,
with a JSON snapshot of what it showed (post, matches, rule titles) so it can
be re-rendered for follow-ups even after the post is edited or deleted, and a
JSON state (deleted_at, no_longer_matches, edited_at). `alert_posts` lists
the posts shown in it: the first one, then reposts and near-duplicates.
Writing helpers take the connection: call them inside `Store.write(...)`.

A post's edit or deletion changes the state of every alert showing it in the
same transaction as the change (`follow_edit_alerts`, `follow_deletion_alerts`);
the outbox then carries one follow-up row per alert message to re-render it.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Iterable, Sequence

import aiosqlite

from bot.models import Match, Post
from bot.storage.db import Store, from_iso, to_iso


async def insert_alert_message(
    conn: aiosqlite.Connection, *, subscriber_id: int, chat_id: int, message_id: int,
    post_id: int | None, snapshot: dict, now: datetime,
) -> int:
    """Record a sent alert message; return its alert id."""
    cursor = await conn.execute(
        "INSERT INTO alert_messages(subscriber_id, chat_id, message_id, post_id, snapshot, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (subscriber_id, chat_id, message_id, post_id, json.dumps(snapshot, ensure_ascii=False), to_iso(now)),
    )
    return cursor.lastrowid


async def add_alert_post(
    conn: aiosqlite.Connection, alert_id: int, subscriber_id: int, post: Post, shingles: bytes, now: datetime
) -> None:
    """Attach a post to an alert message (idempotent)."""
    await conn.execute(
        "INSERT OR IGNORE INTO alert_posts(alert_id, subscriber_id, channel_id, message_id, date, channel,"
        " channel_title, link, fwd_from_channel_id, fwd_from_message_id, shingles, added_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            alert_id, subscriber_id, post.channel_id, post.message_id, to_iso(post.date), post.channel,
            post.channel_title, post.link, post.fwd_from_channel_id, post.fwd_from_message_id, shingles,
            to_iso(now),
        ),
    )


async def set_alert_state(conn: aiosqlite.Connection, alert_id: int, state: dict, now: datetime) -> None:
    await conn.execute(
        "UPDATE alert_messages SET state = ?, updated_at = ? WHERE id = ?",
        (json.dumps(state, ensure_ascii=False), to_iso(now), alert_id),
    )


async def recent_story_posts(store: Store, subscriber_id: int, since: datetime, until: datetime) -> list:
    """Posts alerted to a subscriber whose dates fall in [since, until], oldest alert first."""
    return await store.fetchall(
        "SELECT p.*, m.chat_id, m.message_id AS alert_message_id FROM alert_posts p"
        " JOIN alert_messages m ON m.id = p.alert_id"
        " WHERE p.subscriber_id = ? AND p.date >= ? AND p.date <= ? ORDER BY p.alert_id, p.added_at",
        (subscriber_id, to_iso(since), to_iso(until)),
    )


async def alert_for_post(store: Store, subscriber_id: int, channel_id: int, message_id: int):
    """The alert message of this subscriber that shows the post, or None."""
    return await store.fetchone(
        "SELECT m.* FROM alert_posts p JOIN alert_messages m ON m.id = p.alert_id"
        " WHERE p.subscriber_id = ? AND p.channel_id = ? AND p.message_id = ? ORDER BY m.id LIMIT 1",
        (subscriber_id, channel_id, message_id),
    )


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Sequence) -> list:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def alerts_led_by(conn: aiosqlite.Connection, channel_id: int, message_id: int) -> list:
    """Alert messages (any subscriber) whose first post is this one."""
    return await _fetchall(conn, 
        "SELECT m.* FROM alert_messages m JOIN alert_posts p ON p.alert_id = m.id"
        " AND p.channel_id = ? AND p.message_id = ?"
        " WHERE p.rowid = (SELECT MIN(rowid) FROM alert_posts f WHERE f.alert_id = m.id)",
        (channel_id, message_id),
    )


async def alerts_showing(conn: aiosqlite.Connection, channel_id: int, message_id: int) -> list:
    """Alert messages (any subscriber) that show this post; `is_first` = 1 when it leads the alert."""
    return await _fetchall(conn, 
        "SELECT m.*, p.rowid = (SELECT MIN(rowid) FROM alert_posts f WHERE f.alert_id = m.id) AS is_first"
        " FROM alert_messages m JOIN alert_posts p ON p.alert_id = m.id"
        " WHERE p.channel_id = ? AND p.message_id = ? ORDER BY m.id",
        (channel_id, message_id),
    )


async def get_alert_message(store: Store, alert_id: int):
    return await store.fetchone("SELECT * FROM alert_messages WHERE id = ?", (alert_id,))


async def story_members(store: Store, alert_id: int) -> list:
    """Posts of an alert message in the order they joined; the first is the alerted post."""
    return await store.fetchall("SELECT * FROM alert_posts WHERE alert_id = ? ORDER BY rowid", (alert_id,))


async def follow_edit_alerts(conn: aiosqlite.Connection, post: Post, still_matches: bool, now: datetime,
                             matches: Sequence[Match] | None = None) -> list[aiosqlite.Row]:
    """An alerted post was edited: mark its alerts "no longer matches", or show the new text.

    Pass the new `matches` (spans into the new text) when it still matches to
    show the new text; without them a still-matching edit changes nothing.
    Returns the alert messages (id, subscriber_id, …) whose state changed: each needs re-rendering.
    """
    changed = []
    for row in await alerts_led_by(conn, post.channel_id, post.message_id):
        state, snapshot = json.loads(row["state"]), json.loads(row["snapshot"])
        if still_matches and matches is None and not state.get("no_longer_matches"):
            continue
        state["no_longer_matches"] = not still_matches
        state["edited_at"] = to_iso(now)
        if still_matches and matches is not None:
            snapshot["post"] = post_to_json(post)
            snapshot["matches"] = [match_to_json(m) for m in matches]
        await set_alert_state(conn, row["id"], state, now)
        await conn.execute("UPDATE alert_messages SET snapshot = ? WHERE id = ?",
                           (json.dumps(snapshot, ensure_ascii=False), row["id"]))
        changed.append(row)
    return changed


async def follow_deletion_alerts(conn: aiosqlite.Connection, channel_id: int, message_ids: Iterable[int],
                                 at: datetime) -> list[aiosqlite.Row]:
    """Alerted posts were deleted: their alerts say "deleted by the channel at …" (excerpt kept); a deleted
    copy grouped into an alert is marked "(deleted)" in its "also in". Returns the alert messages whose
    state changed (a second notice of the same deletion changes nothing)."""
    changed = []
    for message_id in message_ids:
        key = f"{channel_id}:{message_id}"
        for row in await alerts_showing(conn, channel_id, message_id):
            state = json.loads(row["state"])
            if state.get("deleted_at") if row["is_first"] else key in state.get("deleted_posts", []):
                continue
            if row["is_first"]:
                state["deleted_at"] = to_iso(at)
            else:
                state["deleted_posts"] = [*state.get("deleted_posts", []), key]
            await set_alert_state(conn, row["id"], state, at)
            changed.append(row)
    return changed


async def forget_author_names(conn: aiosqlite.Connection, channel_id: int) -> int:
    """Drop the member names kept in the snapshots of alerts for this group's messages (its
    show_authors was turned off); returns how many snapshots changed."""
    rows = await _fetchall(
        conn, "SELECT a.id, a.snapshot FROM alert_messages a JOIN posts p ON p.id = a.post_id WHERE p.channel_id = ?",
        (channel_id,))
    changed = 0
    for alert_id, text in rows:
        snapshot = json.loads(text)
        if (snapshot.get("post") or {}).get("author_name") is None:
            continue
        snapshot["post"]["author_name"] = None
        await conn.execute("UPDATE alert_messages SET snapshot = ? WHERE id = ?",
                           (json.dumps(snapshot, ensure_ascii=False), alert_id))
        changed += 1
    return changed


def post_to_json(post: Post) -> dict:
    """A post as the snapshot keeps it."""
    data = asdict(post)
    for key in ("date", "edit_date"):
        data[key] = to_iso(data[key])
    return data


def post_from_json(data: dict) -> Post:
    data = dict(data)
    for key in ("date", "edit_date"):
        data[key] = from_iso(data.get(key))
    return Post(**data)


def match_to_json(match: Match) -> dict:
    return {"rule_id": match.rule_id, "tags": list(match.tags), "spans": [list(s) for s in match.spans],
            "severity": match.severity}


def match_from_json(data: dict) -> Match:
    return Match(data["rule_id"], tuple(data.get("tags", ())), tuple(tuple(s) for s in data.get("spans", ())),
                 data.get("severity", "high"))



async def subscribers_shown(conn: aiosqlite.Connection, channel_id: int, message_id: int) -> set[int]:
    """Ids of the subscribers whose alert messages already show this post (first or grouped in)."""
    async with conn.execute("SELECT DISTINCT subscriber_id FROM alert_posts WHERE channel_id = ? AND message_id = ?",
                            (channel_id, message_id)) as cursor:
        return {row[0] for row in await cursor.fetchall()}
