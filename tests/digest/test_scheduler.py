"""DigestScheduler wiring with a fake clock and APScheduler's trigger API; nothing sleeps."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot.digest.scheduler import DigestScheduler, digest_trigger
from bot.settings import load_settings
from bot.storage import Store


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


MOSCOW_NINE = utc(2024, 5, 10, 6)  # 09:00 in Moscow on 10 May


@pytest.fixture
def settings(tmp_path):
    return load_settings(env={"DOZOR_DIGEST_GRACE_HOURS": "6"}, env_file=None, config_file=None)


@pytest.fixture
async def make_scheduler(store, settings, sender):
    made = []

    def make(now: datetime, db=None):
        scheduler = DigestScheduler(db or store, sender, settings, clock=lambda: now)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown()
    await asyncio.sleep(0)  # let the scheduler's own shutdown callback run on this loop


def test_vladivostok_trigger_fires_at_its_local_nine():
    from bot.models import Subscriber
    trigger = digest_trigger(Subscriber(id=1, chat_id=1, tz="Asia/Vladivostok", digest_time="09:00"))
    fire = trigger.get_next_fire_time(None, utc(2024, 5, 10, 0))
    assert fire == utc(2024, 5, 10, 23)  # 09:00 on 11 May in Vladivostok (UTC+10)


async def test_start_schedules_each_active_subscriber_in_its_time_zone(store, rows, make_scheduler):
    moscow = await rows.subscriber(tz="Europe/Moscow")
    vlad = await rows.subscriber(tz="Asia/Vladivostok")
    gone = await rows.subscriber(active=False)
    scheduler = make_scheduler(utc(2024, 5, 10, 0))
    await scheduler.start()
    assert scheduler.next_run(moscow.id) == MOSCOW_NINE
    assert scheduler.next_run(vlad.id) == utc(2024, 5, 10, 23)
    assert scheduler.next_run(gone.id) is None


async def test_reschedule_after_tz_change_moves_the_next_run(store, rows, make_scheduler):
    sub = await rows.subscriber(tz="Europe/Moscow")
    scheduler = make_scheduler(utc(2024, 5, 10, 0))
    await scheduler.start()
    scheduler.reschedule(replace(sub, tz="Asia/Vladivostok"))
    assert scheduler.next_run(sub.id) == utc(2024, 5, 10, 23)


async def test_reschedule_of_inactive_subscriber_removes_its_job(store, rows, make_scheduler):
    sub = await rows.subscriber()
    scheduler = make_scheduler(utc(2024, 5, 10, 0))
    await scheduler.start()
    scheduler.reschedule(replace(sub, active=False))
    assert scheduler.next_run(sub.id) is None


async def test_job_sends_the_digest_due_now(store, rows, sender, make_scheduler):
    sub = await rows.subscriber()
    scheduler = make_scheduler(MOSCOW_NINE + timedelta(seconds=1))
    assert await scheduler.run_due(sub.id) is True
    assert await scheduler.run_due(sub.id) is False
    assert len(sender.to(sub.chat_id)) == 1


async def test_digest_missed_within_grace_is_sent_on_start(store, rows, sender, make_scheduler):
    sub = await rows.subscriber()
    await make_scheduler(MOSCOW_NINE + timedelta(hours=2)).start()
    assert len(sender.to(sub.chat_id)) == 1


async def test_digest_missed_beyond_grace_is_skipped_with_a_log_line(store, rows, sender, make_scheduler, caplog):
    sub = await rows.subscriber()
    with caplog.at_level(logging.INFO, logger="bot.digest.scheduler"):
        await make_scheduler(MOSCOW_NINE + timedelta(hours=7)).start()
    assert sender.to(sub.chat_id) == []
    assert any("skipping the digest" in r.getMessage() for r in caplog.records)


async def test_subscriber_created_after_the_digest_time_gets_no_catch_up(store, rows, sender, make_scheduler):
    sub = await rows.subscriber(created_at="2024-05-10T07:00:00+00:00")
    await make_scheduler(MOSCOW_NINE + timedelta(hours=2)).start()
    assert sender.to(sub.chat_id) == []


async def test_restart_over_the_same_database_does_not_resend(store, rows, sender, make_scheduler):
    sub = await rows.subscriber()
    now = MOSCOW_NINE + timedelta(hours=1)
    first = make_scheduler(now)
    await first.start()
    first.shutdown()
    reopened = await Store.open(store.path)
    try:
        await make_scheduler(now + timedelta(minutes=5), db=reopened).start()
    finally:
        await reopened.close()
    assert len(sender.to(sub.chat_id)) == 1
