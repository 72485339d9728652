"""Telethon routing for bot commands, and nothing else: "/…" messages and inline-button
presses go to bot.commands.router; its Reply goes back to the chat (HTML, buttons,
a CSV file), and Reply.notify messages go out through the Sender.
"""
from __future__ import annotations

import io
import logging
from typing import Awaitable, Callable

from telethon import events

from bot.clock import Clock, utc_now
from bot.commands import Ctx, Reply, dispatch, dispatch_callback
from bot.models import SubscriberKind
from bot.delivery.senders import Sender
from bot.storage.db import Store
from bot.telegram.convert import inline_buttons

log = logging.getLogger(__name__)
FAILED = "Something went wrong; the error was logged. Try again later."


def install_bot_handlers(
    client, store: Store, settings, sender: Sender, *,
    on_rules_changed: Callable[[], Awaitable[None]] | None = None,
    clock: Clock = utc_now,
) -> None:
    """Route commands and button presses of the bot client `client` to the router."""

    async def make_ctx(event) -> Ctx:
        chat = await event.get_chat()
        kind = SubscriberKind.USER if event.is_private else (
            SubscriberKind.CHANNEL if event.is_channel and not event.is_group else SubscriberKind.GROUP)
        return Ctx(
            store=store, settings=settings, chat_id=event.chat_id, user_id=event.sender_id or 0, now=clock(),
            chat_kind=kind, chat_title=_title(chat), is_chat_admin=await _is_admin(client, event),
            on_rules_changed=on_rules_changed,
        )

    @client.on(events.NewMessage(pattern=r"^/", incoming=True))
    async def on_command(event) -> None:
        try:
            reply = await dispatch(await make_ctx(event), event.raw_text)
        except Exception:
            log.exception("command %r in chat %s failed", event.raw_text[:80], event.chat_id)
            reply = Reply(FAILED)
        await _respond(event, reply, sender)

    @client.on(events.CallbackQuery())
    async def on_button(event) -> None:
        try:
            reply = await dispatch_callback(await make_ctx(event), event.data.decode(errors="replace"))
        except Exception:
            log.exception("button %r in chat %s failed", event.data[:64], event.chat_id)
            reply = Reply(FAILED)
        await event.answer()
        await _respond(event, reply, sender)


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
    if reply.file is not None:
        name, data = reply.file
        document = io.BytesIO(data)
        document.name = name
        await event.respond(reply.html, parse_mode="html", file=document, force_document=True)
    else:
        await event.respond(reply.html, parse_mode="html", buttons=inline_buttons(reply.buttons), link_preview=False)
    for message in reply.notify:
        try:
            await sender.send(message)
        except Exception:
            log.warning("could not notify chat %s", message.chat_id, exc_info=True)
