"""Which channel a user means, and resolving it once: the database caches id and access hash.

Accepted: @name, name, t.me/name, t.me/s/name, t.me/name/123 (a post link),
t.me/c/<id>/<msg> (a private post link), -100… ids. Invite links (t.me/+…,
t.me/joinchat/…) are refused with a hint. A username is looked up at most once
per database (Telegram allows about 200 lookups a day per account).

What may be watched is decided here, once, when a chat is resolved: a public
channel or group (one with a username) is watched; a private group or channel
(no username: members' messages or posts nobody outside can read) is stored
'unconfirmed' and watched only after an admin confirms it (/channel confirm,
`dozor channels add --confirm-private`). The watcher reads only active chats, so
every message it takes, a channel post or a group member's message, passed it.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime

from telethon import functions, types, utils

from bot.errors import UsageError
from bot.models import ChannelStatus
from bot.storage import accounts as access
from bot.storage import channels as db
from bot.storage.channels import ChannelRow
from bot.telegram.budget import Budget
from bot.telegram.errors import ChannelUnavailable, translated

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/", re.I)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    username: str | None = None
    channel_id: int | None = None  # marked (-100…)

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.channel_id)


def parse_channel_ref(text: str) -> ChannelRef:
    """What the user typed, as a username or a marked id. Raises UsageError if neither."""
    raw = text.strip()
    if _PREFIX.match(raw):
        return _parse_link(_PREFIX.sub("", raw).split("?")[0].strip("/"), raw)
    if re.fullmatch(r"-100\d{4,}", raw):
        return ChannelRef(channel_id=int(raw))
    if raw.isdigit():
        return ChannelRef(channel_id=utils.get_peer_id(types.PeerChannel(int(raw))))
    name = raw.removeprefix("@")
    if _USERNAME.match(name):
        return ChannelRef(username=name)
    raise UsageError(f"{text!r} is not a channel: write @name, t.me/name or a -100… id")


def _parse_link(path: str, raw: str) -> ChannelRef:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0].startswith("+") or parts[0] == "joinchat":
        raise UsageError(f"{raw} is an invite link to a private channel: join it with the account in "
                          "Telegram, then add it by its -100… id or a t.me/c/… post link")
    if parts[0] == "c" and len(parts) >= 2 and parts[1].isdigit():
        return ChannelRef(channel_id=utils.get_peer_id(types.PeerChannel(int(parts[1]))))
    if parts[0] == "s" and len(parts) >= 2:
        parts = parts[1:]
    if _USERNAME.match(parts[0]):
        return ChannelRef(username=parts[0])
    raise UsageError(f"{raw} is not a channel link: write t.me/name or t.me/c/<id>/<post>")


def input_peer(row: ChannelRow) -> types.InputPeerChannel:
    bare, _ = utils.resolve_id(row.id)
    return types.InputPeerChannel(bare, row.access_hash or 0)


def input_channel(row: ChannelRow) -> types.InputChannel:
    bare, _ = utils.resolve_id(row.id)
    return types.InputChannel(bare, row.access_hash or 0)


async def resolve(client, store, ref: ChannelRef, budget: Budget, actor: str = "system") -> ChannelRow:
    """The channel row for `ref`, from the cache when we have one, else asked once and cached."""
    cached = await (db.find_by_username(store, ref.username) if ref.username else db.get_channel(store, ref.channel_id))
    if cached is not None and cached.access_hash is not None:
        if cached.status in (ChannelStatus.REMOVED, ChannelStatus.UNRESOLVED, ChannelStatus.REPLAY):
            return await db.save_channel(store, cached.id, actor=actor, private=cached.username is None)
        return cached
    if ref.username:
        channel = await _lookup_username(client, ref.username, budget)
    else:
        channel = await _lookup_id(client, ref.channel_id, budget)
    return await db.save_channel(store, utils.get_peer_id(channel), username=public_username(channel),
                                 title=channel.title, access_hash=channel.access_hash, actor=actor,
                                 private=public_username(channel) is None)


def public_username(channel) -> str | None:
    """The chat's public @name (its main one, or the first active collectible one); None = private."""
    if getattr(channel, "username", None):
        return channel.username
    for name in getattr(channel, "usernames", None) or ():
        if getattr(name, "active", False) and getattr(name, "username", None):
            return name.username
    return None


async def resolve_for_account(client, store, row: ChannelRow, account: str, budget: Budget, now: datetime,
                              main: bool = False) -> ChannelRow:
    """The row carrying `account`'s own access hash, resolved by that account once and cached.

    The main account (TG_SESSION) may use channels.access_hash, which it resolved.
    Raises ChannelUnavailable when this account cannot read the channel."""
    known, access_hash, error = await access.access_for(store, account, row.id)
    if known and access_hash is None:
        raise ChannelUnavailable(row.label, error or ChannelStatus.PRIVATE, row.id)
    if known:
        return replace(row, access_hash=access_hash)
    if main and row.access_hash is not None:
        return row
    return await resolve_again(client, store, row, account, budget, now, main)


async def resolve_again(client, store, row: ChannelRow, account: str, budget: Budget, now: datetime,
                        main: bool = False) -> ChannelRow:
    """Ask Telegram again as `account` (a username costs one of the day's lookups); the answer is kept."""
    try:
        channel = await (_lookup_username(client, row.username, budget) if row.username
                         else _lookup_id(client, row.id, budget))
    except ChannelUnavailable as exc:
        await access.save_access(store, account, row.id, None, now, exc.kind)
        raise
    await access.save_access(store, account, row.id, channel.access_hash, now)
    if main:
        await db.save_channel(store, row.id, title=channel.title, access_hash=channel.access_hash, actor="system")
    return replace(row, access_hash=channel.access_hash, title=channel.title or row.title)


async def _lookup_username(client, name: str, budget: Budget) -> types.Channel:
    log.info("resolving @%s (one of about 200 lookups a day)", name)

    async def ask():
        async with translated(f"@{name}"):
            return await client(functions.contacts.ResolveUsernameRequest(name))

    found = await budget.run(ask, "resolve", f"resolve @{name}")
    for chat in found.chats:
        if isinstance(chat, types.Channel) and utils.get_peer_id(chat) == utils.get_peer_id(found.peer):
            return chat
    raise UsageError(f"@{name} is a user or a bot, not a channel")


async def _lookup_id(client, channel_id: int, budget: Budget) -> types.Channel:
    bare, _ = utils.resolve_id(channel_id)
    try:
        peer = await client.get_input_entity(types.PeerChannel(bare))  # the session's own cache, no request
    except ValueError:
        raise ChannelUnavailable(str(channel_id), "not_found", channel_id) from None

    async def ask():
        async with translated(str(channel_id), channel_id):
            return await client(functions.channels.GetChannelsRequest([utils.get_input_channel(peer)]))

    found = await budget.run(ask, "other", f"channel {channel_id}")
    for chat in found.chats:
        if isinstance(chat, types.Channel):
            return chat
    raise ChannelUnavailable(str(channel_id), ChannelStatus.PRIVATE, channel_id)


async def join(client, store, row: ChannelRow, account: str, budget: Budget) -> None:
    """Join so Telegram pushes the channel's posts (an account joins at most 500)."""
    async def ask():
        async with translated(row.label, row.id):
            return await client(functions.channels.JoinChannelRequest(input_channel(row)))

    await budget.run(ask, "join", f"join {row.label}")
    await db.assign_account(store, row.id, account, joined=True)
    log.info("account %s joined %s", account, row.label)
