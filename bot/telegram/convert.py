"""Telethon messages become our Post (and our Button rows Telethon's); no Telethon object
leaves this package.

A post's text is the plain message or caption (what `raw_text` gives). Albums
(media sharing a grouped_id) become one post under their first message id,
with the caption of whichever item has one.
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


def message_to_post(message, username: str | None = None, title: str | None = None, late: bool = False) -> Post:
    """One channel message as our Post."""
    channel_id = marked_id(message.peer_id)
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
    )


def album_to_post(messages: Sequence, username: str | None = None, title: str | None = None,
                  late: bool = False) -> Post:
    """Items of one album as one post: first id, the caption(s), the most views."""
    ordered = sorted(messages, key=lambda m: m.id)
    first = ordered[0]
    captions = [m.message for m in ordered if m.message]
    post = message_to_post(first, username, title, late)
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
                     late: bool = False) -> Post:
    if len(group) == 1 and getattr(group[0], "grouped_id", None) is None:
        return message_to_post(group[0], username, title, late)
    return album_to_post(group, username, title, late)


def make_deletion(channel_id: int, message_ids: Iterable[int], at: datetime) -> Deletion:
    return Deletion(channel_id=channel_id, message_ids=tuple(sorted(message_ids)), at=at)
