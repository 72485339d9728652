"""One account's watcher: live updates and history sweeps become pipeline events.

Every channel keeps the id of the last post the pipeline accepted
(channels.last_seen_id). A live post whose id skips ahead of it first sweeps
the hole (ids Telethon dropped) after the post itself is handed over: a
failed gap sweep never costs the post in hand. Sweeps read history above it,
oldest first, for updates lost while down; channels not joined are polled the
same way, each at its own pace (`polling.poll_interval`). A post found by a
sweep is `late` only when found more than `late_after` seconds after it was
posted. Sweeps also re-read the recent window (`recheck`) for edits and
deletions, and every sweep interval the views and forwards of posts younger
than 3 days are refreshed (`refresh_reach`, bot/telegram/reach.py). A channel swept for the first time is seeded with its last N posts,
without alerts unless asked. Per channel, one thing at a time (a lock), so a
sweep and a live post never race on last_seen_id.

A channel this account cannot read is handed to another account that has not
tried it; it is marked unavailable only when no account can read it. An id or
hash the account no longer knows (CHANNEL_INVALID, PEER_ID_INVALID) is first
resolved again by name.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from typing import Callable

from telethon import events, types, utils

from bot.clock import Clock, utc_now
from bot.errors import SessionInvalid
from bot.formatting import post_link
from bot.models import ChannelStatus, Post
from bot.storage import accounts as access
from bot.storage import channels as db
from bot.storage.channels import ChannelRow
from bot.storage.leases import record_sweep
from bot.telegram.budget import Budget
from bot.telegram.channels import input_peer, resolve_again
from bot.telegram.convert import group_albums, is_post, make_deletion, messages_to_post
from bot.telegram.errors import NETWORK_ERRORS, ChannelUnavailable, translated
from bot.telegram.polling import poll_interval
from bot.telegram.reach import refresh_reach
from bot.telegram.recheck import recheck_channel
from bot.telegram.silence import is_silent

log = logging.getLogger(__name__)


class Watcher:
    def __init__(self, client, store, pipeline, account: str, budget: Budget, *, backfill_limit: int = 50,
                 alert_backfill: bool = False, silence_factor: float = 8.0, album_delay: float = 0.5,
                 chunk_wait: float = 1.0, now: Clock = utc_now, late_after: float = 120.0,
                 recheck_hours: float = 24.0, poll_floor: float = 30.0, poll_ceiling: float = 300.0,
                 accounts: tuple[str, ...] = (), main: bool = True):
        self.client, self.store, self.pipeline = client, store, pipeline
        self.account, self.budget = account, budget
        self.late_after, self.recheck_hours = late_after, recheck_hours
        self.poll_floor, self.poll_ceiling = poll_floor, poll_ceiling
        self.accounts, self.main = tuple(accounts) or (account,), main  # every account, to hand channels on
        self._next_poll: dict[int, float] = {}  # monotonic time each polled channel is due
        self._next_recheck: dict[int, float] = {}  # and when its recent window is re-read next
        self.backfill_limit, self.alert_backfill = backfill_limit, alert_backfill
        self.silence_factor, self.album_delay, self.chunk_wait = silence_factor, album_delay, chunk_wait
        self.now = now
        self.channels: dict[int, ChannelRow] = {}
        self._seen: dict[int, int] = {}  # highest id handed to the pipeline, per channel
        self._locks: dict[int, asyncio.Lock] = {}
        self._albums: dict[tuple[int, int], list] = {}
        self._album_timers: dict[tuple[int, int], asyncio.Task] = {}
        self._inflight: set[asyncio.Task] = set()
        self._handlers: list = []  # what register() added to the client, for unregister()
        self.stopping = False

    # which channels
    def watch(self, row: ChannelRow) -> None:
        self.channels[row.id] = row
        self._seen[row.id] = max(self._seen.get(row.id, 0), row.last_seen_id)

    def unwatch(self, channel_id: int) -> None:
        self.channels.pop(channel_id, None)
        self._next_poll.pop(channel_id, None)

    def mark_joined(self, channel_id: int) -> None:
        if channel_id in self.channels:
            self.channels[channel_id] = replace(self.channels[channel_id], joined=True)

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    # live updates
    def register(self) -> None:
        for handler, event in ((self.on_new_message, events.NewMessage()), (self.on_edit, events.MessageEdited()),
                               (self.on_delete, events.MessageDeleted())):
            tracked = self._tracked(handler)
            self.client.add_event_handler(tracked, event)
            self._handlers.append(tracked)

    def unregister(self) -> None:
        """Take no more live updates from the client (the account is let go; see bot/telegram/live.py)."""
        for tracked in self._handlers:
            self.client.remove_event_handler(tracked)
        self._handlers = []

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
        """The post first; then, if ids were skipped, the gap sweep (extra: a failure keeps last seen
        below the hole so the next sweep fills it and meets this post again, harmlessly)."""
        async with self._lock(row.id):
            first = min(m.id for m in messages)
            seen = self._seen.get(row.id, 0)
            gap = bool(seen) and first > seen + 1
            post = await self._feed(row, messages, late=False, alert=True, advance=not gap)
            if not gap or self.budget.blocked():
                return
            log.info("gap in %s: %d after %d; sweeping the ids between", row.label, first, seen)
            try:
                await self._sweep_locked(row, max_id=first)
            except (SessionInvalid, asyncio.CancelledError):
                raise
            except Exception as exc:  # ChannelUnavailable, network, RetryLater: the next sweep fills it
                log.warning("gap in %s not filled now (%s); the next sweep fills it", row.label,
                            exc or type(exc).__name__)
                return
            await self._advance(row, max(m.id for m in messages), post.date)

    async def _feed(self, row: ChannelRow, messages: list, late: bool, alert: bool, advance: bool = True) -> Post:
        post = messages_to_post(messages, row.username, row.title, show_authors=row.show_authors)
        if row.show_authors and post.author_id is not None and post.author_name is None:
            post = replace(post, author_name=await self._author_name(post.author_id))
        if late and (self.now() - post.date).total_seconds() > self.late_after:
            post = replace(post, late=True)  # found well after it was posted, not merely by a sweep
        await self.pipeline.on_post(post, alert=alert)
        if advance:
            await self._advance(row, max(m.id for m in messages), post.date)
        return post

    async def _author_name(self, user_id: int) -> str | None:
        """A member's name when Telegram did not send it with the message (only for groups whose admin
        turned names on); None when it cannot be had ("a member" is shown)."""
        try:
            user = await self.client.get_entity(types.PeerUser(user_id))
        except (SessionInvalid, asyncio.CancelledError):
            raise
        except Exception as exc:  # unknown to the session, network: the alert says "a member"
            log.debug("name of member %s not found: %s", user_id, exc)
            return None
        return utils.get_display_name(user).strip() or None

    async def _advance(self, row: ChannelRow, last: int, post_at: datetime | None) -> None:
        await db.advance_last_seen(self.store, row.id, last, post_at)
        self._seen[row.id] = max(self._seen.get(row.id, 0), last)

    # history sweeps
    async def sweep(self, recheck: bool = False, only: Callable[[ChannelRow], bool] | None = None) -> int:
        """Sweep watched channels once (those `only` accepts); returns posts fed. Session errors propagate.

        `recheck`: also re-read each channel's recent window for edits and deletions."""
        fed = 0
        for row in [r for r in self.channels.values() if only is None or only(r)]:
            try:
                fed += await self.sweep_channel(row)
                if recheck:
                    await self.recheck(row)
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
            fed = await self._sweep_locked(row, max_id)
        await record_sweep(self.store, row.id, self.now())  # `dozor status`: last sweep per channel
        return fed

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

    async def recheck(self, row: ChannelRow) -> int:
        async with self._lock(row.id):
            return await self.budget.run(lambda: recheck_channel(self, row), "history", f"recheck {row.label}")

    async def refresh_reach(self) -> int:
        """Views and forwards of every watched channel's posts younger than 3 days; returns posts updated.
        A channel that fails is logged and tried again at the next sweep."""
        updated = 0
        for row in list(self.channels.values()):
            try:
                updated += await self.budget.run(lambda r=row: refresh_reach(self, r), "other", f"views {row.label}")
            except (SessionInvalid, asyncio.CancelledError):
                raise
            except NETWORK_ERRORS as exc:
                log.info("views of account %s wait for the connection: %s", self.account, exc or type(exc).__name__)
                break
            except Exception as exc:  # ChannelUnavailable is the sweep's to report; views can wait
                log.warning("views of %s not refreshed now (%s)", row.label, exc or type(exc).__name__)
        return updated

    # polling: channels not joined, each at its own pace
    async def poll_due(self, mono_now: float) -> int:
        """Sweep (and re-check) the polled channels whose turn has come; schedule each one's next turn."""
        polled = [r for r in self.channels.values() if not r.joined]
        due = [r for r in polled if self._next_poll.get(r.id, 0.0) <= mono_now]
        if not due:
            return 0
        reread = [r for r in due if self._next_recheck.get(r.id, 0.0) <= mono_now]  # at most every ceiling
        fed = await self.sweep(recheck=True, only=lambda r: r in reread)
        fed += await self.sweep(only=lambda r: r in due and r not in reread)
        for row in reread:
            self._next_recheck[row.id] = mono_now + self.poll_ceiling
        for row in due:
            dates = await db.recent_post_dates(self.store, row.id)
            self._next_poll[row.id] = mono_now + poll_interval(
                dates, self.poll_floor, self.poll_ceiling, len(polled), self.budget.gaps.get("history", 0.0))
        return fed

    # operator warnings
    async def report_unavailable(self, row: ChannelRow, exc: ChannelUnavailable) -> None:
        """Resolve a stale id again; else hand the channel to an account that has not tried it;
        mark it unavailable (and warn once) only when no account can read it."""
        if exc.kind == "invalid" and row.username and await self._resolved_again(row):
            return
        self.unwatch(row.id)
        if exc.kind == "too_many":
            return
        await access.save_access(self.store, self.account, row.id, None, self.now(), exc.kind)
        refused = await access.accounts_refused(self.store, row.id)
        others = [a for a in self.accounts if a not in refused]
        if others:
            await db.assign_account(self.store, row.id, others[0], joined=False)
            log.warning("account %s cannot read %s (%s); account %s takes it over", self.account, row.label,
                        exc.kind, others[0])
            return
        status = ChannelStatus(exc.kind) if exc.kind in (ChannelStatus.PRIVATE, ChannelStatus.BANNED) else ChannelStatus.UNAVAILABLE
        await db.set_status(self.store, row.id, status)
        if await db.warn_once(self.store, row.id, exc.kind, self.now()):
            log.warning("channel %s stopped being readable: %s", row.label, exc)

    async def _resolved_again(self, row: ChannelRow) -> bool:
        try:
            fresh = await resolve_again(self.client, self.store, row, self.account, self.budget, self.now(), self.main)
        except (SessionInvalid, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.warning("resolving %s again failed: %s", row.label, exc)
            return False
        log.info("account %s resolved %s again (its id or access hash had gone stale)", self.account, row.label)
        self.channels[row.id] = fresh
        return True

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
