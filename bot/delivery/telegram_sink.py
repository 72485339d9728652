"""The Telegram alert sink: one readable alert per story, edited as the story moves.

`TelegramAlertSink.deliver(alert)` is what the outbox worker calls for a
subscriber of kind user, group or channel. It formats the alert (bot/delivery/alert_html.py)
and sends it, unless the post is a forward of, or nearly the same text as, a
post already alerted to the same subscriber within the dedup window: then it
edits that first alert to add "also in: …" and returns the first alert's
message id. Every alert sent is recorded in the alert log with a snapshot of
what it showed. When its post is edited or deleted the pipeline updates that
state and queues a follow-up row; `follow_up(job)` re-renders the message.

Errors from the sender (RetryLater, Forbidden, others) pass out of `deliver`
and `follow_up` unchanged for the worker to handle (retries, FloodWait,
parking as for any row); ChatMigrated on a new alert moves the subscriber to
the supergroup's id and sends there. A subscriber bound to a forum topic gets
its alerts in that topic (Outgoing.topic_id); its style (full or compact, kept
in the snapshot) renders the message and every later edit of it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Sequence

from bot import stories as dedup
from bot.clock import Clock, utc_now
from bot.delivery.alert_compact import format_compact_alert
from bot.delivery.alert_html import StoryPost, format_alert, is_silent
from bot.delivery.buttons import alert_buttons
from bot.delivery.senders import Sender
from bot.errors import ChatMigrated
from bot.models import Alert, AlertStyle, FollowUp, Outgoing, Post, Subscriber, SubscriberKind
from bot.storage import alert_log
from bot.storage.alert_log import match_from_json, match_to_json, post_from_json, post_to_json
from bot.storage.db import Store, from_iso, to_iso
from bot.storage.outbox import outbox_post_id
from bot.storage.posts import post_row
from bot.storage.rules import rule_titles
from bot.storage.subscribers import move_subscriber

log = logging.getLogger(__name__)


class TelegramAlertSink:
    """Sends alerts through `sender`, groups reposts, follows edits and deletions."""

    def __init__(self, store: Store, sender: Sender, settings, clock: Clock = utc_now):
        self.store = store
        self.sender = sender
        self.clock = clock
        self.threshold = float(settings.dedup_threshold)
        self.window = timedelta(hours=settings.dedup_window_hours)

    async def deliver(self, alert: Alert) -> int | None:
        """Send the alert, or fold it into an earlier one; return the Telegram message id."""
        now = self.clock()
        sub, post = alert.subscriber, alert.post
        shown = await alert_log.alert_for_post(self.store, sub.id, post.channel_id, post.message_id)
        if shown is not None:  # a retry after a crash or a failed edit: never send twice
            if await self._first_post_key(shown["id"]) != (post.channel_id, post.message_id):
                await self._edit(shown["id"], now)
            return shown["message_id"]
        signature = dedup.shingles(post.text)
        story = await self._find_story(sub.id, post, signature)
        if story is not None:
            alert_id, message_id = story
            await self.store.write(
                lambda conn: alert_log.add_alert_post(conn, alert_id, sub.id, post, dedup.pack(signature), now)
            )
            log.info("post %s/%s grouped into alert %s for chat %s",
                     post.channel_id, post.message_id, alert_id, sub.chat_id)
            await self._edit(alert_id, now)
            return message_id
        return await self._send_new(alert, signature, now)

    async def follow_up(self, job: FollowUp) -> int:
        """Re-render an alert message from the alert log after its post was edited or deleted (the
        pipeline saved the new state with the change); return its message id. Errors pass out as for
        `deliver`."""
        return await self._edit(job.alert_id, self.clock())

    async def _send_new(self, alert: Alert, signature: frozenset[int], now: datetime) -> int:
        sub, post = alert.subscriber, alert.post
        post_id = await self._post_id(alert)
        snapshot = {
            "post": post_to_json(post),
            "matches": [match_to_json(m) for m in alert.matches],
            "titles": await rule_titles(self.store, [m.rule_id for m in alert.matches]),
            "edited": alert.edited,
            "post_id": post_id,
            "kind": sub.kind,
            "tz": sub.tz,
            "found_at": to_iso(now),
            "style": sub.style,
        }
        silent = alert.silent or is_silent(alert.matches)
        outgoing = replace(render_snapshot(snapshot, {}, [], sub.chat_id, now), silent=silent, topic_id=sub.topic_id)
        chat_id = sub.chat_id
        try:
            message_id = await self.sender.send(outgoing)
        except ChatMigrated as moved:  # the group became a supergroup: follow it and send there
            old_chat_id, chat_id = moved.chat_id, moved.new_chat_id
            log.warning("chat %s migrated to %s; subscriber %s follows it", old_chat_id, chat_id, sub.id)
            await self.store.write(lambda conn: move_subscriber(conn, sub.id, old_chat_id, chat_id))
            message_id = await self.sender.send(replace(outgoing, chat_id=chat_id, topic_id=None))

        async def record(conn) -> None:
            alert_id = await alert_log.insert_alert_message(
                conn, subscriber_id=sub.id, chat_id=chat_id, message_id=message_id,
                post_id=post_id, snapshot=snapshot, now=now,
            )
            await alert_log.add_alert_post(conn, alert_id, sub.id, post, dedup.pack(signature), now)

        await self.store.write(record)
        return message_id

    async def _find_story(self, subscriber_id: int, post: Post, signature: frozenset[int]):
        """(alert id, message id) of the earliest alert showing the same story, or None."""
        rows = await alert_log.recent_story_posts(
            self.store, subscriber_id, post.date - self.window, post.date + self.window
        )
        for row in rows:
            fwd = (row["fwd_from_channel_id"], row["fwd_from_message_id"])
            if dedup.same_story(post, signature, (row["channel_id"], row["message_id"]), fwd,
                                dedup.unpack(row["shingles"]), self.threshold):
                return row["alert_id"], row["alert_message_id"]
        return None

    async def _edit(self, alert_id: int, now: datetime) -> int:
        """Re-render an alert message from the log and edit it in place."""
        row = await alert_log.get_alert_message(self.store, alert_id)
        members = await alert_log.story_members(self.store, alert_id)
        outgoing = render_snapshot(
            json.loads(row["snapshot"]), json.loads(row["state"]), members[1:], row["chat_id"], now
        )
        return await self.sender.send(replace(outgoing, edit_message_id=row["message_id"]))

    async def _first_post_key(self, alert_id: int) -> tuple[int, int]:
        first = (await alert_log.story_members(self.store, alert_id))[0]
        return first["channel_id"], first["message_id"]

    async def _post_id(self, alert: Alert) -> int | None:
        post_id = await outbox_post_id(self.store, alert.outbox_id)
        if post_id is None:
            row = await post_row(self.store, alert.post.channel_id, alert.post.message_id)
            post_id = None if row is None else row["id"]
        return post_id


def render_snapshot(snapshot: dict, state: dict, others: Sequence, chat_id: int, now: datetime) -> Outgoing:
    """The Outgoing for an alert message from its logged snapshot, state and grouped posts."""
    matches = tuple(match_from_json(m) for m in snapshot["matches"])
    alert = Alert(
        outbox_id=0,
        subscriber=Subscriber(id=0, chat_id=chat_id, kind=SubscriberKind(snapshot.get("kind", SubscriberKind.USER)), tz=snapshot["tz"]),
        post=post_from_json(snapshot["post"]),
        matches=matches,
        edited=bool(snapshot.get("edited")) or bool(state.get("edited_at")),
    )
    gone = set(state.get("deleted_posts", ()))
    also_in = [StoryPost(o["channel"], o["channel_title"], o["link"], f"{o['channel_id']}:{o['message_id']}" in gone,
                         o["channel_id"]) for o in others]
    found_at = from_iso(snapshot.get("found_at")) or now
    style = format_compact_alert if snapshot.get("style") == AlertStyle.COMPACT else format_alert
    html = style(
        alert, found_at, snapshot["tz"], rule_titles=snapshot.get("titles") or {}, also_in=also_in,
        deleted_at=from_iso(state.get("deleted_at")), no_longer_matches=bool(state.get("no_longer_matches")),
    )
    post_id = snapshot.get("post_id")
    buttons = () if post_id is None or alert.subscriber.kind == SubscriberKind.CHANNEL else alert_buttons(
        post_id, [m.rule_id for m in matches]
    )
    return Outgoing(chat_id=chat_id, html=html, silent=is_silent(matches), buttons=buttons)
