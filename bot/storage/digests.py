"""Queries for the digest: a period's posts and matches, 14 days of history, once-only records.

The rows it returns (`DigestData` of `PostRow`s and `MatchRow`s) are defined here, the
input of bot/digest/build.py.

Which rules a subscriber wants comes from bot/storage/subscribers.py (`RuleFilter`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import aiosqlite

from bot.formatting import post_link
from bot.storage.db import Store, from_iso, to_iso
from bot.storage.subscribers import ALL_RULES, RuleFilter, rule_filter_of

HISTORY_DAYS = 14  # days of matches a digest's chart shows


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    channel_id: int
    message_id: int
    date: datetime
    text: str
    link: str | None = None
    channel: str | None = None  # username
    channel_title: str | None = None
    fwd_from_channel_id: int | None = None
    fwd_from_message_id: int | None = None
    deleted_at: datetime | None = None
    views: int | None = None
    forwards: int | None = None

    @property
    def channel_name(self) -> str:
        return self.channel_title or (f"@{self.channel}" if self.channel else str(self.channel_id))


@dataclass(frozen=True, slots=True)
class MatchRow:
    post_id: int
    rule_id: str
    tags: tuple[str, ...]
    date: datetime  # the post's date


@dataclass(frozen=True, slots=True)
class DigestData:
    start: datetime
    end: datetime
    posts_read: int
    posts: tuple[PostRow, ...]  # matched posts dated in [start, end)
    matches: tuple[MatchRow, ...]  # their matches
    history: tuple[MatchRow, ...]  # matches of posts dated in [end - 14 days, end)
    deleted: tuple[PostRow, ...] = ()  # alerted posts deleted in [start, end)
    rule_titles: dict[str, str] = field(default_factory=dict)


_POST_COLUMNS = (
    "p.id, p.channel_id, p.message_id, p.date, p.text, p.link, p.fwd_from_channel_id,"
    " p.fwd_from_message_id, p.deleted_at, p.views, p.forwards, c.username, c.title AS channel_title"
)


def _post_from_row(row) -> PostRow:
    return PostRow(
        id=row["id"], channel_id=row["channel_id"], message_id=row["message_id"],
        date=from_iso(row["date"]), text=row["text"], link=post_link(row["channel_id"], row["message_id"], row["username"], row["link"]), channel=row["username"],
        channel_title=row["channel_title"], fwd_from_channel_id=row["fwd_from_channel_id"],
        fwd_from_message_id=row["fwd_from_message_id"], deleted_at=from_iso(row["deleted_at"]),
        views=row["views"], forwards=row["forwards"],
    )


async def _match_rows(store: Store, start: datetime, end: datetime, rules: RuleFilter) -> list[MatchRow]:
    rows = await store.fetchall(
        "SELECT m.post_id, m.rule_id, m.tags, p.date FROM matches m JOIN posts p ON p.id = m.post_id"
        " WHERE p.date >= ? AND p.date < ? ORDER BY p.date, m.post_id, m.rule_id",
        (to_iso(start), to_iso(end)),
    )
    out = []
    for r in rows:
        tags = tuple(json.loads(r["tags"] or "[]"))
        if rules.wants(r["rule_id"], tags):
            out.append(MatchRow(post_id=r["post_id"], rule_id=r["rule_id"], tags=tags, date=from_iso(r["date"])))
    return out


async def _deleted_posts(store: Store, start: datetime, end: datetime,
                         subscriber_id: int | None) -> list[PostRow]:
    """Posts deleted in [start, end) after an alert (to this subscriber, when given) went out."""
    who = "" if subscriber_id is None else " AND o.subscriber_id = ?"
    rows = await store.fetchall(
        f"SELECT {_POST_COLUMNS} FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
        f" JOIN outbox o ON o.post_id = p.id AND o.status = 'sent' AND o.action = 'send'{who}"
        " WHERE p.deleted_at >= ? AND p.deleted_at < ? ORDER BY p.deleted_at",
        (*(() if subscriber_id is None else (subscriber_id,)), to_iso(start), to_iso(end)),
    )
    seen, out = set(), []
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        out.append(_post_from_row(row))
    return out


async def load_digest_data(store: Store, start: datetime, end: datetime,
                           subscriber_id: int | None = None) -> DigestData:
    """Everything a digest of [start, end) needs; `subscriber_id` limits it to that chat's rules."""
    rules = ALL_RULES if subscriber_id is None else await rule_filter_of(store, subscriber_id)
    history_start = min(start, end - timedelta(days=HISTORY_DAYS))
    history = await _match_rows(store, history_start, end, rules)
    in_period = tuple(m for m in history if start <= m.date < end)
    post_ids = sorted({m.post_id for m in in_period})
    posts: list[PostRow] = []
    for chunk in range(0, len(post_ids), 500):
        ids = post_ids[chunk:chunk + 500]
        rows = await store.fetchall(
            f"SELECT {_POST_COLUMNS} FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
            f" WHERE p.id IN ({','.join('?' * len(ids))})", ids)
        posts.extend(_post_from_row(r) for r in rows)
    read = await store.fetchval("SELECT count(*) FROM posts WHERE date >= ? AND date < ?",
                                (to_iso(start), to_iso(end)), default=0)
    titles = {r["id"]: r["title"] for r in await store.fetchall("SELECT id, title FROM rules")}
    return DigestData(
        start=start, end=end, posts_read=read, posts=tuple(posts), matches=in_period,
        history=tuple(m for m in history if m.date >= end - timedelta(days=HISTORY_DAYS)),
        deleted=tuple(await _deleted_posts(store, start, end, subscriber_id)), rule_titles=titles,
    )


# --- the once-only record ---------------------------------------------------------------

async def digest_was_sent(store: Store, subscriber_id: int, day: date) -> bool:
    return bool(await store.fetchval(
        "SELECT 1 FROM digests_sent WHERE subscriber_id = ? AND day = ?", (subscriber_id, day.isoformat())))


async def claim_digest(store: Store, subscriber_id: int, day: date, now: datetime) -> bool:
    """Record (subscriber, day) as sent; False if it already was (the caller must not send)."""

    async def claim(conn: aiosqlite.Connection) -> bool:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO digests_sent(subscriber_id, day, sent_at) VALUES (?, ?, ?)",
            (subscriber_id, day.isoformat(), to_iso(now)),
        )
        return cursor.rowcount == 1

    return await store.write(claim)


async def release_digest(store: Store, subscriber_id: int, day: date) -> None:
    """Undo a claim when nothing could be sent, so a later attempt may send it."""

    async def release(conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM digests_sent WHERE subscriber_id = ? AND day = ?",
                           (subscriber_id, day.isoformat()))

    await store.write(release)
