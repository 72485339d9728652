"""Constants and helpers for command tests (fixtures live in conftest.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import itertools

from bot.models import Post, RuleDef
from bot.storage.posts import ensure_channel, insert_post
from bot.storage.rules import upsert_rule

ADMIN, OPERATOR, SUBSCRIBER, STRANGER = 1, 2, 3, 4
GROUP = -1009999
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)
_message_ids = itertools.count(1)


def make_post(**overrides) -> Post:
    fields = dict(channel_id=-1001000000001, message_id=next(_message_ids), channel="pskovgubernia",
                  channel_title="Псковская губерния", text="Обычная новость о погоде.",
                  date=datetime(2024, 5, 9, 9, 30, tzinfo=timezone.utc))
    fields.update(overrides)
    fields.setdefault("link", f"https://t.me/{fields['channel']}/{fields['message_id']}")
    return Post(**fields)


def lower_words(text: str) -> str:
    """A fast stand-in lemmatizer for index tests that do not need word forms."""
    return " ".join(text.lower().split())


async def add_rule(store, rule_id: str, query: str, **fields) -> RuleDef:
    rule = RuleDef(id=rule_id, query=query, **fields)
    await store.write(lambda c: upsert_rule(c, rule, "test"))
    return rule


async def add_posts(store, posts) -> list[int]:
    ids = []
    for post in posts:
        async def put(conn, post=post):
            await ensure_channel(conn, post, NOW)
            return await insert_post(conn, post, NOW)
        ids.append(await store.write(put))
    return ids
