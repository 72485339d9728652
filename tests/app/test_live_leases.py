"""`dozor run` on a shared store (PostgreSQL) watches only the accounts it holds a lease on: while
another live process holds the account nothing is connected; once that process stops heartbeating
and the lease lapses, the next heartbeat takes the account, the channel is swept at once and the
post missed meanwhile reaches the subscriber once, marked late."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from telethon import functions

from bot.app.live import build_live_app, renew_leases
from bot.storage import Store, leases
from tests.app.test_live import CHANNEL, MATCHING, NOW, READER, Live, subscribe, until, watched_channel


async def test_an_account_held_elsewhere_is_not_watched_until_its_lease_lapses(tmp_path, pg_url):
    store, other = await Store.open(pg_url), await Store.open(pg_url)
    try:
        await watched_channel(store)
        await subscribe(store)
        await leases.heartbeat(other, other.process_id, ["dozor"], NOW)  # a live process holds the account
        live = Live(tmp_path, store)
        live.user.post(CHANNEL, 11, MATCHING)
        live.app = await build_live_app(live.settings, store, live.options)
        live.stop = asyncio.Event()
        live.task = asyncio.create_task(live.app.run(live.stop))
        await until(lambda: live.app.leased is not None)
        await asyncio.sleep(0.1)
        assert live.app.leased.held == set() and not live.user.is_connected()
        assert not live.bot.sent(functions.messages.SendMessageRequest, READER)
        live.now = NOW + timedelta(seconds=leases.LEASE_SECONDS + 1)  # the other process died meanwhile
        await renew_leases(store, ["dozor"], live.app.leased, live.now)  # the lease task's next beat
        await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
        await asyncio.sleep(0.05)
        await live.finish()
        [request] = live.bot.sent(functions.messages.SendMessageRequest, READER)
        assert "late: posted at" in request.message
        assert await leases.lease_holders(store) == {}  # given back on a clean stop
    finally:
        await store.close()
        await other.close()
