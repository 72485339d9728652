"""bot/telegram/sender.py through a real TelegramClient that never connects.

`__call__` is overridden to capture every request (SendMessage, EditMessage,
SendMedia, uploads, GetChats) and to answer it or raise the Telethon error a
test asks for. The chats are put in the session's entity table, so no
ResolveUsername / GetUsers request is needed.
"""
from __future__ import annotations

import itertools
from collections import deque
from datetime import datetime, timezone

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.sessions import MemorySession

from bot.errors import ChatMigrated, Forbidden, RetryLater
from bot.models import Button, Outgoing
from bot.telegram.sender import SendFailed, TelegramSender, TelegramUserSender, make_sender

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
READER = 42  # a private chat with the bot
CHANNEL = -1000000000777  # a channel where the bot is an admin
OLD_GROUP = -555  # a basic group that became the supergroup with bare id 999


class CapturingClient(TelegramClient):
    def __init__(self) -> None:
        super().__init__(MemorySession(), 1, "0" * 32)
        self.requests: list = []
        self.errors: deque[BaseException] = deque()
        self._ids = itertools.count(100)
        self._mb_entity_cache.set_self_user(4242, True, 0)  # as after login (get_me)
        self._mb_entity_cache.extend([types.User(id=4242, access_hash=1, is_self=True, first_name="Me")], [])
        user = types.User(id=READER, access_hash=99, first_name="Reporter")
        channel = types.Channel(id=777, title="Alerts", photo=types.ChatPhotoEmpty(), date=T0,
                                access_hash=5, broadcast=True)
        self.session.process_entities(types.contacts.ResolvedPeer(None, [channel], [user]))

    async def __call__(self, request, ordered=False, flood_sleep_threshold=None):
        self.requests.append(request)
        if self.errors:
            raise self.errors.popleft()
        if isinstance(request, functions.messages.SendMessageRequest):
            return types.UpdateShortSentMessage(id=next(self._ids), pts=1, pts_count=1, date=T0, out=True)
        if isinstance(request, functions.messages.EditMessageRequest):
            edited = types.Message(id=request.id, peer_id=types.PeerUser(READER), date=T0, message=request.message)
            return types.Updates([types.UpdateEditMessage(edited, 1, 1)], [], [], T0, 0)
        if isinstance(request, functions.upload.SaveFilePartRequest):
            return True
        if isinstance(request, functions.messages.SendMediaRequest):
            new = types.Message(id=next(self._ids), peer_id=types.PeerUser(READER), date=T0, message=request.message)
            return types.Updates([types.UpdateMessageID(new.id, request.random_id),
                                  types.UpdateNewMessage(new, 1, 1)], [], [], T0, 0)
        if isinstance(request, functions.messages.GetChatsRequest):
            old = types.Chat(id=-OLD_GROUP, title="Old group", photo=types.ChatPhotoEmpty(), participants_count=3,
                             date=T0, version=1, deactivated=True,
                             migrated_to=types.InputChannel(999, 1))
            return types.messages.Chats([old])
        raise AssertionError(f"unexpected request {type(request).__name__}")

    def sent(self, kind: type) -> list:
        return [r for r in self.requests if isinstance(r, kind)]


def callback_data(button) -> bytes:
    """KeyboardButtonCallback.data, or KeyboardInlineButton.type.data in newer layers."""
    return button.data if hasattr(button, "data") else button.type.data


@pytest.fixture
def client():
    return CapturingClient()


def outgoing(**fields) -> Outgoing:
    fields.setdefault("chat_id", READER)
    fields.setdefault("html", "<b>мобилизация</b> 👍 &amp; <a href=\"https://t.me/x/1\">post</a>")
    return Outgoing(**fields)


async def test_send_uses_html_no_preview_and_returns_the_message_id(client):
    message_id = await TelegramSender(client).send(outgoing())
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert message_id == 100
    assert request.message == "мобилизация 👍 & post"
    assert request.no_webpage and not request.silent
    assert [type(e).__name__ for e in request.entities] == ["MessageEntityBold", "MessageEntityTextUrl"]
    assert isinstance(request.peer, types.InputPeerUser) and request.peer.access_hash == 99


async def test_silent_and_buttons_reach_the_request(client):
    rows = ((Button("👍 relevant", "fb:+:5:mob"), Button("👎 not relevant", "fb:-:5:mob")),)
    await TelegramSender(client).send(outgoing(silent=True, buttons=rows))
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert request.silent
    assert [callback_data(b) for b in request.reply_markup.rows[0].buttons] == [b"fb:+:5:mob", b"fb:-:5:mob"]


async def test_edit_sends_an_edit_request_for_that_message(client):
    message_id = await TelegramSender(client).send(outgoing(edit_message_id=77, html="also in: <b>@a</b>"))
    [request] = client.sent(functions.messages.EditMessageRequest)
    assert message_id == 77 and request.id == 77 and request.message == "also in: @a"
    assert request.no_webpage


async def test_edit_that_changes_nothing_is_a_success(client):
    client.errors.append(errors.MessageNotModifiedError(None))
    assert await TelegramSender(client).send(outgoing(edit_message_id=77)) == 77


async def test_photo_goes_as_media_with_an_html_caption(client):
    message_id = await TelegramSender(client).send(outgoing(photo=b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    [request] = client.sent(functions.messages.SendMediaRequest)
    assert message_id == 100 and request.message == "мобилизация 👍 & post"


async def test_a_message_for_a_forum_topic_goes_into_the_topic_text_and_chart_alike(client):
    await TelegramSender(client).send(outgoing(chat_id=CHANNEL, topic_id=42))
    await TelegramSender(client).send(outgoing(chat_id=CHANNEL, topic_id=42, photo=b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    [text] = client.sent(functions.messages.SendMessageRequest)
    [chart] = client.sent(functions.messages.SendMediaRequest)
    assert text.reply_to.reply_to_msg_id == 42 and chart.reply_to.reply_to_msg_id == 42


async def test_the_user_account_ignores_topics_and_sends_to_its_alert_chat(client):
    await TelegramUserSender(client, "me").send(outgoing(chat_id=CHANNEL, topic_id=42))
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert request.reply_to is None


async def test_a_document_goes_as_a_named_file_with_an_html_caption(client):
    message_id = await TelegramSender(client).send(outgoing(document=("dozor-alerts.csv", b"post,link\r\n")))
    [request] = client.sent(functions.messages.SendMediaRequest)
    assert message_id == 100 and request.message == "мобилизация 👍 & post"
    assert isinstance(request.media, types.InputMediaUploadedDocument)
    names = [a.file_name for a in request.media.attributes if isinstance(a, types.DocumentAttributeFilename)]
    assert names == ["dozor-alerts.csv"]


async def test_channel_chat_is_resolved_from_the_session(client):
    await TelegramSender(client).send(outgoing(chat_id=CHANNEL))
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert isinstance(request.peer, types.InputPeerChannel) and request.peer.channel_id == 777


async def test_flood_wait_becomes_retry_later_with_its_seconds(client):
    client.errors.append(errors.FloodWaitError(None, capture=37))
    with pytest.raises(RetryLater) as caught:
        await TelegramSender(client).send(outgoing())
    assert caught.value.seconds == 37


async def test_blocked_bot_becomes_forbidden_for_that_chat(client):
    client.errors.append(errors.UserIsBlockedError(None))
    with pytest.raises(Forbidden) as caught:
        await TelegramSender(client).send(outgoing())
    assert caught.value.chat_id == READER


async def test_write_forbidden_in_a_channel_becomes_forbidden(client):
    client.errors.append(errors.ChatWriteForbiddenError(None))
    with pytest.raises(Forbidden):
        await TelegramSender(client).send(outgoing(chat_id=CHANNEL))


async def test_unknown_user_becomes_forbidden(client):
    client.errors.append(errors.PeerIdInvalidError(None))  # GetUsers(access_hash=0) for an id not in the session
    with pytest.raises(Forbidden):
        await TelegramSender(client).send(outgoing(chat_id=31337))


async def test_migrated_group_reports_its_new_id(client):
    client.errors.append(errors.PeerIdInvalidError(None))
    with pytest.raises(ChatMigrated) as caught:
        await TelegramSender(client).send(outgoing(chat_id=OLD_GROUP))
    assert (caught.value.chat_id, caught.value.new_chat_id) == (OLD_GROUP, -1000000000999)


async def test_other_errors_become_a_plain_retryable_failure(client):
    client.errors.append(errors.RPCError(None, "INTERNAL_SERVER_ERROR", 500))
    with pytest.raises(SendFailed):
        await TelegramSender(client).send(outgoing())


async def test_user_account_sends_to_saved_messages_without_buttons(client):
    rows = ((Button("👍", "fb:+:5:mob"),),)
    await TelegramUserSender(client, "me").send(outgoing(chat_id=12345, buttons=rows))
    [request] = client.sent(functions.messages.SendMessageRequest)
    assert isinstance(request.peer, types.InputPeerSelf) and request.reply_markup is None


async def test_user_account_reports_forbidden_for_the_subscriber_chat(client):
    client.errors.append(errors.ChatWriteForbiddenError(None))
    with pytest.raises(Forbidden) as caught:
        await TelegramUserSender(client, str(CHANNEL)).send(outgoing(chat_id=12345))
    assert caught.value.chat_id == 12345


def test_make_sender_picks_the_bot_only_with_a_token(client):
    class Settings:
        tg_bot_token, alert_chat = None, "me"

    assert type(make_sender(Settings, client)) is TelegramUserSender
    Settings.tg_bot_token = "123:abc"
    assert type(make_sender(Settings, client)) is TelegramSender


class UserAccountClient(CapturingClient):
    """The same offline client logged in as a user account (not a bot): unknown ids are not looked up."""

    def __init__(self) -> None:
        super().__init__()
        self._mb_entity_cache.set_self_user(4242, False, 1)

    async def __call__(self, request, ordered=False, flood_sleep_threshold=None):
        if isinstance(request, functions.users.GetUsersRequest):  # Telegram knows no such user for us
            self.requests.append(request)
            return []
        return await super().__call__(request, ordered, flood_sleep_threshold)


async def test_an_alert_chat_telethon_cannot_find_is_a_setting_problem_not_a_forbidding_chat():
    from bot.errors import ChatUnresolved

    sender = TelegramUserSender(UserAccountClient(), "31337")  # an id the account has never seen
    with pytest.raises(ChatUnresolved) as caught:
        await sender.send(outgoing(chat_id=31337))
    assert caught.value.setting == "DOZOR_ALERT_CHAT" and "Could not find the input entity" in str(caught.value)
    assert not isinstance(caught.value, Forbidden)


async def test_a_subscriber_chat_the_bot_cannot_find_is_unresolved_not_forbidden(client):
    from bot.errors import ChatUnresolved

    client.errors.append(ValueError("Could not find the input entity for PeerUser(user_id=31337)"))
    with pytest.raises(ChatUnresolved) as caught:
        await TelegramSender(client).send(outgoing(chat_id=31337))
    assert caught.value.chat == 31337 and caught.value.setting is None


@pytest.mark.parametrize("error", ["AuthKeyInvalidError", "UserDeactivatedError", "UserDeactivatedBanError",
                                   "AuthKeyUnregisteredError", "SessionRevokedError"])
async def test_a_dead_session_is_session_invalid_for_the_sender_as_for_the_watcher(client, error):
    from bot.errors import SessionInvalid
    from bot.telegram.errors import translate

    exc = getattr(errors, error)(None)
    assert isinstance(translate(exc), SessionInvalid)
    client.errors.append(exc)
    with pytest.raises(SessionInvalid):
        await TelegramSender(client).send(outgoing())
