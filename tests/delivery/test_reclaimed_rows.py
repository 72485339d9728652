"""A claimer that died mid-delivery on a shared store (PostgreSQL): once its claim lapses another
process's worker takes the row again. Delivery is at least once: a message sent but not yet in the
alert log is sent again; one already in the alert log (the crash came before the row was marked
sent) is only marked sent, never sent twice (TelegramAlertSink.deliver looks the post up first)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.settings import load_settings
from bot.storage import Store
from bot.storage.outbox import claim_due_rows, load_alert, outbox_rows
from tests.factories import add_subscriber, make_post, queue_alert
from tests.fakes import FakeSender

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
CLAIM = 60.0


class Killed(BaseException):
    """The process dies here (SIGKILL): nothing after it runs."""


class SendsThenDies(FakeSender):
    async def send(self, message) -> int:
        await super().send(message)
        raise Killed()


def sink(store: Store, sender, at: datetime) -> TelegramAlertSink:
    return TelegramAlertSink(store, sender, load_settings(env={}, env_file=None, config_file=None), clock=lambda: at)


async def claimed_by_a_dying_process(url: str, sender) -> tuple[Store, Store]:
    """Process a claims the one queued row and starts delivering it through `sender`."""
    a, b = await Store.open(url), await Store.open(url)
    sub = await add_subscriber(a, chat_id=100)
    await queue_alert(a, sub, make_post(message_id=7, date=NOW - timedelta(minutes=1)))
    row, = await claim_due_rows(a, NOW, 10, claim_seconds=CLAIM)
    alert = await load_alert(a, row)
    try:
        await sink(a, sender, NOW).deliver(alert)  # sent, and in the alert log; never marked sent
    except Killed:
        pass
    return a, b


async def reclaim(b: Store, sender: FakeSender) -> list:
    """Process b's worker, before the claim lapses and after; the outbox rows at the end."""
    early = OutboxWorker(b, lambda _sub: sink(b, sender, NOW), clock=lambda: NOW + timedelta(seconds=CLAIM / 2))
    assert await early.run_until_idle() == 0 and sender.calls == []  # the dead claimer's claim still holds
    later = NOW + timedelta(seconds=CLAIM + 1)
    await OutboxWorker(b, lambda _sub: sink(b, sender, later), clock=lambda: later).run_until_idle()
    return await outbox_rows(b)


async def test_a_row_in_the_alert_log_but_not_marked_sent_is_marked_sent_not_sent_twice(pg_url):
    first = FakeSender()
    a, b = await claimed_by_a_dying_process(pg_url, first)
    try:
        again = FakeSender()
        row, = await reclaim(b, again)
        assert again.sent == [] and len(first.sent) == 1
        assert (row["status"], row["sent_message_id"], row["claimed_by"]) == ("sent", 1, None)
    finally:
        await a.close()
        await b.close()


async def test_a_row_sent_but_not_yet_logged_is_delivered_again_at_least_once(pg_url):
    first = SendsThenDies()
    a, b = await claimed_by_a_dying_process(pg_url, first)
    try:
        again = FakeSender()
        row, = await reclaim(b, again)
        assert len(first.sent) == 1 and len(again.sent) == 1  # the crash window: sent again, never lost
        assert (row["status"], row["claimed_by"]) == ("sent", None)
    finally:
        await a.close()
        await b.close()

