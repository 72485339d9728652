"""Telethon messages become our Post (and our Button rows Telethon's); no Telethon object
leaves this package.

A post's text is the plain message or caption (what `raw_text` gives). Albums
(media sharing a grouped_id) become one post under their first message id,
with the caption of whichever item has one. A group member's message keeps
its author only as a numeric id; the author's name (read from the sender
Telegram sends with the message) is kept only when `show_authors` is on for
that group (an admin's choice, `dozor channels set GROUP --show-authors`).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Iterable, Sequence

from telethon import Button as TgButton
from telethon import types, utils

from bot.formatting import post_link
from bot.models import Button, Deletion, Post


def inline_buttons(rows: Sequence[Sequence[Button]]) -> list[list[TgButton]] | None:
    """Our rows of buttons as Telethon inline buttons; None when there are none."""
    return [[TgButton.inline(b.text, b.data.encode("utf-8")) for b in row] for row in rows] or None


def marked_id(peer) -> int:
    """Telegram's marked id (-100… for channels) of a peer, entity or input peer."""
    return utils.get_peer_id(peer)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _has_media(message) -> bool:
    media = getattr(message, "media", None)
    return media is not None and not isinstance(media, (types.MessageMediaWebPage, types.MessageMediaEmpty))


def _forward_source(message) -> tuple[int | None, int | None]:
    header = getattr(message, "fwd_from", None)
    if header is None or not isinstance(getattr(header, "from_id", None), types.PeerChannel):
        return None, None
    return marked_id(header.from_id), getattr(header, "channel_post", None)


def is_post(message) -> bool:
    """True for a real post (text or media); service messages (pinned, title changed) are not.

    A group member's message counts as a post too: whether its chat may be read at all
    was decided once, when the chat was resolved (bot/telegram/channels.py)."""
    if not isinstance(message, types.Message):
        return False
    action = getattr(message, "action", None)  # newer layers fold service messages into Message
    return action is None or isinstance(action, types.MessageActionEmpty)


def message_author(message, show_authors: bool = False) -> tuple[int | None, str | None]:
    """(author id, author name) of a group member's message; (None, None) for a channel post. The name
    only with `show_authors`, and only when Telegram sent the sender with the message."""
    sender = getattr(message, "from_id", None)
    if getattr(message, "post", False) or not isinstance(sender, types.PeerUser):
        return None, None
    if not show_authors:
        return sender.user_id, None
    entity = getattr(message, "sender", None)
    name = utils.get_display_name(entity).strip() if isinstance(entity, types.User) else ""
    return sender.user_id, name or None


def message_to_post(message, username: str | None = None, title: str | None = None, late: bool = False,
                    show_authors: bool = False) -> Post:
    """One channel post (or a group member's message) as our Post."""
    channel_id = marked_id(message.peer_id)
    author_id, author_name = message_author(message, show_authors)
    fwd_channel, fwd_message = _forward_source(message)
    return Post(
        channel_id=channel_id,
        message_id=message.id,
        text=message.message or "",
        date=_utc(message.date),  # type: ignore[arg-type]
        channel=username,
        channel_title=title,
        link=post_link(channel_id, message.id, username),
        views=getattr(message, "views", None),
        forwards=getattr(message, "forwards", None),
        fwd_from_channel_id=fwd_channel,
        fwd_from_message_id=fwd_message,
        has_media=_has_media(message),
        grouped_id=getattr(message, "grouped_id", None),
        edit_date=_utc(getattr(message, "edit_date", None)),
        late=late,
        author_id=author_id,
        author_name=author_name,
    )


def album_to_post(messages: Sequence, username: str | None = None, title: str | None = None,
                  late: bool = False, show_authors: bool = False) -> Post:
    """Items of one album as one post: first id, the caption(s), the most views."""
    ordered = sorted(messages, key=lambda m: m.id)
    first = ordered[0]
    captions = [m.message for m in ordered if m.message]
    post = message_to_post(first, username, title, late, show_authors)
    views = [m.views for m in ordered if getattr(m, "views", None) is not None]
    edits = [d for d in (_utc(getattr(m, "edit_date", None)) for m in ordered) if d is not None]
    return replace(post, text="\n\n".join(captions), has_media=True, views=max(views) if views else post.views,
                   edit_date=max(edits) if edits else None)


def group_albums(messages: Iterable) -> list[list]:
    """Consecutive messages (oldest first) with one grouped_id go together; others alone."""
    groups: list[list] = []
    for message in messages:
        gid = getattr(message, "grouped_id", None)
        if gid is not None and groups and getattr(groups[-1][0], "grouped_id", None) == gid:
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def messages_to_post(group: Sequence, username: str | None = None, title: str | None = None,
                     late: bool = False, show_authors: bool = False) -> Post:
    if len(group) == 1 and getattr(group[0], "grouped_id", None) is None:
        return message_to_post(group[0], username, title, late, show_authors)
    return album_to_post(group, username, title, late, show_authors)


def forum_topic_id(message) -> int | None:
    """The forum topic a message was sent in (its top message id); None outside topics and in General.

    In a topic every message carries reply_to with forum_topic set: a plain message replies to the
    topic's top message (reply_to_msg_id), a reply to another message names the topic in reply_to_top_id."""
    header = getattr(message, "reply_to", None)
    if header is None or not getattr(header, "forum_topic", False):
        return None
    return getattr(header, "reply_to_top_id", None) or getattr(header, "reply_to_msg_id", None)


def make_deletion(channel_id: int, message_ids: Iterable[int], at: datetime) -> Deletion:
    return Deletion(channel_id=channel_id, message_ids=tuple(sorted(message_ids)), at=at)
