"""Helpers for command tests: a context factory, stored posts, subscribers and rules."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.commands.context import Ctx
from bot.models import RuleDef
from bot.settings import load_settings
from bot.storage import access
from bot.storage.posts import ensure_channel, insert_post
from bot.storage.rules import upsert_rule

ADMIN, OPERATOR, SUBSCRIBER, STRANGER = 1, 2, 3, 4
GROUP = -1009999
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)


def lower_words(text: str) -> str:
    """A fast stand-in lemmatizer for index tests that do not need word forms."""
    return " ".join(text.lower().split())


@pytest.fixture
def settings():
    return load_settings(env={}, env_file=None, config_file=None).replace(admins=(ADMIN,))


@pytest.fixture
def make_ctx(store, settings):
    def make(user_id: int = SUBSCRIBER, chat_id: int | None = None, **overrides) -> Ctx:
        fields = dict(store=store, settings=settings, chat_id=user_id if chat_id is None else chat_id,
                      user_id=user_id, now=NOW)
        if fields["chat_id"] < 0:
            fields.update(chat_kind="group", chat_title="Newsroom", is_chat_admin=False)
        fields.update(overrides)
        return Ctx(**fields)
    return make


@pytest.fixture
async def people(store):
    """An operator and a subscriber (admins come from settings)."""
    await store.write(lambda c: access.add_subscriber(c, OPERATOR, "test", NOW, role="operator"))
    await store.write(lambda c: access.add_subscriber(c, SUBSCRIBER, "test", NOW))
    return store


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
