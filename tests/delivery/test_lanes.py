"""Delivery lanes: Telegram and each webhook deliver independently; a target that keeps failing is told.

Real store, real Pipeline, real DeliveryLanes and aiohttp against a local HTTP
server; Telegram is the FakeSender. The slow-target test runs the live loop
(`DeliveryLanes.run`) and checks order of events, not durations.
"""
from __future__ import annotations

import asyncio

from bot.app.housekeeping import TARGET_NOTICE_AFTER, AdminNotices, SubscriberSync
from bot.delivery.worker import backoff_seconds
from bot.models import TARGET_KINDS, TELEGRAM_KINDS, Match
from bot.storage import access
from bot.storage.outbox import outbox_rows
from bot.storage.subscribers import recipients
from tests.delivery.target_helpers import MATCHING, SECRET, TargetDelivery, add_webhook
from tests.factories import add_subscriber, make_post
from tests.fakes import FakeSender
from tests.servers.http_receiver import HttpReceiver, Reply


async def until(condition, tries: int = 500) -> bool:
    """Let the loop run until `condition()` holds (a bound on tries, not a time limit asserted)."""
    for _ in range(tries):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def test_a_slow_webhook_does_not_hold_up_telegram_alerts(store):
    async with HttpReceiver() as hooks:
        hooks.always("/hook", Reply(200, delay=1.0))
        webhook = await add_webhook(store, hooks.url())
        for chat in (41, 42, 43):
            await add_subscriber(store, chat)
        telegram = FakeSender()
        run = TargetDelivery(store, telegram=telegram)
        stop = asyncio.Event()
        loop = asyncio.create_task(run.lanes.run(stop))
        await run.pipeline.on_post(make_post(text=MATCHING))
        assert await until(lambda: len(hooks.received()) == 1)
        assert await until(lambda: len(telegram.sent) == 3)
        webhook_rows = [r for r in await outbox_rows(store) if r["subscriber_id"] == webhook]
        assert [r["status"] for r in webhook_rows] == ["pending"]  # still waiting for the slow answer
        stop.set()
        await loop
    assert [r["status"] for r in await outbox_rows(store)] == ["sent"] * 4


async def test_a_failing_webhook_does_not_hold_up_another(store):
    async with HttpReceiver() as hooks:
        hooks.always("/down", Reply(500))
        await add_webhook(store, hooks.url("/down"))
        await add_webhook(store, hooks.url("/up"))
        run = TargetDelivery(store)
        for i in range(3):
            await run.pipeline.on_post(make_post(message_id=100 + i, text=f"{MATCHING} ({i})"))
        assert await run.deliver() == 3
        await run.close()
    assert len(hooks.received("/up")) == 3
    assert len(hooks.received("/down")) == 1  # paused after its first failure instead of trying every row


async def test_a_target_that_keeps_failing_is_told_to_the_admins_once(store):
    async with HttpReceiver() as hooks:
        hooks.always("/hook?key=private", Reply(500))
        url = hooks.url("/hook?key=private")
        await add_webhook(store, url)
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        admins = FakeSender()
        notices = AdminNotices(store, admins, [1], run.clock.now)
        for attempt in range(1, TARGET_NOTICE_AFTER + 1):
            assert await notices.run_once() == 0
            await run.deliver()
            run.later(backoff_seconds(attempt))
        assert await notices.run_once() == 1
        assert await notices.run_once() == 0
        [message] = admins.sent
        assert "Delivery targets failing" in message.html and "HTTP 500" in message.html
        assert f"http://127.0.0.1:{hooks.port}/…" in message.html
        assert "private" not in message.html and SECRET not in message.html
        hooks.always("/hook?key=private", Reply(200))
        assert await run.deliver() == 1
        await run.close()
    assert await store.fetchval("SELECT failures FROM delivery_targets") == 0


async def fail_until_told(run: TargetDelivery, notices: AdminNotices) -> None:
    """Deliver (and fail) until the admins have been told the target keeps failing."""
    for attempt in range(1, TARGET_NOTICE_AFTER + 1):
        await run.deliver()
        run.later(backoff_seconds(attempt))
    assert await notices.run_once() == 1


async def test_a_failing_target_that_delivers_again_is_told_back_once(store):
    async with HttpReceiver() as hooks:
        hooks.always("/hook", Reply(500))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        admins = FakeSender()
        notices = AdminNotices(store, admins, [1], run.clock.now)
        await fail_until_told(run, notices)
        hooks.always("/hook", Reply(200))
        assert await run.deliver() == 1
        assert await notices.run_once() == 1
        assert await notices.run_once() == 0
        assert await AdminNotices(store, FakeSender(), [1], run.clock.now).run_once() == 0  # a restart: not again
        failing, back = admins.sent
        assert "Delivery targets failing" in failing.html
        assert "Delivery targets back" in back.html and "delivers again" in back.html
        assert f"http://127.0.0.1:{hooks.port}/…" in back.html and "Delivery targets failing" not in back.html
        hooks.always("/hook", Reply(500))  # failing again later is news again, in the same run
        await run.pipeline.on_post(make_post(message_id=2, text=MATCHING + " Снова."))
        run.later(60)
        await fail_until_told(run, notices)
        await run.close()
    assert "Delivery targets failing" in admins.sent[-1].html


async def test_a_target_that_recovers_before_the_admins_were_told_gets_no_back_notice(store):
    async with HttpReceiver() as hooks:
        hooks.script("/hook", Reply(500))
        hooks.always("/hook", Reply(200))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        admins = FakeSender()
        await run.deliver()
        run.later(backoff_seconds(1))
        assert await run.deliver() == 1
        await run.close()
    assert await AdminNotices(store, admins, [1], run.clock.now).run_once() == 0


async def test_lanes_follow_targets_added_and_removed(store):
    run = TargetDelivery(store)
    first = await add_webhook(store, "http://127.0.0.1:9/a")
    assert await run.lanes.refresh() == [first]
    second = await add_webhook(store, "http://127.0.0.1:9/b")
    assert await run.lanes.refresh() == [second]
    chat_id = await store.fetchval("SELECT chat_id FROM subscribers WHERE id = ?", (first,))
    await store.write(lambda c: access.remove_subscriber(c, chat_id, "test", run.clock.now()))
    await run.lanes.refresh()
    assert set(run.lanes.lanes) == {second}
    await run.close()


async def test_targets_get_alerts_when_the_user_account_serves_only_its_alert_chat(store):
    target = await add_webhook(store, "http://127.0.0.1:9/a")
    alert_chat = await add_subscriber(store, 42)
    await add_subscriber(store, 43)
    match = Match("mobilization", ("mobilization",), ((0, 5),))
    wanting = await store.write(lambda c: recipients(c, [match], make_post().date, TELEGRAM_KINDS + TARGET_KINDS,
                                                     chat_ids=(42,)))
    assert {r.subscriber_id for r in wanting} == {alert_chat.id, target}


async def test_subscriber_sync_follows_targets_too_for_their_daily_digest(store):
    target = await add_webhook(store, "http://127.0.0.1:9/a")
    chat = await add_subscriber(store, 42)
    current = await SubscriberSync(store, scheduler=None).current()
    assert set(current) == {chat.id, target}  # the digest scheduler schedules those it can send to


async def test_each_webhook_keeps_to_its_own_rate_limit(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url("/a"))
        await add_webhook(store, hooks.url("/b"))
        run = TargetDelivery(store, DOZOR_WEBHOOK_RATE="2")  # one request every 0.5 s per webhook
        for i in range(3):
            await run.pipeline.on_post(make_post(message_id=300 + i, text=f"{MATCHING} ({i})"))
        assert await run.deliver() == 6
        await run.close()
    assert len(hooks.received("/a")) == len(hooks.received("/b")) == 3
    assert run.clock.seconds >= 1.0  # the limiter slept (on the fake clock) at least two gaps of 0.5 s
