"""One account's watcher: live updates and history sweeps become pipeline events.

Every channel keeps the id of the last post the pipeline accepted
(channels.last_seen_id). A live post whose id skips ahead of it first sweeps
the hole (ids Telethon dropped); the periodic sweep reads history above it,
oldest first, for channels not joined and for updates lost while down. Posts
found by a sweep are `late`. A channel swept for the first time is seeded with
its last N posts, without alerts unless asked. Per channel, one thing at a time
(a lock), so a sweep and a live post never race on last_seen_id.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from telethon import events

from bot.errors import SessionInvalid
from bot.formatting import post_link
from bot.models import Post
from bot.storage import channels as db
from bot.storage.channels import ChannelRow
from bot.telegram.budget import Budget
from bot.telegram.channels import input_peer
from bot.telegram.convert import group_albums, is_post, make_deletion, messages_to_post
from bot.telegram.errors import NETWORK_ERRORS, ChannelUnavailable, translated
from bot.telegram.silence import is_silent

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Watcher:
    def __init__(self, client, store, pipeline, account: str, budget: Budget, *, backfill_limit: int = 50,
                 alert_backfill: bool = False, silence_factor: float = 8.0, album_delay: float = 0.5,
                 chunk_wait: float = 1.0, now: Callable[[], datetime] = _utcnow):
        self.client, self.store, self.pipeline = client, store, pipeline
        self.account, self.budget = account, budget
        self.backfill_limit, self.alert_backfill = backfill_limit, alert_backfill
        self.silence_factor, self.album_delay, self.chunk_wait = silence_factor, album_delay, chunk_wait
        self.now = now
        self.channels: dict[int, ChannelRow] = {}
        self._seen: dict[int, int] = {}  # highest id handed to the pipeline, per channel
        self._locks: dict[int, asyncio.Lock] = {}
        self._albums: dict[tuple[int, int], list] = {}
        self._album_timers: dict[tuple[int, int], asyncio.Task] = {}
        self._inflight: set[asyncio.Task] = set()
        self.stopping = False

    # which channels
    def watch(self, row: ChannelRow) -> None:
        self.channels[row.id] = row
        self._seen[row.id] = max(self._seen.get(row.id, 0), row.last_seen_id)

    def unwatch(self, channel_id: int) -> None:
        self.channels.pop(channel_id, None)

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    # live updates
    def register(self) -> None:
        self.client.add_event_handler(self._tracked(self.on_new_message), events.NewMessage())
        self.client.add_event_handler(self._tracked(self.on_edit), events.MessageEdited())
        self.client.add_event_handler(self._tracked(self.on_delete), events.MessageDeleted())

    def _tracked(self, handler):
        """Run a handler unless stopping, and remember it so `stop` can let it finish."""
        async def run(event) -> None:
            if self.stopping:
                return  # not handed over: last seen stays below it, the next start sweeps it
            task = asyncio.current_task()
            self._inflight.add(task)
            try:
                await handler(event)
            finally:
                self._inflight.discard(task)

        run.__name__ = handler.__name__
        return run

    async def stop(self, timeout: float = 10.0) -> None:
        """Take no more updates, let the posts being handled finish, hand over waiting albums."""
        self.stopping = True
        busy = [t for t in self._inflight if t is not asyncio.current_task()]
        if busy:
            await asyncio.wait(busy, timeout=timeout)
        await self.flush_albums()

    async def on_new_message(self, event) -> None:
        row = self.channels.get(event.chat_id)
        if row is None or not is_post(event.message):
            return
        if event.message.grouped_id is not None:
            self._buffer_album(row, event.message)
            return
        await self._take_live(row, [event.message])

    async def on_edit(self, event) -> None:
        row = self.channels.get(event.chat_id)
        if row is None or not is_post(event.message):
            return
        post = messages_to_post([event.message], row.username, row.title)
        if post.grouped_id is not None:
            first = await db.album_message_id(self.store, row.id, post.grouped_id)
            if first is not None and first != post.message_id:
                post = replace(post, message_id=first, link=post_link(row.id, first, row.username))
        await self.pipeline.on_edit(post)

    async def on_delete(self, event) -> None:
        channel_id = getattr(event, "chat_id", None)
        if channel_id is None or channel_id not in self.channels:
            return  # deletions outside channels carry no chat; not ours
        await self.pipeline.on_delete(make_deletion(channel_id, event.deleted_ids, self.now()))

    def _buffer_album(self, row: ChannelRow, message) -> None:
        key = (row.id, message.grouped_id)
        self._albums.setdefault(key, []).append(message)
        if key not in self._album_timers:
            self._album_timers[key] = asyncio.get_running_loop().create_task(self._album_later(key))

    async def _album_later(self, key: tuple[int, int]) -> None:
        await asyncio.sleep(self.album_delay)  # the items of an album arrive within moments
        self._album_timers.pop(key, None)
        await self._flush_album(key)

    async def _flush_album(self, key: tuple[int, int]) -> None:
        items = self._albums.pop(key, [])
        row = self.channels.get(key[0])
        if items and row is not None:
            try:
                await self._take_live(row, items)
            except Exception:
                log.exception("album %s in %s was not handled; the next sweep retries it", key[1], row.label)

    async def flush_albums(self) -> None:
        """Hand over albums still waiting for more items (on stop, and in tests)."""
        for key in list(self._albums):
            timer = self._album_timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            await self._flush_album(key)

    def _pending_album_ids(self, channel_id: int) -> list[int]:
        return [m.id for (cid, _), items in self._albums.items() if cid == channel_id for m in items]

    async def _take_live(self, row: ChannelRow, messages: list) -> None:
        async with self._lock(row.id):
            first = min(m.id for m in messages)
            seen = self._seen.get(row.id, 0)
            gap = bool(seen) and first > seen + 1
            if gap and self.budget.blocked():
                # Telegram asked us to wait: take the post now, keep last seen below the hole
                # so the next sweep fills it (and meets this post again, harmlessly).
                await self._feed(row, messages, late=False, alert=True, advance=False)
                return
            if gap:
                log.info("gap in %s: %d after %d; sweeping the ids between", row.label, first, seen)
                await self._sweep_locked(row, max_id=first)
            await self._feed(row, messages, late=False, alert=True)

    async def _feed(self, row: ChannelRow, messages: list, late: bool, alert: bool, advance: bool = True) -> Post:
        post = messages_to_post(messages, row.username, row.title, late=late)
        await self.pipeline.on_post(post, alert=alert)
        if advance:
            last = max(m.id for m in messages)
            await db.advance_last_seen(self.store, row.id, last, post.date)
            self._seen[row.id] = max(self._seen.get(row.id, 0), last)
        return post

    # history sweeps
    async def sweep(self) -> int:
        """Sweep every watched channel once; returns posts fed. Session errors propagate."""
        fed = 0
        for row in list(self.channels.values()):
            try:
                fed += await self.sweep_channel(row)
            except ChannelUnavailable as exc:
                await self.report_unavailable(row, exc)
            except (SessionInvalid, asyncio.CancelledError):
                raise
            except NETWORK_ERRORS as exc:  # the rest waits for the connection to come back
                log.warning("sweep of account %s paused, connection lost: %s", self.account, exc or type(exc).__name__)
                break
            except Exception:
                log.exception("sweep of %s failed; it is retried next time", row.label)
        return fed

    async def sweep_channel(self, row: ChannelRow, max_id: int = 0) -> int:
        async with self._lock(row.id):
            return await self._sweep_locked(row, max_id)

    async def _sweep_locked(self, row: ChannelRow, max_id: int = 0) -> int:
        if self._seen.get(row.id, 0) == 0 and not max_id:
            return await self.budget.run(lambda: self._backfill(row), "history", f"backfill {row.label}")
        fed = [0]  # across retries after a FloodWait
        await self.budget.run(lambda: self._read_above(row, max_id, fed), "history", f"sweep {row.label}")
        return fed[0]

    async def _read_above(self, row: ChannelRow, max_id: int, fed: list[int]) -> None:
        """Feed posts above last seen (below max_id if set), oldest first; resumable after a wait."""
        group: list = []
        async with translated(row.label, row.id):
            history = self.client.iter_messages(input_peer(row), min_id=self._seen.get(row.id, 0),
                                                max_id=max_id, reverse=True, wait_time=self.chunk_wait)
            async for message in history:
                if group and (message.grouped_id is None or message.grouped_id != group[0].grouped_id):
                    await self._feed(row, group, late=True, alert=True)
                    fed[0] += 1
                    group = []
                if is_post(message):
                    group.append(message)
        if group:
            await self._feed(row, group, late=True, alert=True)
            fed[0] += 1

    async def _backfill(self, row: ChannelRow) -> int:
        """First sweep of a channel: its last N posts seed the database, silently unless asked."""
        async with translated(row.label, row.id):
            newest_first = [m async for m in self.client.iter_messages(input_peer(row), limit=self.backfill_limit,
                                                                       wait_time=self.chunk_wait)]
        groups = group_albums(m for m in reversed(newest_first) if is_post(m))
        for group in groups:
            await self._feed(row, group, late=True, alert=self.alert_backfill)
        log.info("seeded %s with %d posts", row.label, len(groups))
        return len(groups)

    # operator warnings
    async def report_unavailable(self, row: ChannelRow, exc: ChannelUnavailable) -> None:
        status = exc.kind if exc.kind in ("private", "banned") else "unavailable"
        self.unwatch(row.id)
        await db.set_status(self.store, row.id, status)
        if await db.warn_once(self.store, row.id, exc.kind, self.now()):
            log.warning("channel %s stopped being readable: %s", row.label, exc)

    async def check_silence(self) -> list[int]:
        """Warn once per silence about channels quiet far beyond their usual rhythm."""
        warned = []
        for row in list(self.channels.values()):
            dates = await db.recent_post_dates(self.store, row.id)
            if is_silent(dates, self.now(), self.silence_factor) and \
                    await db.warn_once(self.store, row.id, "silent", self.now()):
                log.warning("channel %s has been silent since %s, much longer than usual",
                            row.label, dates[-1].isoformat())
                warned.append(row.id)
        return warned
