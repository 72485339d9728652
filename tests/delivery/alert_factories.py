"""Factories for the alert tests: posts, subscribers, outbox rows (small SQL), the fake sender."""
from __future__ import annotations

import itertools
import json

from bot.models import Alert, Match, Post, Subscriber
from bot.storage.db import Store, to_iso
from tests.fakes import FakeClock, FakeSender
from tests.factories import make_post

__all__ = ["FakeClock", "FakeSender", "make_post"]  # re-exported for the alert tests

_outbox_ids = itertools.count(1)


async def add_subscriber(store: Store, chat_id: int = 42, kind: str = "user", tz: str = "Europe/Moscow") -> Subscriber:
    async def insert(conn):
        cursor = await conn.execute(
            "INSERT INTO subscribers(chat_id, kind, tz, created_at) VALUES (?, ?, ?, '2024-05-01T00:00:00+00:00')",
            (chat_id, kind, tz),
        )
        return cursor.lastrowid

    return Subscriber(id=await store.write(insert), chat_id=chat_id, kind=kind, tz=tz)


async def add_rule(store: Store, rule_id: str, title: str = "") -> None:
    await store.write(lambda conn: conn.execute(
        "INSERT INTO rules(id, title, query, updated_at) VALUES (?, ?, 'x', '2024-05-01T00:00:00+00:00')",
        (rule_id, title),
    ))


async def queue_alert(store: Store, sub: Subscriber, post: Post, matches: tuple[Match, ...] | None = None,
                      edited: bool = False) -> Alert:
    """Store the post and an outbox row for it, and return the Alert the worker would build."""
    matches = matches if matches is not None else (Match("mob", spans=_spans(post.text, "мобилизац")),)

    async def insert(conn):
        await conn.execute(
            "INSERT OR IGNORE INTO posts(channel_id, message_id, date, text, link, fwd_from_channel_id,"
            " fwd_from_message_id, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (post.channel_id, post.message_id, to_iso(post.date), post.text, post.link,
             post.fwd_from_channel_id, post.fwd_from_message_id, to_iso(post.date)),
        )
        async with conn.execute("SELECT id FROM posts WHERE channel_id = ? AND message_id = ?",
                                (post.channel_id, post.message_id)) as cur:
            post_id = (await cur.fetchone())[0]
        cursor = await conn.execute(
            "INSERT INTO outbox(subscriber_id, post_id, rules, created_at) VALUES (?, ?, ?, ?)",
            (sub.id, post_id, json.dumps([m.rule_id for m in matches]), to_iso(post.date)),
        )
        return cursor.lastrowid

    outbox_id = await store.write(insert)
    return Alert(outbox_id=outbox_id, subscriber=sub, post=post, matches=matches, edited=edited)


def _spans(text: str, stem: str) -> tuple[tuple[int, int], ...]:
    import re
    return tuple((m.start(), m.end()) for m in re.finditer(stem + r"\w*", text))
