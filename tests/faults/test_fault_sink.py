"""The sink failing: FloodWait on one chat, Forbidden on another, a timeout on every fourth send.

Real OutboxWorker -> real TelegramAlertSink -> real LimitedSender (rate limits,
FloodWait pauses the chat) -> a FakeSender told to fail, over the real SQLite
store with posts stored by the real pipeline and a fake clock. Nothing is lost: every row for the
healthy and the flooded chats is sent exactly once, the forbidden chat's rows
are parked (visible to operators) and its subscriber deactivated, and the
healthy chats are served while the flooded one waits.
"""
from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import datetime, timezone

import pytest

from bot.delivery.senders import LimitedSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.errors import Forbidden, RetryLater
from bot.models import Post, RuleDef
from bot.delivery.worker import OutboxWorker
from bot.pipeline import Pipeline
from bot.delivery.ratelimit import RateLimiter
from bot.rules import compile_rules
from bot.settings import load_settings
from bot.storage.outbox import count_by_status, next_due_at, outbox_rows
from bot.storage.subscribers import subscriber_by_chat
from tests import factories
from tests.fakes import FakeClock, FakeSender

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
FLOOD, FORBIDDEN, HEALTHY = 101, 102, (103, 104, 105)
POSTS = 40
FLOOD_SECONDS = 120


def Clock() -> FakeClock:
    return FakeClock(T0)


class FlakySender(FakeSender):
    """Every fourth send attempt (all chats counted) times out before reaching Telegram.

    Four, not three: once the forbidden chat's rows are parked together, three
    healthy chats share the sends, and a period of three would time out the
    same chat every time instead of spreading the timeouts over them."""

    def __init__(self) -> None:
        super().__init__()
        self._attempts = itertools.count(1)
        self.timeouts = 0

    async def send(self, message):
        if next(self._attempts) % 4 == 0:
            self.timeouts += 1
            raise TimeoutError("send timed out")
        return await super().send(message)


def story_text(i: int, rng: random.Random) -> str:
    """A distinct text per post, so no two are grouped as one story."""
    words = ["повестка", "военкомат", "район", "завод", "школа", "мост", "рынок", "суд", "налог", "урожай",
             "дорога", "вокзал", "порт", "склад", "совет", "отчёт", "выборы", "пожар", "ремонт", "лес"]
    return f"Сводка {i}: мобилизация. " + " ".join(f"{rng.choice(words)}{rng.randrange(10**6)}" for _ in range(30))


async def add_subscriber(store, chat_id: int) -> int:
    return (await factories.add_subscriber(store, chat_id, tz="UTC", created=T0)).id


async def queue_posts(store, clock: Clock) -> None:
    """POSTS posts through the real pipeline; each matches, so each gets an outbox row per subscriber."""
    rng = random.Random(5)
    rules = compile_rules([RuleDef(id="mob", query="мобилизация")])
    posts = [Post(channel_id=-1009000000 - i, message_id=i + 1, text=story_text(i, rng), date=T0,
                  channel=f"chan{i}", channel_title=f"Канал {i}") for i in range(POSTS)]
    await Pipeline(store, rules, clock.now).on_posts(posts)


@pytest.fixture
async def failing(store):
    for chat in (FLOOD, FORBIDDEN, *HEALTHY):
        await add_subscriber(store, chat)
    clock, sender = Clock(), FlakySender()
    await queue_posts(store, clock)
    sender.fail(FLOOD, RetryLater(FLOOD_SECONDS, "FLOOD_WAIT"))
    sender.fail(FORBIDDEN, Forbidden(FORBIDDEN, "bot was blocked by the user"), times=None)
    settings = load_settings(env={}, env_file=None, config_file=None)
    limited = LimitedSender(sender, RateLimiter.from_settings(settings), max_wait=1.0,
                            monotonic=clock.monotonic, sleep=clock.sleep)
    sink = TelegramAlertSink(store, limited, settings, clock=clock.now)
    worker = OutboxWorker(store, lambda sub: sink, clock.now, max_attempts=settings.max_attempts)
    return store, clock, sender, worker


async def drain(store, clock: Clock, worker: OutboxWorker, passes: int = 2000) -> None:
    """Run the worker, jumping the fake clock to the next due row, until nothing is pending."""
    for _ in range(passes):
        await worker.run_until_idle()
        due = await next_due_at(store)
        if due is None:
            return
        clock.seconds = max(clock.seconds + 0.001, (due - T0).total_seconds())


async def test_healthy_chats_are_served_while_one_chat_waits_out_a_flood(failing):
    store, clock, sender, worker = failing
    await worker.run_until_idle()
    assert sender.to(FLOOD) == []
    assert all(len(sender.to(chat)) > POSTS // 2 for chat in HEALTHY)


async def test_nothing_is_lost_when_the_sink_floods_forbids_and_times_out(failing):
    store, clock, sender, worker = failing
    await drain(store, clock, worker)
    print(f"\nsend attempts {len(sender.calls)}, timeouts {sender.timeouts}, sent {len(sender.sent)}")
    assert sender.timeouts > POSTS
    for chat in (FLOOD, *HEALTHY):
        assert len(sender.to(chat)) == POSTS
    statuses = await count_by_status(store)
    assert statuses == {"sent": POSTS * (1 + len(HEALTHY)), "parked": POSTS}


async def test_each_alert_reaches_its_chat_exactly_once_despite_timeouts(failing):
    store, clock, sender, worker = failing
    await drain(store, clock, worker)
    per_chat_post = Counter((m.chat_id, m.html.split("Сводка ")[1].split(":")[0]) for m in sender.sent)
    assert set(per_chat_post.values()) == {1}


async def test_flooded_chat_gets_nothing_before_its_wait_is_over(failing):
    store, clock, sender, worker = failing
    times = []
    original = sender.send

    async def timed(message):
        result = await original(message)
        times.append((clock.seconds, message.chat_id))
        return result

    sender.send = timed
    await drain(store, clock, worker)
    assert min(t for t, chat in times if chat == FLOOD) >= FLOOD_SECONDS


async def test_forbidden_chat_is_deactivated_and_its_rows_parked_with_the_reason(failing):
    store, clock, sender, worker = failing
    await drain(store, clock, worker)
    forbidden = await subscriber_by_chat(store, FORBIDDEN, active_only=False)
    errors = [row["last_error"] for row in await outbox_rows(store, forbidden.id)]
    assert not forbidden.active
    assert errors and all("blocked" in error for error in errors)
