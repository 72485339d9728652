"""Fixtures for command tests: settings with one admin, a context factory, people."""
from __future__ import annotations

import pytest

from bot.commands.context import Ctx
from bot.settings import load_settings
from bot.storage import access
from tests.commands.cmd_helpers import ADMIN, NOW, OPERATOR, SUBSCRIBER


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
