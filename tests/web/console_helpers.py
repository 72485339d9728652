"""A seeded database and logged-in TestClients for the web console's handler tests.

People: ADMIN (DOZOR_ADMINS), OPERATOR and SUBSCRIBER (subscriber rows with those
roles), OTHER (another subscriber), STRANGER (nobody). Posts: five, two matched by
rule 'mob' (tag mobilization) and delivered to SUBSCRIBER and OTHER, one by 'ref' to
OTHER only and late, one edited and one deleted. The store is written through
storage functions and closed before the app opens it (its own event loop).
"""
from __future__ import annotations

import asyncio
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from starlette.testclient import TestClient

from bot.models import Match
from bot.settings import load_settings
from bot.storage import Store
from bot.storage.posts import add_matches, mark_deleted, record_edit, find_post_row
from bot.web.app import build_app
from bot.web.auth import issue_login_link
from tests.factories import add_outbox_row, add_posts, add_rule, add_subscriber, make_post

ADMIN, OPERATOR, SUBSCRIBER, OTHER, STRANGER = 1, 20, 30, 31, 99
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=timezone.utc)
SECRET = "test-secret-for-signing-cookies"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def settings_for(tmp: Path):
    return load_settings(env={"DOZOR_DATA_DIR": str(tmp / "data"), "DOZOR_DB": str(tmp / "dozor.db"),
                              "DOZOR_ADMINS": str(ADMIN), "DOZOR_TZ": "Europe/Moscow"},
                         env_file=None, config_file=None)


def on_store(path: Path, fn):
    """Run `fn(store)` (async) on the database at `path` in a fresh event loop; its result."""
    async def go():
        store = await Store.open(path)
        try:
            return await fn(store)
        finally:
            await store.close()
    return asyncio.run(go())


def spans(text: str, word: str):
    start = text.lower().find(word)
    return ((start, start + len(word)),)


async def seed(store: Store) -> dict:
    await add_rule(store, "mob", "мобилизация", tags=("mobilization",))
    await add_rule(store, "ref", "отказ*", tags=("refusals",))
    await add_subscriber(store, SUBSCRIBER)
    await add_subscriber(store, OTHER)
    operator = await add_subscriber(store, OPERATOR)
    from bot.storage import access
    await store.write(lambda c: access.set_role(c, OPERATOR, "operator", "test", NOW))
    subs = {s: (await _sub_id(store, s)) for s in (SUBSCRIBER, OTHER)}
    texts = [
        ("Мобилизация в Пскове: новые повестки " + HOSTILE, "pskovgubernia", -1001000000001),
        ("Вторая волна: мобилизация студентов", "example_gorod", -1001000000002),
        ("Солдаты пишут отказ воевать", "example_gorod", -1001000000002),
        ("Погода в Пскове", "pskovgubernia", -1001000000001),
    ]
    posts = [make_post(text=t, channel=ch, channel_id=cid, date=NOW - timedelta(days=3 - i, hours=1),
                       late=(i == 2))
             for i, (t, ch, cid) in enumerate(texts)]
    ids = await add_posts(store, posts, NOW - timedelta(days=3))
    await store.write(lambda c: add_matches(c, ids[0], [Match("mob", ("mobilization",), spans(texts[0][0], "мобилизация"))], NOW))
    await store.write(lambda c: add_matches(c, ids[1], [Match("mob", ("mobilization",), spans(texts[1][0], "мобилизация"))], NOW))
    await store.write(lambda c: add_matches(c, ids[2], [Match("ref", ("refusals",), spans(texts[2][0], "отказ"))], NOW))
    for n, post_id in enumerate(ids[:2]):
        for sub in (SUBSCRIBER, OTHER):
            await add_outbox_row(store, subs[sub], post_id, NOW - timedelta(hours=5 - n), ("mob",), sent=True)
    await add_outbox_row(store, subs[OTHER], ids[2], NOW - timedelta(hours=2), ("ref",), sent=True)

    async def edit_and_delete(conn):
        row = await find_post_row(conn, posts[1].channel_id, posts[1].message_id)
        from dataclasses import replace
        await record_edit(conn, row, replace(posts[1], text=texts[1][0] + " (обновлено)", edit_date=NOW), NOW)
        await mark_deleted(conn, posts[0].channel_id, [posts[0].message_id], NOW - timedelta(hours=1))
    await store.write(edit_and_delete)
    return {"posts": posts, "ids": ids, "subs": subs, "operator": operator}


async def _sub_id(store, chat_id):
    from bot.storage.subscribers import subscriber_by_chat
    return (await subscriber_by_chat(store, chat_id, active_only=False)).id


@contextmanager
def console_client(tmp: Path, user_id: int | None, clock=lambda: NOW, settings=None, warm: bool = False):
    """A TestClient of the console, logged in as `user_id` (None: not logged in); `warm`: with the
    preview warm-up started at startup, as `dozor web` does."""
    settings = settings or settings_for(tmp)
    app = build_app(settings, secret=SECRET, clock=clock, warm=warm)
    app.state.console.sse_every = 0.01
    app.state.console.sse_rounds = 3
    with TestClient(app) as client:
        client.console = app.state.console
        if user_id is not None:
            link = new_link(tmp, user_id, clock())
            response = client.post(_path(link), follow_redirects=False)
            assert response.status_code == 303, response.text
        yield client


def new_link(tmp: Path, user_id: int, now: datetime) -> str:
    return on_store(tmp / "dozor.db",
                    lambda store: issue_login_link(store, "http://testserver", user_id, "test", now))[0]


def _path(link: str) -> str:
    return link.replace("http://testserver", "")


def csrf_of(client) -> str:
    page = client.get("/").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
