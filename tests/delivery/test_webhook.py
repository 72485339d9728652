"""Webhook subscribers: one signed JSON POST per alert to a real HTTP server on 127.0.0.1.

Real Pipeline, real store, real aiohttp client, a real server (tests/servers/http_receiver.py)
that answers as each test scripts it; the outbox's clock is fake, so a retry
"later" needs no waiting. No other network.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

from bot.delivery.worker import backoff_seconds
from bot.models import Deletion
from bot.storage.outbox import count_by_status, outbox_rows
from tests.delivery.target_helpers import MATCHING, SECRET, TargetDelivery, add_webhook
from tests.factories import make_post
from tests.servers.http_receiver import HttpReceiver, Reply


def verify(body: bytes, header: str, secret: str = SECRET) -> bool:
    """What a receiver does (docs/WEBHOOKS.md): recompute the HMAC of the raw body, compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def test_an_alert_is_one_signed_json_post_with_its_outbox_row_as_idempotency_key(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url("/dozor?token=abc"))
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(message_id=7, text=MATCHING, channel="pskovgubernia"))
        assert await run.deliver() == 1
        await run.close()
    [request] = hooks.received()
    [row] = await outbox_rows(store)
    assert request.method == "POST" and request.path == "/dozor?token=abc"
    assert verify(request.body, request.headers["x-dozor-signature"])
    assert request.headers["idempotency-key"] == str(row["id"])
    assert request.headers["x-dozor-event"] == "alert"
    event = json.loads(request.body)
    assert event["event"] == "alert" and event["id"] == row["id"]
    assert event["post"]["text"] == MATCHING and event["post"]["message_id"] == 7
    assert event["channel"]["username"] == "pskovgubernia"
    assert event["link"] == "https://t.me/pskovgubernia/7"
    assert {r["id"] for r in event["rules"]} == {"mobilization", "quiet"}
    assert "mobilization" in event["tags"]
    start, end = event["spans"][0]
    assert MATCHING[start:end].lower().startswith("мобилиз")
    assert "**мобилиз**" in event["excerpt"]
    assert event["late"] is False and event["story"] == {"group": row["id"], "first": True}
    assert row["status"] == "sent"


async def test_without_a_secret_no_signature_header_is_sent(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url(), secret=None)
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        await run.deliver()
        await run.close()
    [request] = hooks.received()
    assert "x-dozor-signature" not in request.headers


async def test_a_500_then_a_200_delivers_once_with_the_same_bytes(store):
    async with HttpReceiver() as hooks:
        hooks.script("/hook", Reply(500), Reply(200))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        assert await run.deliver() == 0
        [row] = await outbox_rows(store)
        assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
        assert await run.deliver() == 0  # the target is paused and the row waits for its backoff
        run.later(backoff_seconds(1))
        assert await run.deliver() == 1
        assert await run.deliver() == 0
        await run.close()
    first, second = hooks.received()
    assert first.body == second.body and first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert await count_by_status(store) == {"sent": 1}


async def test_a_timeout_counts_as_a_failure_and_is_retried(store):
    async with HttpReceiver() as hooks:
        hooks.script("/hook", Reply(200, delay=1.0), Reply(200))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store, DOZOR_TARGET_TIMEOUT="0.2")
        await run.pipeline.on_post(make_post(text=MATCHING))
        assert await run.deliver() == 0
        [row] = await outbox_rows(store)
        assert "timed out" in row["last_error"] and row["attempts"] == 1
        run.later(backoff_seconds(1))
        assert await run.deliver() == 1
        await run.close()
    assert await count_by_status(store) == {"sent": 1}


async def test_a_redirect_is_refused_and_never_followed(store):
    async with HttpReceiver() as hooks:
        hooks.always("/hook", Reply(302, headers={"Location": hooks.url("/elsewhere")}))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store, max_attempts=2)
        await run.pipeline.on_post(make_post(text=MATCHING))
        await run.deliver()
        run.later(backoff_seconds(1))
        await run.deliver()
        await run.close()
    [row] = await outbox_rows(store)
    assert row["status"] == "parked" and "redirect" in row["last_error"]
    assert hooks.received("/elsewhere") == [] and len(hooks.received("/hook")) == 2


async def test_a_429_waits_as_asked_without_spending_an_attempt(store):
    async with HttpReceiver() as hooks:
        hooks.script("/hook", Reply(429, headers={"Retry-After": "120"}))
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING))
        await run.deliver()
        [row] = await outbox_rows(store)
        assert row["attempts"] == 0 and row["status"] == "pending"
        run.later(60)
        assert await run.deliver() == 0
        run.later(61)
        assert await run.deliver() == 1
        await run.close()


async def test_edits_and_deletions_are_their_own_events(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        post = make_post(message_id=7, text=MATCHING)
        await run.pipeline.on_post(post)
        await run.deliver()
        edited = MATCHING + " Уточнение: у двух проходных."
        await run.pipeline.on_edit(make_post(message_id=7, text=edited))
        await run.deliver()
        await run.pipeline.on_delete(Deletion(post.channel_id, (7,), run.clock.now()))
        await run.deliver()
        await run.close()
    alert, edit, delete = (json.loads(r.body) for r in hooks.received())
    keys = [r.headers["idempotency-key"] for r in hooks.received()]
    assert [alert["event"], edit["event"], delete["event"]] == ["alert", "edit", "delete"]
    assert len(set(keys)) == 3
    assert edit["post"]["text"] == edited and edit["alert_id"] == alert["id"] and edit["matches_now"]
    assert delete["deleted_at"] is not None and delete["alert_id"] == alert["id"]
    assert [r.headers["x-dozor-event"] for r in hooks.received()] == ["alert", "edit", "delete"]


async def test_a_repost_is_its_own_event_in_the_first_posts_story_group(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        first = make_post(channel_id=-1001, message_id=1, text=MATCHING, channel="first")
        await run.pipeline.on_post(first)
        await run.deliver()
        await run.pipeline.on_post(make_post(channel_id=-1002, message_id=5, text=MATCHING, channel="second",
                                             fwd_from_channel_id=-1001, fwd_from_message_id=1))
        await run.deliver()
        await run.close()
    one, two = (json.loads(r.body) for r in hooks.received())
    assert two["story"] == {"group": one["id"], "first": False} and two["id"] != one["id"]


async def test_a_late_post_says_so(store):
    async with HttpReceiver() as hooks:
        await add_webhook(store, hooks.url())
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(text=MATCHING, late=True))
        await run.deliver()
        await run.close()
    assert json.loads(hooks.received()[0].body)["late"] is True


async def test_pending_alerts_survive_a_restart(store):
    async with HttpReceiver() as hooks:
        hooks.always("/hook", Reply(503))
        await add_webhook(store, hooks.url())
        first = TargetDelivery(store)
        await first.pipeline.on_post(make_post(text=MATCHING))
        await first.deliver()
        await first.close()
        hooks.always("/hook", Reply(200))
        restarted = TargetDelivery(store, clock=first.clock)
        restarted.later(backoff_seconds(1))
        assert await restarted.deliver() == 1
        await restarted.close()
    assert await count_by_status(store) == {"sent": 1}


async def test_the_url_and_secret_never_reach_the_log(store, caplog):
    async with HttpReceiver() as hooks:
        hooks.always("/hook", Reply(500))
        url = hooks.url("/hook")
        await add_webhook(store, url)
        run = TargetDelivery(store)
        with caplog.at_level(logging.DEBUG):
            await run.pipeline.on_post(make_post(text=MATCHING))
            await run.deliver()
        await run.close()
    assert caplog.records and "HTTP 500" in caplog.text
    assert url not in caplog.text and SECRET not in caplog.text
    assert url not in (await outbox_rows(store))[0]["last_error"]
