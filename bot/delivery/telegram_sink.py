"""The Telegram alert sink: one readable alert per story, edited as the story moves.

`TelegramAlertSink.deliver(alert)` is what the outbox worker calls for a
subscriber of kind user, group or channel. It formats the alert (bot/delivery/alert_html.py)
and sends it, unless the post is a forward of, or nearly the same text as, a
post already alerted to the same subscriber within the dedup window: then it
edits that first alert to add "also in: …" and returns the first alert's
message id. Every alert sent is recorded in the alert log with a snapshot of
what it showed, so the pipeline's follow-ups can edit it later:
`follow_up_edit(post, still_matches, now)` and `follow_up_deletion(deletion)`.

Errors from the sender (RetryLater, Forbidden, others) pass out of `deliver`
unchanged for the worker to handle; ChatMigrated on a new alert moves the
subscriber to the supergroup's id and sends there. Follow-ups are best effort:
their state is saved first, so a failed edit is redone by the next one.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Callable, Sequence, TextIO

from bot import stories as dedup
from bot.delivery.alert_html import StoryPost, format_alert, is_silent
from bot.delivery.buttons import alert_buttons
from bot.clock import Clock, utc_now
from bot.errors import ChatMigrated, RetryLater
from bot.models import Alert, Deletion, Match, Outgoing, Post, Subscriber, SubscriberKind
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.senders import Sender
from bot.storage import alert_log
from bot.storage.db import Store, from_iso, to_iso

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

    async def follow_up_edit(
        self, post: Post, still_matches: bool, now: datetime, matches: Sequence[Match] | None = None
    ) -> int:
        """An alerted post was edited: say "edited: no longer matches", or refresh the excerpt.

        Pass the new `matches` (spans into the new text) when it still matches to
        show the new text; without them a still-matching edit changes nothing.
        Returns the number of alert messages edited.
        """
        edited = 0
        for row in await alert_log.alerts_led_by(self.store, post.channel_id, post.message_id):
            state, snapshot = json.loads(row["state"]), json.loads(row["snapshot"])
            if still_matches and matches is None and not state.get("no_longer_matches"):
                continue
            state["no_longer_matches"] = not still_matches
            state["edited_at"] = to_iso(now)
            if still_matches and matches is not None:
                snapshot["post"] = _post_to_json(post)
                snapshot["matches"] = [_match_to_json(m) for m in matches]
            await self.store.write(lambda conn, r=row, st=state, sn=snapshot: _save(conn, r["id"], st, sn, now))
            edited += await self._edit_quietly(row["id"], now)
        return edited

    async def follow_up_deletion(self, deletion: Deletion) -> int:
        """Alerted posts were deleted: mark their alerts "deleted by the channel at …", excerpt kept.

        A deleted copy grouped into someone else's alert is marked "(deleted)" in its "also in".
        Returns the number of alert messages edited.
        """
        edited = 0
        for message_id in deletion.message_ids:
            key = f"{deletion.channel_id}:{message_id}"
            for row in await alert_log.alerts_showing(self.store, deletion.channel_id, message_id):
                state = json.loads(row["state"])
                if state.get("deleted_at") if row["is_first"] else key in state.get("deleted_posts", []):
                    continue
                if row["is_first"]:
                    state["deleted_at"] = to_iso(deletion.at)
                else:
                    state["deleted_posts"] = [*state.get("deleted_posts", []), key]
                await self.store.write(
                    lambda conn, r=row, st=state: alert_log.set_alert_state(conn, r["id"], st, deletion.at)
                )
                edited += await self._edit_quietly(row["id"], deletion.at)
        return edited

    async def _send_new(self, alert: Alert, signature: frozenset[int], now: datetime) -> int:
        sub, post = alert.subscriber, alert.post
        post_id = await self._post_id(alert)
        snapshot = {
            "post": _post_to_json(post),
            "matches": [_match_to_json(m) for m in alert.matches],
            "titles": await self._rule_titles([m.rule_id for m in alert.matches]),
            "edited": alert.edited,
            "post_id": post_id,
            "kind": sub.kind,
            "tz": sub.tz,
            "found_at": to_iso(now),
        }
        silent = alert.silent or is_silent(alert.matches)
        outgoing = replace(render_snapshot(snapshot, {}, [], sub.chat_id, now), silent=silent)
        chat_id = sub.chat_id
        try:
            message_id = await self.sender.send(outgoing)
        except ChatMigrated as moved:  # the group became a supergroup: follow it and send there
            old_chat_id, chat_id = moved.chat_id, moved.new_chat_id
            await self.store.write(lambda conn: move_subscriber(conn, sub.id, old_chat_id, chat_id))
            message_id = await self.sender.send(replace(outgoing, chat_id=chat_id))

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

    async def _edit_quietly(self, alert_id: int, now: datetime) -> int:
        try:
            await self._edit(alert_id, now)
            return 1
        except Exception as exc:  # best effort: the state is saved; the next edit redoes it
            log.warning("could not edit alert %s: %s", alert_id, exc)
            return 0

    async def _first_post_key(self, alert_id: int) -> tuple[int, int]:
        first = (await alert_log.story_members(self.store, alert_id))[0]
        return first["channel_id"], first["message_id"]

    async def _post_id(self, alert: Alert) -> int | None:
        post_id = await self.store.fetchval("SELECT post_id FROM outbox WHERE id = ?", (alert.outbox_id,))
        if post_id is None:
            post_id = await self.store.fetchval(
                "SELECT id FROM posts WHERE channel_id = ? AND message_id = ?",
                (alert.post.channel_id, alert.post.message_id),
            )
        return post_id

    async def _rule_titles(self, rule_ids: list[str]) -> dict[str, str]:
        if not rule_ids:
            return {}
        marks = ",".join("?" * len(rule_ids))
        rows = await self.store.fetchall(f"SELECT id, title FROM rules WHERE id IN ({marks})", rule_ids)
        return {r["id"]: r["title"] for r in rows if r["title"]}


class LimitedSender:
    """A Sender that keeps to the RateLimiter: wrap the Telegram sender once, share it.

    A wait up to `max_wait` seconds is slept here; a longer one raises
    RetryLater(wait) so the outbox worker postpones that row and goes on with
    other chats (postponing costs no attempt). A FloodWait from Telegram pauses
    that chat in the limiter and is re-raised. `monotonic` and `sleep` are
    injected so tests drive a fake clock.
    """

    def __init__(self, sender: Sender, limiter: RateLimiter, *, max_wait: float = 0.5,
                 monotonic: Callable[[], float] = time.monotonic, sleep=asyncio.sleep):
        self.sender = sender
        self.limiter = limiter
        self.max_wait = max_wait
        self.monotonic = monotonic
        self.sleep = sleep

    async def send(self, message: Outgoing) -> int:
        chat_id = message.chat_id
        wait = self.limiter.delay(chat_id, self.monotonic())
        while wait > 0:
            if wait > self.max_wait:
                raise RetryLater(wait, f"rate limit for chat {chat_id}")
            await self.sleep(wait)
            wait = self.limiter.delay(chat_id, self.monotonic())
        self.limiter.record(chat_id, self.monotonic())  # reserve the slot before awaiting Telegram
        try:
            return await self.sender.send(message)
        except RetryLater as exc:
            self.limiter.pause(chat_id, exc.seconds, self.monotonic())
            raise


class DryRunSender:
    """A Sender for `--dry-run`: prints each message (HTML, buttons, edits) and sends nothing."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._ids = itertools.count(1)

    async def send(self, message: Outgoing) -> int:
        message_id = message.edit_message_id or next(self._ids)
        action = f"edit of message {message_id}" if message.edit_message_id else f"message {message_id}"
        flags = " (silent)" if message.silent else ""
        lines = [f"--- to chat {message.chat_id}: {action}{flags}", message.html]
        if message.photo is not None:
            lines.append(f"[photo: {len(message.photo)} bytes]")
        for row in message.buttons:
            lines.append("  ".join(f"[{b.text} -> {b.data}]" for b in row))
        print("\n".join(lines), file=self.stream or sys.stdout, flush=True)
        return message_id


def render_snapshot(snapshot: dict, state: dict, others: Sequence, chat_id: int, now: datetime) -> Outgoing:
    """The Outgoing for an alert message from its logged snapshot, state and grouped posts."""
    matches = tuple(_match_from_json(m) for m in snapshot["matches"])
    alert = Alert(
        outbox_id=0,
        subscriber=Subscriber(id=0, chat_id=chat_id, kind=SubscriberKind(snapshot.get("kind", SubscriberKind.USER)), tz=snapshot["tz"]),
        post=_post_from_json(snapshot["post"]),
        matches=matches,
        edited=bool(snapshot.get("edited")) or bool(state.get("edited_at")),
    )
    gone = set(state.get("deleted_posts", ()))
    also_in = [StoryPost(o["channel"], o["channel_title"], o["link"], f"{o['channel_id']}:{o['message_id']}" in gone,
                         o["channel_id"]) for o in others]
    found_at = from_iso(snapshot.get("found_at")) or now
    html = format_alert(
        alert, found_at, snapshot["tz"], rule_titles=snapshot.get("titles") or {}, also_in=also_in,
        deleted_at=from_iso(state.get("deleted_at")), no_longer_matches=bool(state.get("no_longer_matches")),
    )
    post_id = snapshot.get("post_id")
    buttons = () if post_id is None or alert.subscriber.kind == SubscriberKind.CHANNEL else alert_buttons(
        post_id, [m.rule_id for m in matches]
    )
    return Outgoing(chat_id=chat_id, html=html, silent=is_silent(matches), buttons=buttons)


async def move_subscriber(conn, subscriber_id: int, old_chat_id: int, new_chat_id: int) -> None:
    """A group migrated to a supergroup: its subscriber now lives at the new chat id."""
    log.warning("chat %s migrated to %s; subscriber %s follows it", old_chat_id, new_chat_id, subscriber_id)
    await conn.execute("UPDATE OR IGNORE subscribers SET chat_id = ? WHERE id = ? AND chat_id = ?",
                       (new_chat_id, subscriber_id, old_chat_id))


async def _save(conn, alert_id: int, state: dict, snapshot: dict, now: datetime) -> None:
    await alert_log.set_alert_state(conn, alert_id, state, now)
    await conn.execute(
        "UPDATE alert_messages SET snapshot = ? WHERE id = ?", (json.dumps(snapshot, ensure_ascii=False), alert_id)
    )


def _post_to_json(post: Post) -> dict:
    data = asdict(post)
    for key in ("date", "edit_date"):
        data[key] = to_iso(data[key])
    return data


def _post_from_json(data: dict) -> Post:
    data = dict(data)
    for key in ("date", "edit_date"):
        data[key] = from_iso(data.get(key))
    return Post(**data)


def _match_to_json(match: Match) -> dict:
    return {"rule_id": match.rule_id, "tags": list(match.tags), "spans": [list(s) for s in match.spans],
            "severity": match.severity}


def _match_from_json(data: dict) -> Match:
    return Match(data["rule_id"], tuple(data.get("tags", ())), tuple(tuple(s) for s in data.get("spans", ())),
                 data.get("severity", "high"))
