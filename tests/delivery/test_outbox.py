from datetime import datetime, timedelta, timezone

from bot.errors import Forbidden, RetryLater
from bot.delivery.worker import OutboxWorker, backoff_seconds
from bot.pipeline import Pipeline
from bot.storage.outbox import outbox_rows
from bot.storage.subscribers import subscriber_by_chat, subscriber_by_id
from tests.factories import add_subscriber, default_rules, make_post
from tests.storage.faults import hide_outbox, restore_outbox

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class RecordingSink:
    """Records delivered alerts; can be told to raise for the next deliveries."""

    def __init__(self, *errors):
        self.alerts = []
        self.errors = list(errors)

    async def deliver(self, alert):
        if self.errors:
            raise self.errors.pop(0)
        self.alerts.append(alert)
        return 100 + len(self.alerts)


async def subscribe(store, chat_id):
    return (await add_subscriber(store, chat_id, created=NOW)).id


async def enqueue_posts(store, clock, *texts):
    pipeline = Pipeline(store, default_rules(), clock)
    for text in texts:
        await pipeline.on_post(make_post(text=text))


def worker_for(store, clock, sinks, max_attempts=3):
    return OutboxWorker(store, lambda subscriber: sinks[subscriber.chat_id], clock, max_attempts)


async def status_of(store):
    return [(r["status"], r["attempts"], r["sent_message_id"]) for r in await outbox_rows(store)]


async def test_due_rows_are_delivered_and_marked_sent_with_message_id(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация", "отказ")
    sink = RecordingSink()
    assert await worker_for(store, clock, {1: sink}).run_until_idle() == 2
    assert await status_of(store) == [("sent", 0, 101), ("sent", 0, 102)]
    assert [a.matches[0].rule_id for a in sink.alerts] == ["mobilization", "refusals"]


async def test_alert_carries_post_subscriber_and_spans(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "Идёт мобилизация")
    sink = RecordingSink()
    await worker_for(store, clock, {1: sink}).run_until_idle()
    alert = sink.alerts[0]
    assert alert.post.text == "Идёт мобилизация" and alert.post.channel == "pskovgubernia"
    assert alert.subscriber.chat_id == 1 and alert.matches[0].spans == ((5, 12),)


async def test_sent_rows_are_not_delivered_again(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    sink = RecordingSink()
    worker = worker_for(store, clock, {1: sink})
    await worker.run_until_idle()
    assert await worker.run_until_idle() == 0
    assert len(sink.alerts) == 1


async def test_retry_later_postpones_only_that_row(store):
    clock = Clock()
    await subscribe(store, 1)
    await subscribe(store, 2)
    await enqueue_posts(store, clock, "мобилизация")
    slow, fine = RecordingSink(RetryLater(30)), RecordingSink()
    worker = worker_for(store, clock, {1: slow, 2: fine})
    assert await worker.run_until_idle() == 1
    assert len(fine.alerts) == 1 and slow.alerts == []
    clock.now += timedelta(seconds=29)
    assert await worker.run_until_idle() == 0
    clock.now += timedelta(seconds=1)
    assert await worker.run_until_idle() == 1 and len(slow.alerts) == 1


async def test_retry_later_does_not_count_as_a_failed_attempt(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    await worker_for(store, clock, {1: RecordingSink(RetryLater(5))}).run_until_idle()
    assert await status_of(store) == [("pending", 0, None)]


async def test_forbidden_parks_the_row_and_deactivates_the_subscriber(store):
    clock = Clock()
    sid = await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    await worker_for(store, clock, {1: RecordingSink(Forbidden(1))}).run_until_idle()
    assert (await status_of(store))[0][0] == "parked"
    assert (await subscriber_by_id(store, sid)).active is False


async def test_failures_back_off_exponentially(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    worker = worker_for(store, clock, {1: RecordingSink(TimeoutError(), TimeoutError())}, max_attempts=5)
    await worker.run_until_idle()
    first = (await outbox_rows(store))[0]["next_attempt_at"]
    clock.now += timedelta(seconds=backoff_seconds(1))
    await worker.run_until_idle()
    second = (await outbox_rows(store))[0]["next_attempt_at"]
    assert datetime.fromisoformat(first) == NOW + timedelta(seconds=2)
    assert datetime.fromisoformat(second) == clock.now + timedelta(seconds=4)


async def test_row_is_parked_with_last_error_after_max_attempts(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    worker = worker_for(store, clock, {1: RecordingSink(*[ValueError("boom")] * 3)}, max_attempts=3)
    for _ in range(3):
        await worker.run_until_idle()
        clock.now += timedelta(hours=2)
    [row] = await outbox_rows(store)
    assert (row["status"], row["attempts"], row["last_error"]) == ("parked", 3, "ValueError: boom")


async def test_pending_rows_resume_with_a_new_worker(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация", "отказ")
    crashed = RecordingSink(RuntimeError("crash"))
    await worker_for(store, clock, {1: crashed}).run_until_idle()
    clock.now += timedelta(hours=1)
    restarted = RecordingSink()
    await worker_for(store, clock, {1: restarted}).run_until_idle()
    delivered = [a.post.text for a in crashed.alerts + restarted.alerts]
    assert sorted(delivered) == ["мобилизация", "отказ"]


async def test_kinds_limits_delivery_to_those_subscribers(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    worker = OutboxWorker(store, lambda s: RecordingSink(), clock, 3, kinds=("local",))
    assert await worker.run_until_idle() == 0
    assert (await status_of(store))[0][0] == "pending"


async def test_live_loop_delivers_after_notify_and_stops(store):
    import asyncio

    clock = Clock()
    await subscribe(store, 1)
    sink = RecordingSink()
    worker = worker_for(store, clock, {1: sink})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    pipeline = Pipeline(store, default_rules(), clock, notify=worker.notify)
    await pipeline.on_post(make_post(text="мобилизация"))
    for _ in range(100):
        if sink.alerts:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(sink.alerts) == 1


class LimitedSink:
    """Delivers through the real LimitedSender on a fake clock (a 0.6 s gap per chat)."""

    def __init__(self, fake):
        from bot.delivery.senders import LimitedSender
        from bot.delivery.ratelimit import RateLimiter
        from tests.fakes import FakeSender

        self.sender = FakeSender()
        self.limited = LimitedSender(self.sender, RateLimiter(per_chat=1 / 0.6), monotonic=fake.monotonic,
                                     sleep=fake.sleep)

    async def deliver(self, alert):
        from bot.models import Outgoing

        return await self.limited.send(Outgoing(chat_id=alert.subscriber.chat_id, html="alert"))


async def test_a_rate_limited_row_is_retried_once_after_the_limiters_delay_and_logged_once(store, caplog):
    import logging

    from tests.fakes import FakeClock

    fake = FakeClock(NOW)
    await subscribe(store, 1)
    await enqueue_posts(store, fake.now, "мобилизация", "отказ")
    sink = LimitedSink(fake)
    worker = OutboxWorker(store, lambda subscriber: sink, fake.now)
    passes, waits = 0, []
    with caplog.at_level(logging.DEBUG, logger="bot.delivery.worker"):
        while len(sink.sender.sent) < 2 and passes < 100:
            passes += 1
            wait = await worker.pass_once()
            waits.append(wait)
            fake.seconds += wait  # the live loop sleeps this long
    assert len(sink.sender.sent) == 2 and passes == 2
    assert waits[0] >= 0.6 - 1e-6  # never sooner than the limiter said
    assert len([r for r in caplog.records if r.levelno >= logging.INFO and "postponed" in r.getMessage()]) == 1
    by_id = {row["id"]: row for row in await outbox_rows(store)}
    assert by_id[2]["next_attempt_at"] == "2024-05-01T10:00:00.600000+00:00"


async def test_the_live_loop_survives_a_failed_database_read_and_delivers_after(store):
    import asyncio

    clock = Clock()
    await subscribe(store, 1)
    await hide_outbox(store)
    sink = RecordingSink()
    worker = worker_for(store, clock, {1: sink})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert not task.done()  # both the pass and the wait computation failed; the loop lives
    await restore_outbox(store)
    await enqueue_posts(store, clock, "мобилизация")
    worker.notify()
    for _ in range(400):
        if sink.alerts:
            break
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(sink.alerts) == 1


async def test_a_removed_subscriber_gets_no_queued_alert_and_its_rows_are_parked_with_the_reason(store):
    from bot.storage import access

    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация", "отказ")
    assert await store.write(lambda c: access.remove_subscriber(c, 1, "cli", NOW))
    sink = RecordingSink()
    assert await worker_for(store, clock, {1: sink}).run_until_idle() == 0
    assert sink.alerts == []
    rows = await outbox_rows(store)
    assert [(r["status"], r["reason"]) for r in rows] == [("parked", "subscriber removed by cli")] * 2


async def test_rows_of_an_inactive_subscriber_are_never_due_nor_loaded(store):
    from bot.storage.outbox import due_rows, load_alert, next_due_at
    from bot.storage.subscribers import deactivate_subscriber

    clock = Clock()
    sub_id = await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация")
    [row] = await due_rows(store, NOW)
    await store.write(lambda c: deactivate_subscriber(c, sub_id))
    assert await due_rows(store, NOW) == [] and await next_due_at(store) is None
    assert await load_alert(store, row) is None


async def test_forbidden_parks_the_subscribers_other_pending_rows_too(store):
    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация", "отказ")
    sink = RecordingSink(Forbidden(1, "UserIsBlocked"))
    await worker_for(store, clock, {1: sink}).run_until_idle()
    assert sink.alerts == []
    assert [r["status"] for r in await outbox_rows(store)] == ["parked", "parked"]


async def test_a_chat_we_cannot_find_keeps_the_subscriber_and_its_rows_and_is_logged_once(store, caplog):
    import logging

    from bot.errors import ChatUnresolved

    clock = Clock()
    await subscribe(store, 1)
    await enqueue_posts(store, clock, "мобилизация", "отказ")
    unresolved = ChatUnresolved("@my_alerts", "Could not find the input entity", setting="DOZOR_ALERT_CHAT")
    sink = RecordingSink(unresolved, unresolved)
    worker = worker_for(store, clock, {1: sink})
    with caplog.at_level(logging.WARNING, logger="bot.delivery.worker"):
        assert await worker.run_until_idle() == 0
    assert (await subscriber_by_chat(store, 1, active_only=False)).active
    assert [(r["status"], r["attempts"]) for r in await outbox_rows(store)] == [("pending", 0)] * 2
    [line] = [r.getMessage() for r in caplog.records]
    assert "DOZOR_ALERT_CHAT" in line
    clock.now += timedelta(hours=1)
    assert await worker.run_until_idle() == 2  # the setting fixed (or the cache filled): both go out
