"""Edits and deletions of alerted posts as outbox rows (migration 0010_outbox_actions).

The real Pipeline writes the follow-up rows in the transaction of the change;
the real OutboxWorker -> TelegramAlertSink -> LimitedSender delivers them with
the rate limits, retries, FloodWait handling and parking of new alerts. Real
SQLite in a temporary folder, a fake sender and fake clocks.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.senders import LimitedSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker, backoff_seconds
from bot.errors import RetryLater
from bot.models import Deletion
from bot.pipeline import Pipeline
from bot.settings import load_settings
from bot.storage.db import Store
from bot.storage.outbox import EDIT, MARK_DELETED, SEND, count_by_status, enqueue, outbox_rows
from bot.storage.subscribers import Recipient
from tests.factories import add_subscriber, default_rules, make_post
from tests.fakes import FakeClock, FakeSender

CHAT = 42
MATCHING = "Началась частичная мобилизация: повестки раздают у проходной"


class Delivery:
    """Pipeline and worker over one store, as `dozor run` wires them (a new one = a restart)."""

    def __init__(self, store: Store, sender: FakeSender, clock: FakeClock, max_attempts: int = 8):
        settings = load_settings(env={}, env_file=None, config_file=None)
        self.store, self.sender, self.clock = store, sender, clock
        limited = LimitedSender(sender, RateLimiter.from_settings(settings), max_wait=1.0,
                                monotonic=clock.monotonic, sleep=clock.sleep)
        sink = TelegramAlertSink(store, limited, settings, clock=clock.now)
        self.worker = OutboxWorker(store, lambda _sub: sink, clock.now, max_attempts=max_attempts)
        self.pipeline = Pipeline(store, default_rules(), clock=clock.now, notify=self.worker.notify)

    async def deliver(self) -> int:
        return await self.worker.run_until_idle()

    def later(self, seconds: float) -> None:
        self.clock.seconds += seconds


async def alerted(store, sender, clock) -> tuple[Delivery, int]:
    """A subscriber, a matching post alerted to it; the Delivery and the alert's message id."""
    await add_subscriber(store, CHAT)
    run = Delivery(store, sender, clock)
    await run.pipeline.on_post(make_post(message_id=7, text=MATCHING))
    assert await run.deliver() == 1
    [row] = await outbox_rows(store)
    return run, row["sent_message_id"]


async def rows_by_action(store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in await outbox_rows(store):
        out.setdefault(row["action"], []).append(row["status"])
    return out


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_a_deletion_while_every_send_fails_is_delivered_once_the_sender_recovers(store, sender, clock):
    run, message_id = await alerted(store, sender, clock)
    sender.fail(CHAT, ConnectionError("Telegram unreachable"), times=None)
    await run.pipeline.on_delete(Deletion(make_post().channel_id, (7,), clock.now()))
    assert await run.deliver() == 0
    assert await rows_by_action(store) == {SEND: ["sent"], MARK_DELETED: ["pending"]}
    run.later(backoff_seconds(1))
    assert await run.deliver() == 0  # still down: retried with backoff, not lost
    sender._forever.clear()  # Telegram is back
    run.later(backoff_seconds(2))
    assert await run.deliver() == 1
    edit = sender.sent[-1]
    assert edit.edit_message_id == message_id and "deleted by the channel" in edit.html
    assert await rows_by_action(store) == {SEND: ["sent"], MARK_DELETED: ["sent"]}


async def test_a_deletion_queued_during_an_outage_is_delivered_after_a_restart(tmp_path, sender, clock):
    path = tmp_path / "restart.db"
    store = await Store.open(path)
    run, message_id = await alerted(store, sender, clock)
    sender.fail(CHAT, ConnectionError("Telegram unreachable"), times=None)
    await run.pipeline.on_delete(Deletion(make_post().channel_id, (7,), clock.now()))
    assert await run.deliver() == 0
    await store.close()  # the process stops during the outage

    store, fresh = await Store.open(path), FakeSender()  # a new process, Telegram reachable again
    try:
        run = Delivery(store, fresh, clock)
        run.later(backoff_seconds(1))
        assert await run.deliver() == 1
        [edit] = fresh.sent
        assert edit.chat_id == CHAT and edit.edit_message_id == message_id
        assert "deleted by the channel" in edit.html and "проходной" in edit.html  # the excerpt stays
    finally:
        await store.close()


async def test_an_edit_that_no_longer_matches_edits_the_sent_alert_through_a_row(store, sender, clock):
    run, message_id = await alerted(store, sender, clock)
    await run.pipeline.on_edit(make_post(message_id=7, text="Погода в Пскове хорошая", edit_date=clock.now()))
    assert await rows_by_action(store) == {SEND: ["sent"], EDIT: ["pending"]}
    assert await run.deliver() == 1
    edit = sender.sent[-1]
    assert edit.edit_message_id == message_id and "no longer matches" in edit.html
    assert await rows_by_action(store) == {SEND: ["sent"], EDIT: ["sent"]}


async def test_an_edit_of_a_queued_alert_writes_no_follow_up(store, sender, clock):
    await add_subscriber(store, CHAT)
    run = Delivery(store, sender, clock)
    await run.pipeline.on_post(make_post(message_id=7, text=MATCHING))
    await run.pipeline.on_edit(make_post(message_id=7, text="Погода в Пскове хорошая", edit_date=clock.now()))
    assert await rows_by_action(store) == {SEND: ["cancelled"]}  # not sent yet: cancelled, as before
    assert await run.deliver() == 0 and sender.sent == []


async def test_a_flood_wait_on_a_follow_up_postpones_it_without_counting_an_attempt(store, sender, clock):
    run, _ = await alerted(store, sender, clock)
    sender.fail(CHAT, RetryLater(30, "FloodWait"))
    await run.pipeline.on_delete(Deletion(make_post().channel_id, (7,), clock.now()))
    assert await run.deliver() == 0
    [_, row] = await outbox_rows(store)
    assert row["status"] == "pending" and row["attempts"] == 0
    run.later(29)
    assert await run.deliver() == 0  # not before the wait Telegram asked for
    run.later(2)
    assert await run.deliver() == 1


async def test_a_follow_up_that_keeps_failing_is_parked_for_the_admins(store, sender, clock):
    await add_subscriber(store, CHAT)
    run = Delivery(store, sender, clock, max_attempts=2)
    await run.pipeline.on_post(make_post(message_id=7, text=MATCHING))
    await run.deliver()
    sender.fail(CHAT, RuntimeError("edit refused"), times=None)
    await run.pipeline.on_delete(Deletion(make_post().channel_id, (7,), clock.now()))
    await run.deliver()
    run.later(timedelta(hours=1).total_seconds())
    await run.deliver()
    assert await rows_by_action(store) == {SEND: ["sent"], MARK_DELETED: ["parked"]}


async def test_two_changes_before_delivery_make_one_follow_up_showing_both(store, sender, clock):
    run, message_id = await alerted(store, sender, clock)
    sender.fail(CHAT, ConnectionError("down"))
    await run.pipeline.on_edit(make_post(message_id=7, text="Погода в Пскове хорошая", edit_date=clock.now()))
    await run.deliver()
    await run.pipeline.on_delete(Deletion(make_post().channel_id, (7,), clock.now()))
    assert await count_by_status(store) == {"sent": 1, "pending": 1}  # the pending row re-renders the latest state
    run.later(backoff_seconds(1))
    assert await run.deliver() == 1
    html = sender.sent[-1].html
    assert sender.sent[-1].edit_message_id == message_id
    assert "deleted by the channel" in html and "no longer matches" in html


async def test_a_second_deletion_notice_writes_no_row(store, sender, clock):
    run, _ = await alerted(store, sender, clock)
    deletion = Deletion(make_post().channel_id, (7,), clock.now())
    await run.pipeline.on_delete(deletion)
    await run.deliver()
    await run.pipeline.on_delete(deletion)
    assert await rows_by_action(store) == {SEND: ["sent"], MARK_DELETED: ["sent"]}


async def test_send_rows_stay_one_per_subscriber_and_post(store, clock):
    sub = await add_subscriber(store, CHAT)
    run = Delivery(store, FakeSender(), clock)
    await run.pipeline.on_post(make_post(message_id=7, text=MATCHING))
    [row] = await outbox_rows(store)
    again = await store.write(lambda c: enqueue(c, row["post_id"], [Recipient(sub.id, ("mob",), False)], clock.now()))
    assert again == 0 and len(await outbox_rows(store)) == 1
