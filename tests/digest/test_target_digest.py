"""Daily digests for webhook and Apprise subscribers: a signed "digest" event, an e-mail with the chart.

Real store, real send_digest and DigestScheduler, the real aiohttp and Apprise
transports behind their rate limits (bot/delivery/target_sink.target_senders),
a local HTTP server and a local SMTP server (aiosmtpd) on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone

import pytest

from bot.delivery.webhook import sign
from bot.digest.jobs import send_digest
from bot.digest.scheduler import TARGET_RETRY, DigestScheduler
from bot.errors import DeliveryFailed
from bot.models import SubscriberKind
from bot.storage.digests import digest_was_sent
from bot.storage.subscribers import subscriber_by_id
from bot.storage.targets import target_health
from tests.delivery.target_helpers import SECRET, add_apprise, add_webhook, target_settings
from tests.servers.http_receiver import HttpReceiver, Reply
from tests.servers.smtp_receiver import SmtpReceiver

DAY = date(2024, 5, 10)
NOW = datetime(2024, 5, 10, 6, 0, 5, tzinfo=timezone.utc)  # 09:00 in Moscow, the default digest time


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
async def senders():
    from bot.delivery.target_sink import target_senders

    made, close = target_senders(target_settings())
    yield made
    await close()


async def day_of_news(rows) -> None:
    await rows.channel(-1001, "pskovgubernia", "Псковская губерния")
    await rows.rule("mob", "Мобилизация", ("mobilization",))
    await rows.matched_post(utc(2024, 5, 9, 12), text="Повестки раздают у проходной завода", views=12300,
                            forwards=40)
    await rows.matched_post(utc(2024, 5, 9, 14), text="Другая новость о повестках в Пскове", views=800)


async def test_a_webhook_gets_one_signed_digest_event_with_counts_and_top_stories(store, rows, senders):
    await day_of_news(rows)
    async with HttpReceiver() as hooks:
        sub = await subscriber_by_id(store, await add_webhook(store, hooks.url()))
        assert await send_digest(store, senders[SubscriberKind.WEBHOOK], sub, DAY, NOW) is True
        [request] = hooks.received()
    assert request.headers["x-dozor-event"] == "digest"
    assert request.headers["idempotency-key"] == f"digest-{sub.id}-2024-05-10"
    assert request.headers["x-dozor-signature"] == sign(request.body, SECRET)
    event = json.loads(request.body)
    assert event["event"] == "digest" and event["day"] == "2024-05-10"
    assert event["period"] == {"start": "2024-05-09T09:00:00+03:00", "end": "2024-05-10T09:00:00+03:00",
                               "tz": "Europe/Moscow"}
    assert event["posts_matched"] == 2
    assert [(r["id"], r["title"], r["count"]) for r in event["rules"]] == [("mob", "Мобилизация", 2)]
    top = event["stories"][0]
    assert top["channel"]["username"] == "pskovgubernia" and top["link"].startswith("https://t.me/pskovgubernia/")
    assert "Повестки раздают" in top["excerpt"] and top["views"] == 12300 and top["reach"] == 12300
    assert len(event["chart"]["windows"]) == 14 and event["chart"]["series"]["mobilization"][-1] == 2


async def test_a_target_digest_is_sent_once_per_day(store, rows, senders):
    await day_of_news(rows)
    async with HttpReceiver() as hooks:
        sub = await subscriber_by_id(store, await add_webhook(store, hooks.url()))
        assert await send_digest(store, senders[SubscriberKind.WEBHOOK], sub, DAY, NOW) is True
        assert await send_digest(store, senders[SubscriberKind.WEBHOOK], sub, DAY, NOW) is False
        assert len(hooks.received()) == 1


async def test_a_failed_webhook_digest_is_released_recorded_and_retried_by_the_scheduler(store, rows, senders):
    await day_of_news(rows)
    settings = target_settings(DOZOR_DIGEST_GRACE_HOURS="6")
    async with HttpReceiver() as hooks:
        hooks.script("/hook", Reply(500))
        sub = await subscriber_by_id(store, await add_webhook(store, hooks.url()))
        with pytest.raises(DeliveryFailed):
            await send_digest(store, senders[SubscriberKind.WEBHOOK], sub, DAY, NOW)
        assert not await digest_was_sent(store, sub.id, DAY)
        health = (await target_health(store))[sub.id]
        assert health.failures == 1 and "HTTP 500" in health.last_error
        now = NOW
        scheduler = DigestScheduler(store, None, settings, clock=lambda: now, target_senders=senders)
        try:
            hooks.script("/hook", Reply(500))
            assert await scheduler.run_due(sub.id) is False
            assert scheduler.retry_at(sub.id) == NOW + TARGET_RETRY
            now = NOW + TARGET_RETRY
            assert await scheduler.run_due(sub.id) is True
        finally:
            scheduler.shutdown()
            await asyncio.sleep(0)
        assert len(hooks.received()) == 3
    assert (await target_health(store))[sub.id].healthy


async def test_an_apprise_target_gets_the_digest_text_and_the_chart_attached(store, rows, senders):
    await day_of_news(rows)
    with SmtpReceiver() as smtp:
        url = f"mailto://127.0.0.1:{smtp.port}?to=desk@example.org&from=dozor@example.org"
        sub = await subscriber_by_id(store, await add_apprise(store, url))
        assert await send_digest(store, senders[SubscriberKind.APPRISE], sub, DAY, NOW) is True
    [mail] = smtp.messages
    assert mail["Subject"] == "Dozor digest 09.05–10.05"
    assert "Повестки раздают" in smtp.text() and "Мобилизация" in smtp.text()
    [chart] = list(mail.iter_attachments())
    assert chart.get_content_type() == "image/png" and chart.get_content().startswith(b"\x89PNG")


async def test_the_scheduler_schedules_targets_only_when_it_can_send_to_them(store, senders):
    webhook = await subscriber_by_id(store, await add_webhook(store, "http://127.0.0.1:9/hook"))
    settings = target_settings()
    without = DigestScheduler(store, None, settings, clock=lambda: NOW)
    with_targets = DigestScheduler(store, None, settings, clock=lambda: NOW, target_senders=senders)
    try:
        assert not without.wants_digest(webhook) and with_targets.wants_digest(webhook)
        with_targets.reschedule(webhook)
        assert with_targets.next_run(webhook.id) == utc(2024, 5, 11, 6)
    finally:
        for scheduler in (without, with_targets):
            scheduler.shutdown()
        await asyncio.sleep(0)
