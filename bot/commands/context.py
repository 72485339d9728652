"""What a command handler gets (Ctx) and what it gives back (Reply)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Awaitable, Callable

from bot.models import Button, Outgoing, Subscriber, SubscriberKind
from bot.storage.db import Store

MAX_HTML = 4000  # Telegram's limit is 4,096 characters after entity parsing


@dataclass(frozen=True)
class Reply:
    """An answer in the same chat, plus optional messages to other chats (e.g. admins)."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    file: tuple[str, bytes] | None = None  # (file name, content), sent as a document
    notify: tuple[Outgoing, ...] = ()


@dataclass
class Ctx:
    """One incoming command: who sent it, from which chat, and the services it may use."""

    store: Store
    settings: Any  # bot.settings.Settings
    chat_id: int
    user_id: int
    now: datetime  # timezone-aware UTC
    chat_kind: SubscriberKind = SubscriberKind.USER  # never LOCAL
    chat_title: str = ""
    is_chat_admin: bool = True  # in a private chat the user is its admin
    on_rules_changed: Callable[[], Awaitable[None]] | None = None
    digest: Callable[[Subscriber, date], Awaitable[str]] | None = None
    lemmatize: Callable[[str], str] | None = None  # None = bot.text.lemma_text
    bot_username: str | None = None  # this bot's @name: "/cmd@OtherBot" is not for us
    throttle: Any = None  # bot.commands.throttle.CommandThrottle shared by every command, or None
    topic_id: int | None = None  # the forum topic the command was sent in (None: the chat / General)

    @property
    def actor(self) -> str:
        return f"tg:{self.user_id}"

    @property
    def is_group(self) -> bool:
        return self.chat_kind != SubscriberKind.USER


def clip(text: str, limit: int = MAX_HTML) -> str:
    """Cut HTML-free text to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join_lines(lines: list[str], limit: int = MAX_HTML) -> str:
    """Join whole lines (each already HTML) while the result stays under `limit`."""
    out, size = [], 0
    for line in lines:
        if size + len(line) + 1 > limit - 2:
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)
