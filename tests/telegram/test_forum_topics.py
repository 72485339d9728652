"""Forum topics: /subscribe sent inside a topic of a forum group binds the group's alerts and digests to that
topic, and they are sent there (Telethon's send_message(reply_to=topic)). The commands arrive as hand-built
updates from a forum topic through the real Telethon dispatch (OfflineClient); what is sent is captured as
the Telegram requests Telethon builds."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from telethon import functions, types, utils

from bot.delivery.telegram_sink import TelegramAlertSink
from bot.digest.jobs import send_digest
from bot.models import Match
from bot.settings import load_settings
from bot.storage import access
from bot.storage.subscribers import subscriber_by_chat
from bot.telegram.bot_handlers import install_bot_handlers
from bot.telegram.convert import forum_topic_id
from bot.telegram.sender import TelegramSender
from tests.factories import add_rule, make_post, queue_alert
from tests.fakes import FakeSender
from tests.telegram.offline import OfflineClient, make_group, make_user, member_message

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)
FORUM = make_group(bare_id=3344556677, username=None, title="Редакция", forum=True)
FORUM_ID = utils.get_peer_id(FORUM)
EDITOR = make_user(1001, "Olga", "Editor")  # an admin of the group (not of Dozor)
TOPIC = 42  # the topic's top message id


@pytest.fixture
def settings():
    return load_settings(env={}, env_file=None, config_file=None)


@pytest.fixture
async def forum_subscriber(store):
    await store.write(lambda c: access.add_subscriber(c, FORUM_ID, "test", NOW, kind="group", title="Редакция"))


def bot(store, settings, sender) -> OfflineClient:
    client = OfflineClient(FORUM, users=(EDITOR,))
    client.admins.add(EDITOR.id)
    install_bot_handlers(client, store, settings, sender, clock=lambda: NOW)
    return client


async def say(client, message) -> None:
    await client.push(types.UpdateNewChannelMessage(message=message, pts=message.id, pts_count=1))


def test_the_topic_of_a_message_is_read_from_its_reply_header():
    assert forum_topic_id(member_message(FORUM, 50, "hi", EDITOR, topic=TOPIC)) == TOPIC
    assert forum_topic_id(member_message(FORUM, 51, "hi", EDITOR, topic=TOPIC, reply_to_msg=49)) == TOPIC
    assert forum_topic_id(member_message(FORUM, 52, "hi", EDITOR)) is None  # General
    plain_reply = member_message(FORUM, 53, "hi", EDITOR, reply_to=types.MessageReplyHeader(reply_to_msg_id=50))
    assert forum_topic_id(plain_reply) is None  # a reply in a group without topics


async def test_subscribe_sent_in_a_forum_topic_binds_that_topic_and_is_answered_there(
        store, settings, forum_subscriber):
    sender = FakeSender()
    client = bot(store, settings, sender)
    await say(client, member_message(FORUM, 50, "/subscribe", EDITOR, topic=TOPIC))
    sub = await subscriber_by_chat(store, FORUM_ID, active_only=True)
    [answer] = sender.sent
    assert sub.topic_id == TOPIC
    assert answer.chat_id == FORUM_ID and answer.topic_id == TOPIC and "this topic" in answer.html


async def test_a_reply_inside_a_topic_binds_the_topic_not_the_replied_message(store, settings, forum_subscriber):
    client = bot(store, settings, FakeSender())
    await say(client, member_message(FORUM, 60, "/subscribe", EDITOR, topic=TOPIC, reply_to_msg=57))
    assert (await subscriber_by_chat(store, FORUM_ID, active_only=True)).topic_id == TOPIC


async def test_subscribe_in_general_moves_the_alerts_back_to_the_chat_itself(store, settings, forum_subscriber):
    sender = FakeSender()
    client = bot(store, settings, sender)
    await say(client, member_message(FORUM, 50, "/subscribe", EDITOR, topic=TOPIC))
    await say(client, member_message(FORUM, 51, "/subscribe", EDITOR))
    assert (await subscriber_by_chat(store, FORUM_ID, active_only=True)).topic_id is None
    assert sender.sent[-1].topic_id is None and "chat itself" in sender.sent[-1].html


async def test_a_member_who_is_not_a_group_admin_cannot_move_the_alerts(store, settings, forum_subscriber):
    sender = FakeSender()
    client = bot(store, settings, sender)
    client.admins.clear()
    await say(client, member_message(FORUM, 50, "/subscribe", EDITOR, topic=TOPIC))
    assert (await subscriber_by_chat(store, FORUM_ID, active_only=True)).topic_id is None
    assert "Only this group's admins" in sender.sent[0].html


async def test_alerts_to_a_topic_subscriber_are_sent_into_the_topic(store, settings, forum_subscriber):
    client = bot(store, settings, FakeSender())
    await say(client, member_message(FORUM, 50, "/subscribe", EDITOR, topic=TOPIC))
    sub = await subscriber_by_chat(store, FORUM_ID, active_only=True)
    await add_rule(store, "mob", "мобилизация")
    post = make_post(text="Объявлена мобилизация", channel_id=-1001, message_id=7)
    alert = await queue_alert(store, sub, post, (Match("mob", spans=((9, 21),)),))
    sink = TelegramAlertSink(store, TelegramSender(client), settings, clock=lambda: NOW)
    await sink.deliver(alert)
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert utils.get_peer_id(request.peer) == FORUM_ID
    assert isinstance(request.reply_to, types.InputReplyToMessage) and request.reply_to.reply_to_msg_id == TOPIC


async def test_the_digest_of_a_topic_subscriber_goes_into_the_topic(store, settings, forum_subscriber):
    client = bot(store, settings, FakeSender())
    await say(client, member_message(FORUM, 50, "/subscribe", EDITOR, topic=TOPIC))
    sub = await subscriber_by_chat(store, FORUM_ID, active_only=True)
    sender = FakeSender()
    assert await send_digest(store, sender, sub, date(2024, 5, 10), NOW)
    assert sender.sent and {m.topic_id for m in sender.sent} == {TOPIC}
    await send_digest(store, TelegramSender(client), sub, date(2024, 5, 9), NOW)
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert request.reply_to.reply_to_msg_id == TOPIC


async def test_a_chat_without_a_topic_gets_plain_messages(store, settings, forum_subscriber):
    client = OfflineClient(FORUM)
    sub = await subscriber_by_chat(store, FORUM_ID, active_only=True)
    await send_digest(store, TelegramSender(client), sub, date(2024, 5, 9), NOW)
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert request.reply_to is None
