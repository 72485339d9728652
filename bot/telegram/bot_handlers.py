"""Telethon routing for bot commands, and nothing else: "/…" messages and inline-button
presses go to bot.commands.router; its Reply goes back to the chat through the
Sender (the same rate-limited chain as alerts; a CSV file goes as a document), and
Reply.notify messages go out through it too. A command sent in a forum topic is
answered in that topic (Ctx.topic_id; /subscribe binds the chat's alerts there). One CommandThrottle limits commands per
user and per chat; the bot's own @name (read once) tells which commands are ours.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from telethon import events

from bot.clock import Clock, utc_now
from bot.commands import Ctx, Reply, dispatch, dispatch_callback
from bot.commands.throttle import CommandThrottle
from bot.models import Outgoing, SubscriberKind
from bot.delivery.senders import Sender
from bot.storage.db import Store
from bot.telegram.convert import forum_topic_id

log = logging.getLogger(__name__)
FAILED = "Something went wrong; the error was logged. Try again later."


def install_bot_handlers(
    client, store: Store, settings, sender: Sender, *,
    on_rules_changed: Callable[[], Awaitable[None]] | None = None,
    clock: Clock = utc_now,
) -> None:
    """Route commands and button presses of the bot client `client` to the router."""
    throttle = CommandThrottle()
    me: dict[str, str | None] = {}

    async def bot_username() -> str | None:
        if "name" not in me:
            try:
                me["name"] = getattr(await client.get_me(), "username", None)
            except Exception:  # not connected (tests) or Telegram refused: "/cmd@any" is not ours
                log.warning("cannot read the bot's own username; commands addressed to a bot are ignored")
                return None
        return me["name"]

    async def make_ctx(event) -> Ctx:
        chat = await event.get_chat()
        kind = SubscriberKind.USER if event.is_private else (
            SubscriberKind.CHANNEL if event.is_channel and not event.is_group else SubscriberKind.GROUP)
        return Ctx(
            store=store, settings=settings, chat_id=event.chat_id, user_id=event.sender_id or 0, now=clock(),
            chat_kind=kind, chat_title=_title(chat), is_chat_admin=await _is_admin(client, event),
            on_rules_changed=on_rules_changed, throttle=throttle,
            bot_username=await bot_username() if "@" in (getattr(event, "raw_text", "") or "") else None,
            topic_id=_topic_of(event),
        )

    @client.on(events.NewMessage(pattern=r"^/", incoming=True))
    async def on_command(event) -> None:
        try:
            reply = await dispatch(await make_ctx(event), event.raw_text)
        except Exception:
            log.exception("command %r in chat %s failed", event.raw_text[:80], event.chat_id)
            reply = Reply(FAILED)
        if reply is not None:
            await _respond(event, reply, sender)

    @client.on(events.CallbackQuery())
    async def on_button(event) -> None:
        try:
            reply = await dispatch_callback(await make_ctx(event), event.data.decode(errors="replace"))
        except Exception:
            log.exception("button %r in chat %s failed", event.data[:64], event.chat_id)
            reply = Reply(FAILED)
        await event.answer()
        if reply is not None:
            await _respond(event, reply, sender)


def _topic_of(event) -> int | None:
    """The forum topic a command came from (replies go back there); None for button presses, whose
    message is not at hand without another request."""
    return forum_topic_id(event.message) if isinstance(event, events.NewMessage.Event) else None


def _title(chat) -> str:
    title = getattr(chat, "title", None)
    if title:
        return title
    names = [getattr(chat, "first_name", None), getattr(chat, "last_name", None)]
    return " ".join(n for n in names if n) or (getattr(chat, "username", None) or "")


async def _is_admin(client, event) -> bool:
    if event.is_private:
        return True
    try:
        permissions = await client.get_permissions(event.chat_id, event.sender_id)
        return bool(permissions.is_admin or permissions.is_creator)
    except Exception:  # anonymous admins, channels: treat as not admin
        log.debug("cannot read permissions in %s", event.chat_id, exc_info=True)
        return False


async def _respond(event, reply: Reply, sender: Sender) -> None:
    answer = Outgoing(event.chat_id, reply.html, buttons=reply.buttons, document=reply.file, topic_id=_topic_of(event))
    try:
        await sender.send(answer)  # a CSV file too: the same rate-limited chain as alerts
    except Exception:  # over the rate limit for long, or Telegram refused: the user may ask again
        log.warning("could not answer chat %s", event.chat_id, exc_info=True)
    for message in reply.notify:
        try:
            await sender.send(message)
        except Exception:
            log.warning("could not notify chat %s", message.chat_id, exc_info=True)
