"""Delivery lanes: Telegram and every webhook or Apprise target deliver independently of each other.

The outbox worker delivers its rows one after the other, so one slow target
(a webhook taking seconds to answer) would hold up every alert behind it.
`DeliveryLanes` runs the Telegram worker (the bot is one connection with one
rate limit) and one `TargetLane` per active webhook or Apprise subscriber,
each its own asyncio task over the same outbox: a slow or dead target delays
only its own rows. Lanes follow the subscribers table (checked on every
notify and every IDLE_POLL seconds): a new target gets a lane, a removed one
loses it.

A `TargetLane` is an OutboxWorker limited to one subscriber that, after a
failure, pauses the whole target (backoff_seconds of its failures in a row, or
a RetryLater's wait) instead of trying its next rows at once, and records
the target's health (bot/storage/targets.py) so the operators hear when it
keeps failing (bot/app/housekeeping.py). Retries, backoff, parking after
DOZOR_MAX_ATTEMPTS and at-least-once delivery are the worker's, unchanged.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from bot.delivery.worker import IDLE_POLL, OutboxWorker, backoff_seconds
from bot.storage.db import Store
from bot.storage.targets import active_target_ids, record_failure, record_success

log = logging.getLogger(__name__)
REFRESH_EVERY = 1.0  # seconds: the targets are read again at most this often when woken by new alerts


class TargetLane(OutboxWorker):
    """The worker of one webhook or Apprise subscriber; `monotonic` is injected for tests."""

    def __init__(self, *args, monotonic: Callable[[], float] = time.monotonic, **kwargs):
        super().__init__(*args, **kwargs)
        self.monotonic = monotonic
        self.failures = 0  # failed attempts in a row (this run)
        self.paused_until = 0.0
        self._health_known = False  # the stored failure count may be stale from an earlier run

    def held(self) -> bool:
        return self.monotonic() < self.paused_until

    async def after_success(self, row) -> None:
        if self.failures or not self._health_known:
            now = self.clock()
            await self.store.write(lambda conn: record_success(conn, row["subscriber_id"], now))
            self._health_known = True
            if self.failures:
                log.info("target subscriber %s delivers again after %d failures", row["subscriber_id"], self.failures)
        self.failures, self.paused_until = 0, 0.0

    async def after_failure(self, row, error: str, retry_after: float | None = None) -> None:
        if retry_after is not None:  # asked to wait (429 or our own rate limit): not a failure
            self.paused_until = max(self.paused_until, self.monotonic() + retry_after)
            return
        self.failures += 1
        self._health_known = True
        self.paused_until = self.monotonic() + backoff_seconds(self.failures)
        now = self.clock()
        await self.store.write(lambda conn: record_failure(conn, row["subscriber_id"], error, now))

    async def _seconds_to_next(self) -> float:
        wait = await super()._seconds_to_next()
        return max(wait, self.paused_until - self.monotonic())


class DeliveryLanes:
    """The Telegram worker (`main`, may be None) and a lane per target, with the OutboxWorker's interface."""

    def __init__(self, store: Store, main: OutboxWorker | None, make_lane: Callable[[int], TargetLane],
                 on_close: Callable | None = None):
        self.store = store
        self.main = main
        self.make_lane = make_lane
        self.on_close = on_close  # async, closes the targets' transports
        self.lanes: dict[int, TargetLane] = {}
        self._stops: dict[int, asyncio.Event] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._refreshed = float("-inf")  # monotonic time of the last look at the targets

    @property
    def delivered(self) -> int:
        return (self.main.delivered if self.main else 0) + sum(lane.delivered for lane in self.lanes.values())

    def notify(self) -> None:
        if self.main is not None:
            self.main.notify()
        for lane in self.lanes.values():
            lane.notify()
        self._wake.set()

    async def refresh(self) -> list[int]:
        """Give every active target a lane and drop the lanes of targets gone; the ids of new lanes."""
        wanted = set(await active_target_ids(self.store))
        for subscriber_id in set(self.lanes) - wanted:
            self.lanes.pop(subscriber_id)
            stop = self._stops.pop(subscriber_id, None)
            if stop is not None:
                stop.set()
        added = sorted(wanted - set(self.lanes))
        for subscriber_id in added:
            self.lanes[subscriber_id] = self.make_lane(subscriber_id)
        return added

    async def run_until_idle(self) -> int:
        """Every worker delivers what is due now, all at once; how many were sent."""
        await self.refresh()
        workers = [w for w in (self.main, *self.lanes.values()) if w is not None]
        return sum(await asyncio.gather(*(w.run_until_idle() for w in workers)))

    async def run(self, stop: asyncio.Event) -> None:
        """Run the Telegram worker and the lanes until `stop`; then close the transports."""
        main = asyncio.create_task(self.main.run(stop), name="outbox-telegram") if self.main else None
        try:
            while not stop.is_set():
                self._wake.clear()
                await self._follow_targets(stop)
                await _wait_any(stop, self._wake, IDLE_POLL)
                rest = REFRESH_EVERY - (time.monotonic() - self._refreshed)  # a burst of alerts: one look a second
                if rest > 0:
                    await _wait_any(stop, asyncio.Event(), rest)
        finally:
            for lane_stop in self._stops.values():
                lane_stop.set()
            await asyncio.gather(*[t for t in (main, *self._tasks.values()) if t is not None], return_exceptions=True)
            self._tasks.clear()
            if self.on_close is not None:
                await self.on_close()

    async def _follow_targets(self, stop: asyncio.Event) -> None:
        self._refreshed = time.monotonic()
        try:
            await self.refresh()
        except Exception:  # a failed read must not stop delivery: the lanes already running go on
            log.exception("reading the delivery targets failed; trying again in %gs", IDLE_POLL)
            return
        for subscriber_id, lane in self.lanes.items():
            if subscriber_id not in self._tasks or self._tasks[subscriber_id].done():
                self._stops[subscriber_id] = lane_stop = asyncio.Event()
                self._tasks[subscriber_id] = asyncio.create_task(
                    _run_lane(lane, stop, lane_stop), name=f"outbox-target-{subscriber_id}")
        for subscriber_id in [s for s in self._tasks if s not in self.lanes]:
            self._tasks.pop(subscriber_id)


async def _run_lane(lane: TargetLane, stop: asyncio.Event, lane_stop: asyncio.Event) -> None:
    """A lane runs until the app stops or its target is removed."""
    both = asyncio.Event()
    watcher = asyncio.create_task(_set_when_any(both, stop, lane_stop))
    try:
        await lane.run(both)
    finally:
        watcher.cancel()


async def _set_when_any(target: asyncio.Event, *events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        target.set()
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
