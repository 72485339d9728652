"""Webhook and Apprise delivery as `dozor run` wires it, over a real store and real local servers.

`TargetDelivery` holds the real Pipeline (word rules from tests.factories), the
real DeliveryLanes with a TargetLane per target (real aiohttp / Apprise
transports behind per-target rate limits) and, when given a FakeSender, the
Telegram worker beside them. The outbox's time and the lanes' pauses follow a
FakeClock; `later(s)` moves it. A new TargetDelivery over the same store is a restart.
"""
from __future__ import annotations

from bot.delivery.lanes import DeliveryLanes, TargetLane
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.senders import LimitedSender
from bot.delivery.target_sink import TargetAlertSink, target_senders
from bot.delivery.target_urls import mask_url
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.models import TELEGRAM_KINDS, SubscriberKind
from bot.pipeline import Pipeline
from bot.settings import load_settings
from bot.storage.db import Store
from bot.storage.targets import add_target
from tests.factories import SUBSCRIBER_CREATED, default_rules
from tests.fakes import FakeClock, FakeSender

MATCHING = "Началась частичная мобилизация: повестки раздают у проходной"
SECRET = "test-only-signing-key"


def target_settings(**env: str):
    return load_settings(env={"DOZOR_WEBHOOK_RATE": "1000", **env}, env_file=None, config_file=None)


async def add_webhook(store: Store, url: str, secret: str | None = SECRET) -> int:
    """A webhook subscriber of every rule; its subscriber id."""
    chat_id = await store.write(lambda c: add_target(c, SubscriberKind.WEBHOOK, url, secret,
                                                     mask_url(SubscriberKind.WEBHOOK, url), "test",
                                                     SUBSCRIBER_CREATED, "Europe/Moscow"))
    return await store.fetchval("SELECT id FROM subscribers WHERE chat_id = ?", (chat_id,))


async def add_apprise(store: Store, url: str) -> int:
    chat_id = await store.write(lambda c: add_target(c, SubscriberKind.APPRISE, url, None,
                                                     mask_url(SubscriberKind.APPRISE, url), "test",
                                                     SUBSCRIBER_CREATED, "Europe/Moscow"))
    return await store.fetchval("SELECT id FROM subscribers WHERE chat_id = ?", (chat_id,))


class TargetDelivery:
    def __init__(self, store: Store, clock: FakeClock | None = None, telegram: FakeSender | None = None,
                 max_attempts: int = 8, **env: str):
        self.store, self.clock = store, clock or FakeClock()
        self.settings = target_settings(**env)
        senders, self.close = target_senders(self.settings, monotonic=self.clock.monotonic, sleep=self.clock.sleep)
        self.sink = TargetAlertSink(store, senders, self.settings, clock=self.clock.now)
        main = None
        if telegram is not None:
            limited = LimitedSender(telegram, RateLimiter.from_settings(self.settings), max_wait=1.0)
            tg_sink = TelegramAlertSink(store, limited, self.settings, clock=self.clock.now)
            main = OutboxWorker(store, lambda _sub: tg_sink, self.clock.now, max_attempts, kinds=TELEGRAM_KINDS)
        self.lanes = DeliveryLanes(store, main, self.make_lane, on_close=self.close)
        self.max_attempts = max_attempts
        self.pipeline = Pipeline(store, default_rules(), clock=self.clock.now, notify=self.lanes.notify)

    def make_lane(self, subscriber_id: int) -> TargetLane:
        return TargetLane(self.store, lambda _sub: self.sink, self.clock.now, self.max_attempts,
                          subscriber_ids=(subscriber_id,), monotonic=self.clock.monotonic)

    async def deliver(self) -> int:
        return await self.lanes.run_until_idle()

    def later(self, seconds: float) -> None:
        self.clock.seconds += seconds
