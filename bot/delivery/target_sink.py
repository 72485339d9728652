"""The sink of webhook and Apprise subscribers: one event per alert, its story group, follow-ups as events.

`TargetAlertSink.deliver(alert)` builds the alert's event (bot/delivery/webhook.py),
places the post in a story with the same rule as Telegram alerts (bot/stories.py,
DOZOR_DEDUP_THRESHOLD/WINDOW) and sends it through the sender of the subscriber's
kind: a LimitedSender (per-target rate limit) over the webhook or Apprise transport.
Unlike a Telegram alert, a repost is not folded into the first alert: every
post is its own event, carrying `story.group`, the outbox id of the story's first alert.

After a send the alert is recorded in the alert log (an alert_messages row per
post, whose message_id holds the story group), so the pipeline's edits and
deletions of the post queue follow-up rows for it as for Telegram alerts;
`follow_up(job)` sends them as "edit" / "delete" events. A row retried after
a crash between send and record is sent again with the same Idempotency-Key.
A subscriber whose target row is gone raises Forbidden (deactivated, parked).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from bot import stories as dedup
from bot.clock import Clock, utc_now
from bot.delivery.apprise_sink import AppriseTransport, apprise_text, worth_sending
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.senders import LimitedSender, Sender
from bot.delivery.webhook import ALERT, DELETE, EDIT, TargetMessage, WebhookTransport, alert_event
from bot.errors import Forbidden
from bot.models import Alert, DeliveryTarget, FollowUp, OutboxAction, Post, SubscriberKind
from bot.storage import alert_log
from bot.storage.alert_log import match_from_json, match_to_json, post_from_json, post_to_json
from bot.storage.db import Store, from_iso, to_iso
from bot.storage.outbox import outbox_post_id
from bot.storage.rules import rule_titles
from bot.storage.targets import target_of

log = logging.getLogger(__name__)
UNLIMITED = 10 ** 9  # targets have no group or global limit, only their own rate
TARGET_TTL = 5.0  # seconds a target's URL and secret are used before they are read again


class TargetAlertSink:
    """Delivers to webhook and Apprise subscribers through `senders` (kind -> Sender)."""

    def __init__(self, store: Store, senders: dict[SubscriberKind, Sender], settings, clock: Clock = utc_now):
        self.store = store
        self.senders = senders
        self.clock = clock
        self.threshold = float(settings.dedup_threshold)
        self.window = timedelta(hours=settings.dedup_window_hours)
        self._targets: dict[int, tuple[float, DeliveryTarget | None]] = {}  # subscriber id -> (read at, target)

    async def deliver(self, alert: Alert) -> int | None:
        """Send the alert's event; return its story group."""
        sub, post, now = alert.subscriber, alert.post, self.clock()
        shown = await alert_log.alert_for_post(self.store, sub.id, post.channel_id, post.message_id)
        if shown is not None:  # sent and recorded before a crash: never twice
            return shown["message_id"]
        target = await self._target(sub.id, sub.chat_id)
        signature = dedup.shingles(post.text)
        story = await self._find_story(sub.id, post, signature)
        group = story if story is not None else alert.outbox_id
        snapshot = {
            "post": post_to_json(post), "matches": [match_to_json(m) for m in alert.matches],
            "titles": await rule_titles(self.store, [m.rule_id for m in alert.matches]),
            "edited": alert.edited, "kind": sub.kind, "tz": sub.tz, "found_at": to_iso(alert.created_at or now),
            "story": group, "outbox_id": alert.outbox_id,
        }
        await self._send(target, sub.chat_id, alert.outbox_id, _event(ALERT, alert.outbox_id, snapshot, {}))
        post_id = await outbox_post_id(self.store, alert.outbox_id)

        async def record(conn) -> None:
            alert_id = await alert_log.insert_alert_message(
                conn, subscriber_id=sub.id, chat_id=sub.chat_id, message_id=group, post_id=post_id,
                snapshot=snapshot, now=now)
            await alert_log.add_alert_post(conn, alert_id, sub.id, post, dedup.pack(signature), now)

        await self.store.write(record)
        return group

    async def follow_up(self, job: FollowUp) -> int | None:
        """Send the "edit" or "delete" event of an alert whose post changed (state from the alert log)."""
        row = await alert_log.get_alert_message(self.store, job.alert_id)
        target = await self._target(job.subscriber.id, job.subscriber.chat_id)
        kind = DELETE if job.action == OutboxAction.MARK_DELETED else EDIT
        event = _event(kind, job.outbox_id, json.loads(row["snapshot"]), json.loads(row["state"]))
        await self._send(target, job.subscriber.chat_id, job.outbox_id, event)
        return row["message_id"]

    async def _send(self, target, chat_id: int, key: int, event: dict) -> None:
        if target.kind == SubscriberKind.APPRISE and not worth_sending(event):
            return
        title, body = apprise_text(event) if target.kind == SubscriberKind.APPRISE else ("", "")
        await self.senders[target.kind].send(TargetMessage(chat_id, target, key, event, title, body))

    async def _target(self, subscriber_id: int, chat_id: int) -> DeliveryTarget:
        """The subscriber's URL and secret, read again every TARGET_TTL seconds (`dozor subscribers add`
        may change the secret while `dozor run` runs)."""
        read_at, target = self._targets.get(subscriber_id, (float("-inf"), None))
        if time.monotonic() - read_at > TARGET_TTL:
            target = await target_of(self.store, subscriber_id)
            self._targets[subscriber_id] = (time.monotonic(), target)
        if target is None or target.kind not in self.senders:
            raise Forbidden(chat_id, "no webhook or Apprise URL stored for this subscriber")
        return target

    async def _find_story(self, subscriber_id: int, post: Post, signature: frozenset[int]) -> int | None:
        """The story group of the earliest alert of the same story, or None."""
        rows = await alert_log.recent_story_posts(
            self.store, subscriber_id, post.date - self.window, post.date + self.window)
        for row in rows:
            fwd = (row["fwd_from_channel_id"], row["fwd_from_message_id"])
            if dedup.same_story(post, signature, (row["channel_id"], row["message_id"]), fwd,
                                dedup.unpack(row["shingles"]), self.threshold):
                return row["alert_message_id"]
        return None


def _event(kind: str, key: int, snapshot: dict, state: dict) -> dict:
    """The event of an alert from its snapshot (and, for a follow-up, the alert's state)."""
    post = post_from_json(snapshot["post"])
    matches = tuple(match_from_json(m) for m in snapshot["matches"])
    found_at: datetime = from_iso(snapshot["found_at"])
    event = alert_event(kind, key, post, matches, snapshot.get("titles") or {}, story=snapshot["story"],
                        story_first=snapshot["story"] == snapshot["outbox_id"], edited=bool(snapshot["edited"]),
                        found_at=found_at, state=state)
    if kind != ALERT:
        event["alert_id"] = snapshot["outbox_id"]  # the alert event this one follows
    return event


def target_senders(settings, *, monotonic: Callable[[], float] = time.monotonic,
                   sleep=asyncio.sleep) -> tuple[dict[SubscriberKind, Sender], Callable[[], Awaitable[None]]]:
    """The senders of webhook and Apprise targets, each behind its own per-target rate limit
    (DOZOR_WEBHOOK_RATE, DOZOR_APPRISE_RATE), and the coroutine function that closes them.
    `monotonic` and `sleep` are the rate limits' clock (tests pass a fake one)."""
    webhooks = WebhookTransport(settings.target_timeout)
    senders: dict[SubscriberKind, Sender] = {}
    for kind, transport, rate in ((SubscriberKind.WEBHOOK, webhooks, settings.webhook_rate),
                                  (SubscriberKind.APPRISE, AppriseTransport(settings.target_timeout),
                                   settings.apprise_rate)):
        limiter = RateLimiter(per_chat=rate, per_group_minute=UNLIMITED, global_per_second=UNLIMITED)
        senders[kind] = LimitedSender(transport, limiter, max_wait=max(0.5, 2.0 / rate), monotonic=monotonic,
                                      sleep=sleep)
    return senders, webhooks.aclose
