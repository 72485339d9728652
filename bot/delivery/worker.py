"""The delivery worker: takes due outbox rows and hands each to its subscriber's sink.

A 'send' row becomes an Alert for `sink.deliver`; a follow-up row ('edit',
'mark_deleted') a FollowUp for `sink.follow_up`, which re-renders the alert
message it names. Both go through the same rate limits, retries, FloodWait
handling and parking below.

A row is marked sent only after the sink returned, so a crash in between
delivers it again on the next start (at least once, never lost).
RetryLater(s) postpones that row only, to the sub-second (logged once per
row; the live loop sleeps until the earliest due row, so a rate-limit delay is
never retried sooner than it said); Forbidden deactivates the subscriber
and parks the row; ChatUnresolved (we could not find the chat: a setting or
a cache, not the chat's doing) keeps the subscriber and the row, retries it
later and logs the setting once; any other error retries with exponential backoff and
parks the row after `max_attempts`.

A worker serves the rows of some subscriber kinds, chats or subscriber ids;
bot/delivery/lanes.py runs one for Telegram and one per webhook or Apprise
target (TargetLane overrides `held`, `after_success` and `after_failure` to
pause a failing target and record its health).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Callable, Sequence

from bot.errors import ChatUnresolved, Forbidden, RetryLater
from bot.models import Subscriber, SubscriberKind
from bot.delivery.local_sinks import Sink
from bot.storage.db import Store
from bot.storage.outbox import (
    SEND, claim_due_rows, load_alert, load_follow_up, mark_sent, next_due_at, park, park_pending_of, postpone,
)
from bot.storage.subscribers import deactivate_subscriber

log = logging.getLogger(__name__)
BACKOFF_BASE = 2.0  # seconds; attempt n waits BASE * 2**(n-1), capped
BACKOFF_CAP = 3600.0
UNRESOLVED_RETRY = 300.0  # seconds before a row for a chat we could not find is tried again
IDLE_POLL = 5.0  # the live loop also looks for due rows this often without a notify()


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try after `attempts` failures (2, 4, 8, … up to an hour)."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


class OutboxWorker:
    def __init__(self, store: Store, sink_for: Callable[[Subscriber], Sink], clock: Callable[[], datetime],
                 max_attempts: int = 8, kinds: Sequence[SubscriberKind] | None = None, batch: int = 100,
                 chat_ids: Sequence[int] | None = None, subscriber_ids: Sequence[int] | None = None):
        self.store = store
        self.sink_for = sink_for
        self.clock = clock
        self.max_attempts = max_attempts
        self.kinds = tuple(kinds) if kinds else None  # deliver only to these subscriber kinds
        self.chat_ids = tuple(chat_ids) if chat_ids else None  # … and only to these chats
        self.subscriber_ids = tuple(subscriber_ids) if subscriber_ids else None  # … or subscribers (a target lane)
        self.batch = batch
        self.delivered = 0
        self._wake = asyncio.Event()
        self._stop: asyncio.Event | None = None  # set by `run`: a pass stops between rows once it is set
        self._postponed: set[int] = set()  # rows whose postponement was logged
        self._unresolved: set = set()  # chats reported as not found

    def notify(self) -> None:
        """New rows were enqueued: wake the live loop now."""
        self._wake.set()

    async def run_until_idle(self) -> int:
        """Deliver every row that is due now (each tried once per call); return how many were sent."""
        delivered, tried = 0, set()
        while True:
            rows = [r for r in await claim_due_rows(self.store, self.clock(), self.batch + len(tried), self.kinds,
                                                  self.chat_ids, self.subscriber_ids)
                    if r["id"] not in tried]
            if not rows or self.held():
                return delivered
            for row in rows:
                if self.held() or (self._stop is not None and self._stop.is_set()):
                    return delivered
                tried.add(row["id"])
                delivered += await self.deliver_row(row)

    async def run(self, stop: asyncio.Event) -> None:
        """Live loop: deliver what is due, then sleep until notified, a retry is due, or stop (the row in
        hand is finished; the rest stay pending for the next start)."""
        self._stop = stop
        while not stop.is_set():
            self._wake.clear()
            await self._sleep(stop, await self.pass_once())

    async def pass_once(self) -> float:
        """Deliver what is due; return the seconds to sleep before the next pass. Never raises:
        a failed database read (here or while computing the wait) is logged and retried later."""
        try:
            await self.run_until_idle()
            return await self._seconds_to_next()
        except Exception:  # a broken database read must not kill delivery for good
            log.exception("outbox pass failed; trying again in %gs", IDLE_POLL)
            return IDLE_POLL

    async def deliver_row(self, row) -> int:
        """Deliver one outbox row; 1 if it was sent, 0 if postponed or parked."""
        if row["action"] == SEND:
            job, why = await load_alert(self.store, row), "post gone or subscriber inactive"
        else:
            job, why = await load_follow_up(self.store, row), "alert message gone or subscriber inactive"
        if job is None:
            await self.store.write(lambda conn: park(conn, row["id"], row["attempts"], why))
            return 0
        try:
            sink = self.sink_for(job.subscriber)
            if row["action"] == SEND:
                message_id = await sink.deliver(job)
            else:  # only sinks that log alert messages (TelegramAlertSink) have follow-ups to show
                follow_up = getattr(sink, "follow_up", None)
                message_id = None if follow_up is None else await follow_up(job)
        except RetryLater as exc:
            until, reason = self.clock() + timedelta(seconds=exc.seconds), str(exc)
            self._log_postponed(row["id"], exc)
            await self.store.write(lambda conn: postpone(conn, row["id"], until, row["attempts"], reason))
            await self.after_failure(row, reason, exc.seconds)
            return 0
        except ChatUnresolved as exc:
            await self._keep_for_later(row, exc)
            return 0
        except Forbidden as exc:
            log.warning("outbox %s: chat %s forbids us; subscriber deactivated", row["id"], exc.chat_id)
            reason = str(exc)
            await self.store.write(lambda conn: self._forbid(conn, row, reason))
            return 0
        except Exception as exc:
            await self._record_failure(row, exc)
            return 0
        now = self.clock()
        await self.store.write(lambda conn: mark_sent(conn, row["id"], message_id, now))
        self.delivered += 1
        await self.after_success(row)
        return 1

    def held(self) -> bool:
        """True while this worker should not try any row (a target lane pausing after failures)."""
        return False

    async def after_success(self, row) -> None:
        """Called after a row was sent (a target lane clears its failure count)."""

    async def after_failure(self, row, error: str, retry_after: float | None = None) -> None:
        """Called after a row failed (a target lane pauses and counts); `retry_after` for a RetryLater."""

    async def _keep_for_later(self, row, exc: ChatUnresolved) -> None:
        """A chat we cannot find is a setting or cache problem: keep the subscriber and the row, say so once."""
        if exc.chat not in self._unresolved:
            self._unresolved.add(exc.chat)
            fix = f"check {exc.setting}" if exc.setting else "the chat must write to the bot or be added again"
            log.error("cannot send alerts: %s (%s); the subscriber stays, its alerts stay queued and are "
                      "retried every %gs", exc, fix, UNRESOLVED_RETRY)
        until, attempts = self.clock() + timedelta(seconds=UNRESOLVED_RETRY), row["attempts"]
        await self.store.write(lambda conn: postpone(conn, row["id"], until, attempts, str(exc)))

    def _log_postponed(self, outbox_id: int, exc: RetryLater) -> None:
        """A row waiting for its rate-limit slot is logged once, not at every retry."""
        if outbox_id in self._postponed:
            log.debug("outbox %s: still waiting, retry after %gs", outbox_id, exc.seconds)
            return
        if len(self._postponed) > 10_000:
            self._postponed.clear()
        self._postponed.add(outbox_id)
        log.warning("outbox %s: postponed %gs (%s)", outbox_id, exc.seconds, exc.what or "rate limit")

    async def _forbid(self, conn, row, error: str) -> None:
        await deactivate_subscriber(conn, row["subscriber_id"])
        await park(conn, row["id"], row["attempts"], error)  # reported to the admins
        await park_pending_of(conn, row["subscriber_id"], f"subscriber deactivated: {error}", self.clock())

    async def _record_failure(self, row, exc: Exception) -> None:
        attempts = row["attempts"] + 1
        error = f"{type(exc).__name__}: {exc}"
        await self.after_failure(row, error)
        if attempts >= self.max_attempts:
            log.error("outbox %s: parked after %d attempts: %s", row["id"], attempts, error)
            await self.store.write(lambda conn: park(conn, row["id"], attempts, error))
            return
        until = self.clock() + timedelta(seconds=backoff_seconds(attempts))
        log.warning("outbox %s: attempt %d failed (%s); retry at %s", row["id"], attempts, error, until)
        await self.store.write(lambda conn: postpone(conn, row["id"], until, attempts, error))

    async def _seconds_to_next(self) -> float:
        due = await next_due_at(self.store, self.kinds, self.chat_ids, self.subscriber_ids)
        if due is None:
            return IDLE_POLL
        return max(0.05, min(IDLE_POLL, (due - self.clock()).total_seconds()))

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
