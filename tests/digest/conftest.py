"""A small SQL factory for digest tests: channels, posts, matches, subscribers, outbox rows."""
from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.models import Subscriber
from bot.storage.db import to_iso
from tests.fakes import FakeSender

CREATED = "2024-01-01T00:00:00+00:00"




def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


class Rows:
    def __init__(self, store):
        self.store = store
        self._msg = itertools.count(1)
        self._chat = itertools.count(100)

    async def _exec(self, sql: str, params=()) -> int:
        async def run(conn):
            cursor = await conn.execute(sql, params)
            return cursor.lastrowid
        return await self.store.write(run)

    async def channel(self, channel_id: int, username: str, title: str = "") -> None:
        await self._exec("INSERT INTO channels(id, username, title, added_at) VALUES (?, ?, ?, ?)",
                         (channel_id, username, title or username, CREATED))

    async def rule(self, rule_id: str, title: str = "", tags=()) -> None:
        await self._exec("INSERT INTO rules(id, title, query, tags, updated_at) VALUES (?, ?, ?, ?, ?)",
                         (rule_id, title, rule_id, json.dumps(list(tags)), CREATED))

    async def post(self, date: datetime, text: str = "Новость", channel_id: int = -1001,
                   fwd_from=None, deleted_at: datetime | None = None, message_id: int | None = None) -> int:
        message_id = message_id or next(self._msg)
        fwd_channel, fwd_message = fwd_from or (None, None)
        return await self._exec(
            "INSERT INTO posts(channel_id, message_id, date, text, fwd_from_channel_id,"
            " fwd_from_message_id, deleted_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (channel_id, message_id, to_iso(date), text, fwd_channel, fwd_message,
             to_iso(deleted_at), to_iso(date)))

    async def match(self, post_id: int, rule_id: str, tags=()) -> None:
        await self._exec("INSERT INTO matches(post_id, rule_id, tags, created_at) VALUES (?, ?, ?, ?)",
                         (post_id, rule_id, json.dumps(list(tags)), CREATED))

    async def matched_post(self, date: datetime, rule_id: str = "mob", tags=("mobilization",), **kw) -> int:
        post_id = await self.post(date, **kw)
        await self.match(post_id, rule_id, tags)
        return post_id

    async def subscriber(self, tz: str = "Europe/Moscow", digest_time: str = "09:00",
                         subscribe=(("all", ""),), created_at: str = CREATED, active: bool = True) -> Subscriber:
        chat_id = next(self._chat)
        sid = await self._exec(
            "INSERT INTO subscribers(chat_id, tz, digest_time, active, created_at) VALUES (?, ?, ?, ?, ?)",
            (chat_id, tz, digest_time, int(active), created_at))
        for kind, value in subscribe:
            await self._exec("INSERT INTO subscriptions(subscriber_id, kind, value) VALUES (?, ?, ?)",
                             (sid, kind, value))
        return Subscriber(id=sid, chat_id=chat_id, tz=tz, digest_time=digest_time, active=active)

    async def alerted(self, subscriber_id: int, post_id: int) -> None:
        await self._exec(
            "INSERT INTO outbox(subscriber_id, post_id, status, created_at, sent_at) VALUES (?, ?, 'sent', ?, ?)",
            (subscriber_id, post_id, CREATED, CREATED))


@pytest.fixture
def rows(store) -> Rows:
    return Rows(store)


@pytest.fixture
def sender():
    return FakeSender()
