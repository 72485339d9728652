"""The use case: a post arrives -> match -> one transaction (post, matches, outbox rows).

Sources (replay, Telegram) call `on_post` / `on_edit` / `on_delete` with our
own Post and Deletion; delivery happens later, from the outbox, so a crash
between storing and sending loses nothing. `on_posts` stores a batch in one
transaction (replay uses it; per-post work stays the same). An edit or a
deletion of an alerted post updates the alert log and adds follow-up outbox
rows (edit / mark_deleted) in the same transaction as the change, so the
alerts already sent say so even if Telegram is unreachable at that moment.
A new post's lemmas go into the lemma index (bot/storage/lemma_index.py) in
the same transaction, from the analysis matching made, so backtests and
searches never wait for indexing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Protocol, Sequence

import aiosqlite

from bot.clock import Clock, utc_now
from bot.models import ChannelStatus, Deletion, Match, Post, SubscriberKind
from bot.storage.alert_log import follow_deletion_alerts, follow_edit_alerts
from bot.storage.db import Store
from bot.storage.outbox import EDIT, MARK_DELETED, enqueue, enqueue_follow_ups, follow_edit
from bot.storage.posts import (
    ensure_channel,
    find_post_row,
    insert_post,
    mark_deleted,
    record_edit,
    replace_matches,
    stored_keys,
)
from bot.storage.lemma_index import index_new_posts
from bot.storage.subscribers import recipients
from bot.text import analyze, doc_lemma_text, lemma_text

log = logging.getLogger(__name__)


class Matcher(Protocol):
    def match(self, post: Post) -> list[Match]: ...




@dataclass
class PipelineCounts:
    """Running totals since the pipeline was built (the replay summary prints them)."""

    seen: int = 0
    stored: int = 0
    matched: int = 0  # newly stored posts with at least one match
    enqueued: int = 0  # outbox rows added
    edits: int = 0
    deleted: int = 0


class Pipeline:
    """Post in, stored post + matches + outbox rows out. `notify` is called after rows are enqueued."""

    def __init__(self, store: Store, rules: Matcher, clock: Clock = utc_now,
                 notify: Callable[[], None] | None = None, new_channel_status: ChannelStatus = ChannelStatus.ACTIVE,
                 recipient_kinds: Sequence[SubscriberKind] | None = None,
                 recipient_chats: Sequence[int] | None = None):
        self.store = store
        self.rules = rules
        self.clock = clock
        self.notify = notify
        self.counts = PipelineCounts()
        self.new_channel_status = new_channel_status  # status of channel rows a post creates
        self.recipient_kinds = tuple(recipient_kinds) if recipient_kinds else None  # replay: ("local",)
        self.recipient_chats = tuple(recipient_chats) if recipient_chats else None  # user account: its alert chat
        self._known_channels: set[int] = set()

    def set_rules(self, ruleset: Matcher) -> None:
        """Swap the live rule set; posts handled from now on use it (a single assignment)."""
        self.rules = ruleset

    async def on_post(self, post: Post, *, alert: bool = True) -> bool:
        """Store, match and enqueue one post. True if it was new; a second call does nothing."""
        return await self.on_posts([post], alert=alert) == 1

    async def on_posts(self, posts: Iterable[Post], *, alert: bool = True) -> int:
        """Handle a batch of posts in one transaction; returns how many were new."""
        rules = self.rules
        posts = list(posts)
        stored = await stored_keys(self.store, posts)  # a replayed post is not matched again
        matched = [(post, *self._match_and_lemmas(rules, post)) for post in posts
                   if (post.channel_id, post.message_id) not in stored]
        now = self.clock()

        async def store_all(conn: aiosqlite.Connection) -> tuple[int, int, int]:
            new = hits = rows = 0
            indexed = []
            for post, matches, lemmas in matched:
                post_id = await self._store_one(conn, post, now)
                if post_id is None:
                    continue
                new += 1
                indexed.append((post_id, lemmas))
                if matches:
                    hits += 1
                    await replace_matches(conn, post_id, matches, now)
                    if alert:
                        rows += await self._enqueue(conn, post_id, matches, now)
            await index_new_posts(conn, indexed)
            return new, hits, rows

        try:
            new, hits, rows = await self.store.write(store_all)
        except BaseException:
            self._known_channels.clear()  # the rollback may have undone channel rows
            raise
        self.counts.seen += len(posts)
        self.counts.stored += new
        self.counts.matched += hits
        self._after_enqueue(rows)
        return new

    async def on_edit(self, post: Post) -> None:
        """Keep the earlier text, store the new one, re-match; alert if it matches only now.

        Alerts still queued for the post follow its new text in the same transaction:
        cancelled (with the reason) for chats it no longer matches, their rules refreshed otherwise;
        alerts already sent get an 'edit' follow-up row when what they show changes."""
        matches = self._match(self.rules, post)
        now = self.clock()

        async def store_edit(conn: aiosqlite.Connection) -> int:
            row = await find_post_row(conn, post.channel_id, post.message_id)
            if row is None:  # an edit of a post we never saw: store it as new
                post_id = await self._store_one(conn, post, now)
                edited = False
            else:
                post_id, edited = row["id"], True
                if row["text"] == post.text:
                    return 0
                await record_edit(conn, row, post, now)
            await replace_matches(conn, post_id, matches, now)
            wanting = await recipients(conn, matches, now, self.recipient_kinds, self.recipient_chats) if matches else []
            follow_ups = 0
            if edited:
                await self._follow_queued(conn, post, post_id, wanting)
                shown = await follow_edit_alerts(conn, post, bool(matches), now, matches)
                follow_ups = await enqueue_follow_ups(conn, shown, post_id, EDIT, now)
            return follow_ups + await enqueue(conn, post_id, wanting, now, edited=edited)

        rows = await self.store.write(store_edit)
        self.counts.edits += 1
        self._after_enqueue(rows)

    async def _follow_queued(self, conn: aiosqlite.Connection, post: Post, post_id: int, wanting) -> None:
        """Alerts still queued for an edited post follow it: cancelled if it no longer matches, rules refreshed."""
        cancelled, updated = await follow_edit(conn, post_id, wanting, self.recipient_kinds, self.recipient_chats)
        if cancelled or updated:
            log.info("post %s/%s edited: %d queued alerts cancelled, %d updated",
                     post.channel_id, post.message_id, cancelled, updated)

    async def on_delete(self, deletion: Deletion) -> None:
        """Mark the posts deleted (their rows, text and matches stay); alerts showing them get a
        'mark_deleted' follow-up row, in the same transaction."""

        async def mark(conn: aiosqlite.Connection) -> tuple[int, int]:
            deleted = await mark_deleted(conn, deletion.channel_id, deletion.message_ids, deletion.at)
            rows = 0
            for message_id in deletion.message_ids:
                post = await find_post_row(conn, deletion.channel_id, message_id)
                if post is None:
                    continue
                shown = await follow_deletion_alerts(conn, deletion.channel_id, (message_id,), deletion.at)
                rows += await enqueue_follow_ups(conn, shown, post["id"], MARK_DELETED, deletion.at)
            return deleted, rows

        deleted, rows = await self.store.write(mark)
        self.counts.deleted += deleted
        self._after_enqueue(rows)

    async def _store_one(self, conn: aiosqlite.Connection, post: Post, now: datetime) -> int | None:
        if post.channel_id not in self._known_channels:
            await ensure_channel(conn, post, now, self.new_channel_status)
            self._known_channels.add(post.channel_id)
        return await insert_post(conn, post, now)

    async def _enqueue(self, conn: aiosqlite.Connection, post_id: int, matches: list[Match], now: datetime,
                       edited: bool = False) -> int:
        wanting = await recipients(conn, matches, now, self.recipient_kinds, self.recipient_chats)
        return await enqueue(conn, post_id, wanting, now, edited=edited)

    def _match_and_lemmas(self, rules: Matcher, post: Post) -> tuple[list[Match], str]:
        """The post's matches and its lemma text, from one analysis when the matcher takes a Doc."""
        if not hasattr(rules, "match_doc"):
            return self._match(rules, post), self._lemmas(lambda: lemma_text(post.text))
        try:
            doc = analyze(post.text)
            matches = list(rules.match_doc(doc, post.channel, post.channel_id, post.lang))
        except Exception:  # one bad rule or odd post never stops the stream
            log.exception("matching failed for post %s/%s", post.channel_id, post.message_id)
            return [], self._lemmas(lambda: lemma_text(post.text))
        return matches, self._lemmas(lambda: doc_lemma_text(doc))

    @staticmethod
    def _lemmas(make: Callable[[], str]) -> str:
        try:
            return make()
        except Exception:  # an odd post is stored unindexed rather than lost
            log.exception("lemmatizing failed")
            return ""

    def _match(self, rules: Matcher, post: Post) -> list[Match]:
        try:
            return list(rules.match(post))
        except Exception:  # one bad rule or odd post never stops the stream
            log.exception("matching failed for post %s/%s", post.channel_id, post.message_id)
            return []

    def _after_enqueue(self, rows: int) -> None:
        self.counts.enqueued += rows
        if rows and self.notify is not None:
            self.notify()
