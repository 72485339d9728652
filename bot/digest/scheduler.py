"""Daily digests on time: one APScheduler cron job per subscriber, in its own time zone.

The only module that imports APScheduler (3.x). On start, a digest missed while
the bot was down is sent if its time passed less than DOZOR_DIGEST_GRACE_HOURS
ago, and skipped with a log line otherwise. Once-only is enforced by
send_digest's record in digests_sent, so restarts never resend.

Webhook and Apprise subscribers get digests too when the scheduler is given
their senders (`target_senders`, kind -> Sender: the same rate-limited
transports as their alerts). A target's digest that failed is tried again
every TARGET_RETRY until it is sent or the grace period has passed (a chat's
sender already waits out Telegram's limits itself).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Mapping

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock, utc_now
from bot.digest.jobs import digest_period, last_due_day, send_digest
from bot.models import TARGET_KINDS, Subscriber, SubscriberKind
from bot.delivery.senders import Sender
from bot.storage.db import Store
from bot.storage.digests import digest_was_sent
from bot.storage.subscribers import active_subscribers_created, subscriber_by_id

log = logging.getLogger(__name__)
FIRE_TOLERANCE = timedelta(minutes=1)  # a job woken a little early still counts as on time
TARGET_RETRY = timedelta(minutes=5)  # a webhook or Apprise digest that failed is tried again this much later


def digest_trigger(subscriber: Subscriber) -> CronTrigger:
    """Every day at the subscriber's digest time in its time zone."""
    hours, minutes = (int(part) for part in subscriber.digest_time.split(":"))
    return CronTrigger(hour=hours, minute=minutes, timezone=subscriber.tz)


def job_id(subscriber_id: int) -> str:
    return f"digest:{subscriber_id}"


def retry_job_id(subscriber_id: int) -> str:
    return f"digest-retry:{subscriber_id}"


class DigestScheduler:
    """Schedules and sends daily digests. `clock()` returns the current aware UTC time."""

    def __init__(self, store: Store, sender: Sender, settings, clock: Clock = utc_now,
                 include_local: bool = False, target_senders: Mapping[SubscriberKind, Sender] | None = None):
        self.store = store
        self.sender = sender
        self.target_senders = dict(target_senders or {})  # webhook/Apprise kind -> its sender; none: no digests
        self.clock = clock
        self.grace = timedelta(hours=settings.digest_grace_hours)
        self.threshold = settings.dedup_threshold
        self.include_local = include_local  # replay sinks (kind 'local') get no daily digest by default
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)

    async def start(self) -> None:
        """Schedule every active subscriber, send digests missed while down, start the timer."""
        for subscriber, created in await active_subscribers_created(self.store):
            if not self.wants_digest(subscriber):
                continue
            self._add_job(subscriber)
            try:
                await self.catch_up(subscriber, created)
            except Exception:  # one subscriber's failure never stops the others
                log.exception("catching up the digest of subscriber %s failed", subscriber.id)
        self._scheduler.start()
        log.info("digest scheduler started with %d jobs", len(self._scheduler.get_jobs()))

    def reschedule(self, subscriber: Subscriber) -> None:
        """Replace the subscriber's job (after /tz or a new digest time); drop it when inactive."""
        if self._scheduler.get_job(job_id(subscriber.id)) is not None:
            self._scheduler.remove_job(job_id(subscriber.id))
        if subscriber.active and self.wants_digest(subscriber):
            self._add_job(subscriber)

    def wants_digest(self, subscriber: Subscriber) -> bool:
        """Chats do; a replay's local sink only with include_local; a target when its sender is known."""
        if subscriber.kind in TARGET_KINDS:
            return subscriber.kind in self.target_senders
        return subscriber.kind != SubscriberKind.LOCAL or self.include_local

    def sender_for(self, subscriber: Subscriber) -> Sender:
        return self.target_senders[subscriber.kind] if subscriber.kind in TARGET_KINDS else self.sender

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def next_run(self, subscriber_id: int, after: datetime | None = None) -> datetime | None:
        """When the subscriber's next digest is due after `after` (default: the clock's now)."""
        job = self._scheduler.get_job(job_id(subscriber_id))
        if job is None:
            return None
        return job.trigger.get_next_fire_time(None, after or self.clock())

    def _add_job(self, subscriber: Subscriber) -> None:
        self._scheduler.add_job(
            self.run_due, digest_trigger(subscriber), args=(subscriber.id,), id=job_id(subscriber.id),
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=int(self.grace.total_seconds()) or None,
        )

    async def run_due(self, subscriber_id: int) -> bool:
        """The job body: send the digest that is due now, if still wanted. Never raises."""
        subscriber = await subscriber_by_id(self.store, subscriber_id)
        if subscriber is None or not subscriber.active:
            return False
        now = self.clock()
        day = last_due_day(now + FIRE_TOLERANCE, subscriber.digest_time, subscriber.tz)
        try:
            return await send_digest(self.store, self.sender_for(subscriber), subscriber, day, now, self.threshold)
        except Exception:
            log.exception("digest for subscriber %s on %s was not sent", subscriber_id, day)
            if subscriber.kind in TARGET_KINDS:
                self._retry_later(subscriber, day, now)
            return False

    def _retry_later(self, subscriber: Subscriber, day, now: datetime) -> None:
        """Try a target's digest again TARGET_RETRY later, while within the grace period of its due time."""
        _, due = digest_period(day, subscriber.digest_time, subscriber.tz)  # sent at its time, whatever it covers
        at = now + TARGET_RETRY
        if at - due >= self.grace:
            log.warning("giving up the digest of subscriber %s for %s: still failing %s after it was due",
                        subscriber.id, day, now - due)
            return
        self._scheduler.add_job(self.run_due, DateTrigger(run_date=at), args=(subscriber.id,),
                                id=retry_job_id(subscriber.id), replace_existing=True)
        log.info("digest of subscriber %s for %s: trying again at %s", subscriber.id, day, at)

    def retry_at(self, subscriber_id: int) -> datetime | None:
        """When a failed target digest is tried again, or None."""
        job = self._scheduler.get_job(retry_job_id(subscriber_id))
        return None if job is None else job.trigger.run_date

    async def catch_up(self, subscriber: Subscriber, created: datetime | None = None) -> bool:
        """Send the latest due digest if it was missed less than the grace period ago."""
        now = self.clock()
        day = last_due_day(now, subscriber.digest_time, subscriber.tz)
        _, due = digest_period(day, subscriber.digest_time, subscriber.tz)
        if created is not None and created > due:
            return False  # the subscriber did not exist yet when it was due
        if await digest_was_sent(self.store, subscriber.id, day):
            return False
        late = now - due
        if late >= self.grace:
            log.info("skipping the digest of subscriber %s for %s: missed by %s, grace is %s",
                     subscriber.id, day, late, self.grace)
            return False
        log.info("sending the digest of subscriber %s for %s, missed by %s", subscriber.id, day, late)
        return await send_digest(self.store, self.sender_for(subscriber), subscriber, day, now, self.threshold)
