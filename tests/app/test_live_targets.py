"""`dozor run` live with a webhook subscriber beside a Telegram chat: both alerted, the webhook on its own lane.

The live app as built by build_live_app (offline Telethon clients of tests/app/test_live.py)
and a real HTTP server on 127.0.0.1 for the webhook.
"""
from __future__ import annotations

import json

from telethon import functions

from bot.storage.outbox import outbox_rows
from tests.app.test_live import CHANNEL, MATCHING, READER, Live, subscribe, until, watched_channel
from tests.delivery.target_helpers import add_webhook
from tests.servers.http_receiver import HttpReceiver
from tests.telegram.offline import make_message


async def test_a_live_post_reaches_the_webhook_and_the_chat(tmp_path, store):
    async with HttpReceiver() as hooks:
        await watched_channel(store)
        await subscribe(store)
        await add_webhook(store, hooks.url())
        live = await Live(tmp_path, store).start()
        await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
        await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER) and hooks.received())
        await live.finish()
    [request] = hooks.received()
    assert json.loads(request.body)["post"]["message_id"] == 11
    assert [r["status"] for r in await outbox_rows(store)] == ["sent", "sent"]


async def test_without_a_bot_token_webhooks_are_still_alerted(tmp_path, store):
    async with HttpReceiver() as hooks:
        await watched_channel(store)
        await add_webhook(store, hooks.url())
        live = await Live(tmp_path, store, bot_token=False).start()
        await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
        await until(lambda: hooks.received())
        await live.finish()
    assert json.loads(hooks.received()[0].body)["event"] == "alert"
