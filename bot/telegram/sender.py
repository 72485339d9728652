"""The real senders: Telethon behind bot.delivery.senders.Sender, errors translated where they come in.

`TelegramSender(client)` is for a client logged in as the bot: it sends to the
subscriber's chat. `TelegramUserSender(client, alert_chat)` is for the user
account when there is no bot token: every message goes to its Saved Messages
("me") or to settings.alert_chat, without buttons (only bots can send them).
`make_sender(settings, client)` picks one.

Both send HTML with link previews off, `silent` as asked, inline buttons, a
PNG as a photo with the HTML as its caption, and edits when
`Outgoing.edit_message_id` is set, into a forum topic when `Outgoing.topic_id`
is set (`reply_to` the topic's top message). Telethon errors become ours:
FloodWait/SlowModeWait -> RetryLater(seconds); blocked, kicked, private or
chats Telegram refuses -> Forbidden(chat_id); a chat Telethon cannot find
(ValueError "Could not find the input entity": our lookup or DOZOR_ALERT_CHAT,
not the chat's doing) -> ChatUnresolved; a basic group that became a
supergroup -> ChatMigrated(old, new); a dead session -> SessionInvalid;
anything else -> SendFailed (a plain Exception: retry with backoff). The
error table itself is bot/telegram/errors.py's, shared with the watcher.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from telethon import errors as tg
from telethon import functions, types, utils

from bot.errors import ChatMigrated, ChatUnresolved, ConfigError, Forbidden, RetryLater, SessionInvalid
from bot.models import Outgoing, SubscriberKind
from bot.telegram.convert import inline_buttons
from bot.telegram.errors import (
    FLOOD, SEND_FORBIDDEN, SEND_MAYBE_MIGRATED, SESSION_DEAD, is_unknown_entity, translate, translated,
)

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """Telegram refused or could not be reached for a reason worth retrying later."""




class TelegramSender:
    """bot.delivery.senders.Sender over a Telethon client logged in as the bot."""

    buttons_allowed = True

    def __init__(self, client) -> None:
        self.client = client

    async def send(self, message: Outgoing) -> int:
        """Send (or edit) `message`; return the Telegram message id."""
        try:
            return await self._send(message)
        except (Forbidden, RetryLater, ChatMigrated, SessionInvalid, ChatUnresolved):
            raise
        except tg.MessageNotModifiedError:  # an edit that changes nothing has done its job
            return message.edit_message_id
        except (*FLOOD, *SESSION_DEAD) as exc:
            raise translate(exc, f"chat {message.chat_id}") from exc
        except SEND_FORBIDDEN as exc:
            raise Forbidden(message.chat_id, type(exc).__name__.removesuffix("Error")) from exc
        except SEND_MAYBE_MIGRATED as exc:
            raise await self._migrated_or_forbidden(message.chat_id, exc) from exc
        except Exception as exc:
            if is_unknown_entity(exc):  # our lookup failed (cache, setting), not the chat refusing us
                raise self.unresolved(message, exc) from exc
            raise SendFailed(f"chat {message.chat_id}: {type(exc).__name__}: {exc}") from exc

    def target(self, message: Outgoing):
        """The chat to send to (the user account sends everything to one chat)."""
        return message.chat_id

    def unresolved(self, message: Outgoing, exc: BaseException) -> ChatUnresolved:
        return ChatUnresolved(message.chat_id, str(exc).split(". ")[0])

    def topic(self, message: Outgoing) -> int | None:
        """The forum topic to post into: Telegram files a reply to a topic's top message under that topic."""
        return message.topic_id

    async def _send(self, message: Outgoing) -> int:
        target = self.target(message)
        buttons = inline_buttons(message.buttons) if self.buttons_allowed else None
        if message.edit_message_id is not None:
            await self.client.edit_message(
                target, message.edit_message_id, message.html, parse_mode="html",
                link_preview=message.link_preview, buttons=buttons,
            )
            return message.edit_message_id
        if message.photo is not None or message.document is not None:
            name, data = ("chart.png", message.photo) if message.photo is not None else message.document
            upload = io.BytesIO(data)
            upload.name = name
            sent = await self.client.send_file(
                target, upload, caption=message.html, parse_mode="html", silent=message.silent, buttons=buttons,
                force_document=message.document is not None, reply_to=self.topic(message),
            )
        else:
            sent = await self.client.send_message(
                target, message.html, parse_mode="html", link_preview=message.link_preview,
                silent=message.silent, buttons=buttons, reply_to=self.topic(message),
            )
        return sent.id

    async def _migrated_or_forbidden(self, chat_id: int, exc: BaseException) -> Exception:
        """A basic group that became a supergroup says where it went; anything else is forbidden."""
        kind = type(exc).__name__.removesuffix("Error")
        if not (chat_id < 0 and not str(chat_id).startswith("-100")):
            return Forbidden(chat_id, kind)
        try:
            result = await self.client(functions.messages.GetChatsRequest(id=[-chat_id]))
        except Exception as lookup_error:  # the lookup is a courtesy; the chat is unusable either way
            log.info("could not look up chat %s after %s: %s", chat_id, kind, lookup_error)
            return Forbidden(chat_id, kind)
        for chat in getattr(result, "chats", []):
            moved = getattr(chat, "migrated_to", None)
            if isinstance(moved, types.InputChannel):
                return ChatMigrated(chat_id, utils.get_peer_id(types.PeerChannel(moved.channel_id)))
        return Forbidden(chat_id, kind)


class TelegramUserSender(TelegramSender):
    """The user account sends alerts to itself ("me") or to one chat; no buttons."""

    buttons_allowed = False

    def __init__(self, client, alert_chat: str | int = "me") -> None:
        super().__init__(client)
        self.alert_chat = _chat_ref(alert_chat)

    def target(self, message: Outgoing):
        return self.alert_chat

    def topic(self, message: Outgoing) -> int | None:
        return None  # everything goes to the one alert chat

    def unresolved(self, message: Outgoing, exc: BaseException) -> ChatUnresolved:
        return ChatUnresolved(self.alert_chat, str(exc).split(". ")[0], setting="DOZOR_ALERT_CHAT")


@dataclass(frozen=True)
class AlertChat:
    """DOZOR_ALERT_CHAT resolved at start: the chat the user account sends every alert to."""

    chat_id: int  # marked peer id (the account's own id for Saved Messages)
    kind: str  # user | group | channel
    title: str


async def resolve_alert_chat(client, value: str | int) -> AlertChat:
    """Find DOZOR_ALERT_CHAT with the connected user account; ConfigError naming the setting if it cannot."""
    ref = _chat_ref(value)
    try:
        async with translated(f"DOZOR_ALERT_CHAT {value!r}"):
            entity = await client.get_entity(ref)
    except (SessionInvalid, RetryLater):
        raise
    except Exception as exc:  # unknown name or id, no access: the setting is wrong
        detail = str(exc).split(". ")[0] or type(exc).__name__
        raise ConfigError(f"DOZOR_ALERT_CHAT={value!r} cannot be found by the user account ({detail}): "
                          "use me (Saved Messages), @name or a chat id the account is in") from exc
    chat_id = utils.get_peer_id(entity)
    if isinstance(entity, types.User):
        kind, title = SubscriberKind.USER, "Saved Messages" if getattr(entity, "is_self", False) else utils.get_display_name(entity)
    else:
        kind = SubscriberKind.CHANNEL if getattr(entity, "broadcast", False) else SubscriberKind.GROUP
        title = utils.get_display_name(entity)
    return AlertChat(chat_id, kind, title or str(chat_id))


def make_sender(settings, client) -> TelegramSender:
    """The bot sender when a bot token is set, else the user account's."""
    if settings.tg_bot_token:
        return TelegramSender(client)
    return TelegramUserSender(client, settings.alert_chat)


def _chat_ref(value: str | int) -> str | int:
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return text or "me"
