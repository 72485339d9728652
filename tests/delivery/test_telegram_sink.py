"""bot/delivery/telegram_sink.py: one alert per story, edited for reposts, edits and deletions (real SQLite, fake sender)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from bot.delivery.senders import DryRunSender, LimitedSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.errors import ChatMigrated, RetryLater
from bot.models import Deletion, Match, Outgoing
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.worker import OutboxWorker
from bot.settings import load_settings
from bot.storage.alert_log import follow_deletion_alerts, follow_edit_alerts
from bot.storage.outbox import EDIT, MARK_DELETED, SEND, due_rows, enqueue_follow_ups
from bot.storage.posts import find_post_row
from bot.storage.subscribers import subscriber_by_id
from tests.factories import add_rule, add_subscriber, make_post, queue_alert
from tests.fakes import FakeSender

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
STORY = ("В Псковской области объявили частичную мобилизацию резервистов, повестки раздают "
         "прямо у проходной завода, сообщают местные жители")


@pytest.fixture
def settings():
    return load_settings(env={}, env_file=None, config_file=None)


@pytest.fixture
def sender():
    return FakeSender()


@pytest.fixture
def sink(store, sender, settings):
    return TelegramAlertSink(store, sender, settings, clock=lambda: NOW)


async def follow_up_edit(store, sink, post, still_matches, now, matches=None) -> int:
    """What Pipeline.on_edit does for alerts already sent, then the worker's delivery of the follow-ups;
    returns the alert messages edited."""

    async def follow(conn):
        row = await find_post_row(conn, post.channel_id, post.message_id)
        shown = await follow_edit_alerts(conn, post, still_matches, now, matches)
        return await enqueue_follow_ups(conn, shown, row["id"], EDIT, now)

    await store.write(follow)
    return await deliver_follow_ups(store, sink)


async def follow_up_deletion(store, sink, deletion) -> int:
    """What Pipeline.on_delete does for alerts already sent, then the delivery of the follow-ups."""

    async def follow(conn):
        for message_id in deletion.message_ids:
            row = await find_post_row(conn, deletion.channel_id, message_id)
            shown = await follow_deletion_alerts(conn, deletion.channel_id, (message_id,), deletion.at)
            if row is not None:
                await enqueue_follow_ups(conn, shown, row["id"], MARK_DELETED, deletion.at)

    await store.write(follow)
    return await deliver_follow_ups(store, sink)


async def deliver_follow_ups(store, sink) -> int:
    """Deliver the due follow-up rows through the real worker (the send rows were delivered by hand)."""
    worker = OutboxWorker(store, lambda _sub: sink, lambda: NOW)
    return sum([await worker.deliver_row(row) for row in await due_rows(store, NOW) if row["action"] != SEND])


def story_post(channel: str, channel_id: int, message_id: int, text: str = STORY, **fields):
    return make_post(channel=channel, channel_title=channel.title(), channel_id=channel_id,
                     message_id=message_id, text=text, **fields)


async def test_first_alert_is_sent_with_buttons_and_rule_title(store, sink, sender):
    sub = await add_subscriber(store)
    await add_rule(store, "mob", title="Мобилизация")
    alert = await queue_alert(store, sub, story_post("pskov", -1001, 1))
    message_id = await sink.deliver(alert)
    [sent] = sender.sent
    assert message_id == 1 and sent.chat_id == 42 and sent.edit_message_id is None
    assert "<b>мобилизацию</b>" in sent.html and "Мобилизация" in sent.html
    assert sent.buttons[0][0].data.startswith("fb:+:")


async def test_low_severity_alert_is_silent(store, sink, sender):
    sub = await add_subscriber(store)
    alert = await queue_alert(store, sub, story_post("pskov", -1001, 1), (Match("mob", severity="low"),))
    await sink.deliver(alert)
    assert sender.sent[0].silent


async def test_repost_across_three_channels_makes_one_alert_edited_twice(store, sink, sender):
    sub = await add_subscriber(store)
    first = await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    copy = story_post("second_chan", -1002, 7, text="Срочно! " + STORY + " https://t.me/second_chan")
    forward = story_post("third_chan", -1003, 9, fwd_from_channel_id=-1001, fwd_from_message_id=1,
                         text="переслано")
    assert await sink.deliver(await queue_alert(store, sub, copy)) == first
    assert await sink.deliver(await queue_alert(store, sub, forward)) == first
    new, *edits = sender.sent
    assert new.edit_message_id is None
    assert [e.edit_message_id for e in edits] == [first, first]
    assert "also in 1 channel:" in edits[0].html
    assert "@second_chan" in edits[1].html and "@third_chan" in edits[1].html and "also in 2 channels:" in edits[1].html


async def test_a_repost_in_the_same_channel_names_no_channel_and_counts_no_extra_one(store, sink, sender):
    sub = await add_subscriber(store)
    first = await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    again = story_post("pskov", -1001, 5, fwd_from_channel_id=-1001, fwd_from_message_id=1, text="переслано")
    assert await sink.deliver(await queue_alert(store, sub, again)) == first
    edit = sender.sent[-1]
    assert "also in" not in edit.html and "channel:" not in edit.html
    assert "posted again in this channel" in edit.html


async def test_edit_keeps_buttons_and_excerpt(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    await sink.deliver(await queue_alert(store, sub, story_post("other_chan", -1002, 2)))
    new, edit = sender.sent
    assert edit.buttons == new.buttons
    assert new.html.split("\n\n", 1)[1] == edit.html.split("\n\n", 1)[1]


async def test_same_story_for_another_subscriber_is_a_new_alert(store, sink, sender):
    one, two = await add_subscriber(store, 42), await add_subscriber(store, 43)
    await sink.deliver(await queue_alert(store, one, story_post("pskov", -1001, 1)))
    await sink.deliver(await queue_alert(store, two, story_post("other_chan", -1002, 2)))
    assert [m.edit_message_id for m in sender.sent] == [None, None]


async def test_copy_outside_the_window_is_a_new_alert(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    later = story_post("other_chan", -1002, 2, date=make_post().date + timedelta(hours=25))
    await sink.deliver(await queue_alert(store, sub, later))
    assert [m.edit_message_id for m in sender.sent] == [None, None]


async def test_different_story_is_a_new_alert(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    other = story_post("other_chan", -1002, 2, text="В Пскове прошёл митинг против мобилизации, задержаны трое")
    await sink.deliver(await queue_alert(store, sub, other))
    assert [m.edit_message_id for m in sender.sent] == [None, None]


async def test_delivering_the_same_post_again_sends_nothing(store, sink, sender):
    sub = await add_subscriber(store)
    alert = await queue_alert(store, sub, story_post("pskov", -1001, 1))
    first = await sink.deliver(alert)
    assert await sink.deliver(alert) == first
    assert len(sender.sent) == 1


async def test_failed_grouping_edit_is_redone_on_retry(store, sink, sender):
    sub = await add_subscriber(store)
    first = await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    copy = await queue_alert(store, sub, story_post("other_chan", -1002, 2))
    sender.fail(42, RetryLater(3))
    with pytest.raises(RetryLater):
        await sink.deliver(copy)
    assert await sink.deliver(copy) == first
    assert sender.sent[-1].edit_message_id == first and "@other_chan" in sender.sent[-1].html


async def test_edit_that_removes_the_match_edits_the_alert(store, sink, sender):
    sub = await add_subscriber(store)
    post = story_post("pskov", -1001, 1)
    first = await sink.deliver(await queue_alert(store, sub, post))
    edited_post = story_post("pskov", -1001, 1, text="Новость обновлена: речь шла об учениях")
    assert await follow_up_edit(store, sink, edited_post, still_matches=False, now=NOW) == 1
    edit = sender.sent[-1]
    assert edit.edit_message_id == first
    assert "edited: no longer matches" in edit.html
    assert "<b>мобилизацию</b>" in edit.html  # the excerpt that was alerted stays


async def test_edit_that_still_matches_shows_the_new_text(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    new_text = "Уточнение: мобилизация касается только офицеров запаса"
    start = new_text.index("мобилизация")
    edited_post = story_post("pskov", -1001, 1, text=new_text)
    matches = (Match("mob", spans=((start, start + 11),)),)
    count = await follow_up_edit(store, sink, edited_post, True, NOW, matches=matches)
    assert count == 1
    assert "Уточнение" in sender.sent[-1].html and "✏️ <b>edited</b>" in sender.sent[-1].html


async def test_edit_that_still_matches_without_new_spans_sends_nothing(store, sink, sender):
    sub = await add_subscriber(store)
    post = story_post("pskov", -1001, 1)
    await sink.deliver(await queue_alert(store, sub, post))
    assert await follow_up_edit(store, sink, post, True, NOW) == 0
    assert len(sender.sent) == 1


async def test_deleted_post_edits_the_alert_and_keeps_the_excerpt(store, sink, sender):
    sub = await add_subscriber(store)
    first = await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    at = datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc)
    assert await follow_up_deletion(store, sink, Deletion(-1001, (1, 2), at)) == 1
    edit = sender.sent[-1]
    assert edit.edit_message_id == first
    assert "deleted by the channel at 01.05.2024 18:00 MSK" in edit.html
    assert "<b>мобилизацию</b>" in edit.html


async def test_deleting_a_post_never_alerted_edits_nothing(store, sink, sender):
    assert await follow_up_deletion(store, sink, Deletion(-1001, (5,), NOW)) == 0
    assert sender.sent == []


async def test_follow_up_survives_a_failed_edit(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    sender.fail(42, RuntimeError("network down"))
    assert await follow_up_deletion(store, sink, Deletion(-1001, (1,), NOW)) == 0
    await sink.deliver(await queue_alert(store, sub, story_post("other_chan", -1002, 2)))
    assert "deleted by the channel" in sender.sent[-1].html  # state was kept for the next edit


async def test_channel_subscribers_get_no_buttons(store, sink, sender):
    sub = await add_subscriber(store, -100777, kind="channel")
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    assert sender.sent[0].buttons == ()


async def test_deleted_copy_is_marked_in_also_in(store, sink, sender):
    sub = await add_subscriber(store)
    first = await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    await sink.deliver(await queue_alert(store, sub, story_post("other_chan", -1002, 2)))
    assert await follow_up_deletion(store, sink, Deletion(-1002, (2,), NOW)) == 1
    edit = sender.sent[-1]
    assert edit.edit_message_id == first
    assert "@other_chan</a> (deleted)" in edit.html and "deleted by the channel" not in edit.html


async def test_a_second_deletion_notice_edits_nothing(store, sink, sender):
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    await follow_up_deletion(store, sink, Deletion(-1001, (1,), NOW))
    assert await follow_up_deletion(store, sink, Deletion(-1001, (1,), NOW)) == 0


class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limited(sender, clock: FakeClock, max_wait: float = 0.5) -> LimitedSender:
    return LimitedSender(sender, RateLimiter(1.0, 20, 30), max_wait=max_wait,
                         monotonic=clock.monotonic, sleep=clock.sleep)


async def test_limited_sender_postpones_a_second_message_to_one_chat(sender):
    clock = FakeClock()
    out = limited(sender, clock)
    await out.send(Outgoing(chat_id=42, html="one"))
    with pytest.raises(RetryLater) as caught:
        await out.send(Outgoing(chat_id=42, html="two"))
    assert caught.value.seconds == 1.0
    assert await out.send(Outgoing(chat_id=43, html="other chat")) == 2


async def test_limited_sender_sleeps_short_waits(sender):
    clock = FakeClock()
    out = limited(sender, clock, max_wait=2.0)
    await out.send(Outgoing(chat_id=42, html="one"))
    await out.send(Outgoing(chat_id=42, html="two"))
    assert clock.slept == [1.0] and len(sender.sent) == 2


async def test_flood_wait_pauses_only_that_chat(sender):
    clock = FakeClock()
    out = limited(sender, clock)
    sender.fail(42, RetryLater(30))
    with pytest.raises(RetryLater):
        await out.send(Outgoing(chat_id=42, html="one"))
    clock.now = 5.0
    with pytest.raises(RetryLater) as caught:
        await out.send(Outgoing(chat_id=42, html="again"))
    assert caught.value.seconds == 25.0
    assert await out.send(Outgoing(chat_id=43, html="others go on")) == 1


async def test_migrated_group_moves_the_subscriber_and_gets_the_alert(store, sink, sender):
    sub = await add_subscriber(store, -555, kind="group")
    sender.fail(-555, ChatMigrated(-555, -1000000000999))
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    assert [m.chat_id for m in sender.sent] == [-1000000000999]
    assert (await subscriber_by_id(store, sub.id)).chat_id == -1000000000999


async def test_dry_run_prints_the_html_and_edits_instead_of_sending(store, settings):
    out = io.StringIO()
    sink = TelegramAlertSink(store, DryRunSender(out), settings, clock=lambda: NOW)
    sub = await add_subscriber(store)
    await sink.deliver(await queue_alert(store, sub, story_post("pskov", -1001, 1)))
    await sink.deliver(await queue_alert(store, sub, story_post("other_chan", -1002, 2)))
    printed = out.getvalue()
    assert "--- to chat 42: message 1" in printed and "--- to chat 42: edit of message 1" in printed
    assert "<b>мобилизацию</b>" in printed and "[👍 relevant -> fb:+:" in printed
