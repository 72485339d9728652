"""The pieces wired as the worker will use them: OutboxWorker -> TelegramAlertSink -> LimitedSender.

A burst of 150 alerts across 28 chats (3 of them groups, each getting more
than 20) drains through the real worker and the real store with a fake clock:
every row is sent once, keeps its message id, and no chat or group ever gets
more than Telegram allows. (The 500-message burst runs against the limiter
alone in test_ratelimit.py; through SQLite it would take too long for a unit test.)
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import pytest

from bot.delivery.senders import LimitedSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.delivery.ratelimit import RateLimiter
from bot.settings import load_settings
from bot.storage.outbox import count_by_status, next_due_at, outbox_rows
from tests.factories import add_subscriber, make_post, queue_alert
from tests.fakes import FakeClock as Clock, FakeSender

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class TimedSender(FakeSender):
    """FakeSender that notes the fake time of every send."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock, self.times = clock, []

    async def send(self, message):
        self.times.append((self.clock.seconds, message.chat_id))
        return await super().send(message)


@pytest.fixture
async def burst(store):
    chats = [1000 + i for i in range(25)] + [-555000 - i for i in range(3)]
    subs = [await add_subscriber(store, chat, kind="group" if chat < 0 else "user") for chat in chats]
    for i in range(150):
        text = f"Сводка номер {i}: мобилизация в районе {i % 7}, подробности у источника {i * 7919 % 1000}"
        post = make_post(channel_id=-1009000 - i, message_id=i + 1, text=text, channel=f"chan{i:04d}")
        await queue_alert(store, subs[25 + i % 3] if i % 2 else subs[i % 25], post)
    return subs


async def drain(store, clock: Clock, sender: TimedSender) -> OutboxWorker:
    settings = load_settings(env={}, env_file=None, config_file=None)
    limited = LimitedSender(sender, RateLimiter.from_settings(settings), max_wait=1.0,
                            monotonic=clock.monotonic, sleep=clock.sleep)
    sink = TelegramAlertSink(store, limited, settings, clock=clock.now)
    worker = OutboxWorker(store, lambda sub: sink, clock.now, max_attempts=settings.max_attempts)
    for _ in range(5000):
        await worker.run_until_idle()
        due = await next_due_at(store)
        if due is None:
            break
        clock.seconds = max(clock.seconds + 0.001, (due - T0).total_seconds())
    return worker


def most_in_window(times: list[float], window: float) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window + 1e-9:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def test_burst_is_sent_once_each_within_the_limits(store, burst):
    clock = Clock()
    sender = TimedSender(clock)
    await drain(store, clock, sender)
    assert await count_by_status(store) == {"sent": 150}
    assert sum(r["sent_message_id"] is None for r in await outbox_rows(store)) == 0
    assert len(sender.sent) == 150
    per_chat = defaultdict(list)
    for t, chat in sender.times:
        per_chat[chat].append(t)
    assert all(most_in_window(ts, 1.0) <= 1 for ts in per_chat.values())
    assert all(most_in_window(ts, 60.0) <= 20 for chat, ts in per_chat.items() if chat < 0)
    assert most_in_window([t for t, _ in sender.times], 1.0) <= 30
