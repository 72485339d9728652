"""A real Telethon client that never connects, plus builders for hand-made Telegram objects.

Updates go through Telethon's own `_dispatch_update`, so the real event
builders and filters run. Every outgoing request lands in `__call__`, which
answers GetHistory / ResolveUsername / GetChannels / JoinChannel / GetUsers /
GetMessagesViews / GetParticipant (who is an admin of a group) / SendMessage /
SendMedia from canned data and fails the test on anything else: nothing can
reach a network. Groups (`make_group`, forum topics too) and their members
(`make_user`, `member_message`) are built the same way as channels. The private attributes used here (`_dispatch_update`, `_entities`,
`_mb_entity_cache`) are stable across Telethon 1.30-1.45; keep them in this file.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone

from telethon import TelegramClient, functions, types, utils
from telethon.sessions import MemorySession

SELF_ID = 777000111
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def make_channel(bare_id: int = 1234567890, username: str | None = "pskovgubernia",
                 title: str = "Псковская губерния", access_hash: int = 555) -> types.Channel:
    return types.Channel(id=bare_id, title=title, photo=types.ChatPhotoEmpty(), date=T0,
                         broadcast=True, access_hash=access_hash, username=username)


def make_message(channel: types.Channel, msg_id: int, text: str = "", **fields) -> types.Message:
    fields.setdefault("date", T0 + timedelta(minutes=msg_id))
    return types.Message(id=msg_id, peer_id=types.PeerChannel(channel.id), message=text, post=True, **fields)


def make_group(bare_id: int = 2233445566, username: str | None = "soldiers_wives", title: str = "Жёны мобилизованных",
               access_hash: int = 777, forum: bool = False) -> types.Channel:
    """A supergroup (public when it has a username); `forum` = it has topics."""
    return types.Channel(id=bare_id, title=title, photo=types.ChatPhotoEmpty(), date=T0, broadcast=False,
                         megagroup=True, forum=forum, access_hash=access_hash, username=username)


def make_user(user_id: int = 5550001, first_name: str = "Мария", last_name: str | None = "Иванова",
              access_hash: int = 31337) -> types.User:
    return types.User(id=user_id, access_hash=access_hash, first_name=first_name, last_name=last_name)


def member_message(group: types.Channel, msg_id: int, text: str, user: types.User, topic: int | None = None,
                   reply_to_msg: int | None = None, **fields) -> types.Message:
    """A member's message in a group; in a forum topic when `topic` is its top message id (a reply to
    another message in the topic when `reply_to_msg` is given, as Telegram marks both)."""
    fields.setdefault("date", T0 + timedelta(minutes=msg_id))
    if topic is not None:
        fields["reply_to"] = types.MessageReplyHeader(
            forum_topic=True, reply_to_msg_id=reply_to_msg or topic, reply_to_top_id=topic if reply_to_msg else None)
    return types.Message(id=msg_id, peer_id=types.PeerChannel(group.id), message=text,
                         from_id=types.PeerUser(user.id), **fields)


def photo() -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(photo=types.PhotoEmpty(id=1))


def forward_from(channel: types.Channel, post_id: int) -> types.MessageFwdHeader:
    return types.MessageFwdHeader(date=T0, from_id=types.PeerChannel(channel.id), channel_post=post_id)


class OfflineClient(TelegramClient):
    """TelegramClient(MemorySession(), 1, "0"*32) answering requests from canned data."""

    def __init__(self, *channels: types.Channel, users: tuple[types.User, ...] = ()):
        super().__init__(MemorySession(), 1, "0" * 32)
        self.users = {u.id: u for u in users}
        self.admins: set[int] = set()  # user ids GetParticipant reports as a group's admins
        self._sent_ids = iter(range(9001, 10**6))
        self._mb_entity_cache.set_self_user(SELF_ID, False, 0)  # dispatch would ask get_me otherwise
        self.requests: list = []
        self.history: dict[int, list[types.Message]] = defaultdict(list)  # marked id -> messages
        self.channels = {utils.get_peer_id(c): c for c in channels}
        self.failures: dict[type, deque] = defaultdict(deque)  # request type -> errors raised in turn
        self.failures_at: dict[tuple[type, int], BaseException] = {}  # (type, nth call) -> error
        self.calls: dict[type, int] = defaultdict(int)
        self.authorized = True
        self.online = False
        self.connect_errors: deque = deque()  # raised by connect() in turn (an outage)
        self.check_hashes = False  # refuse a channel request whose access hash is not this account's
        self._sender._transport_connected = lambda: self.online  # what connection_alive reads
        self.session.process_entities(types.contacts.ResolvedPeer(None, list(channels), list(users)))
        self._mb_entity_cache.extend(list(users), [])

    # canned data
    def post(self, channel: types.Channel, msg_id: int, text: str = "", **fields) -> types.Message:
        """A message that exists in the channel's history (sweeps can read it)."""
        message = make_message(channel, msg_id, text, **fields)
        self.history[utils.get_peer_id(channel)].append(message)
        return message

    def fail(self, request_type: type, *errors: BaseException) -> None:
        self.failures[request_type].extend(errors)

    def fail_on_call(self, request_type: type, nth: int, error: BaseException) -> None:
        """The nth request of this type (1-based) raises `error`; the others are answered."""
        self.failures_at[(request_type, nth)] = error

    def sent(self, request_type: type) -> list:
        return [r for r in self.requests if isinstance(r, request_type)]

    # updates through Telethon's own dispatch
    async def push(self, update, *, extra_entities=()) -> None:
        entities = list(self.channels.values()) + list(self.users.values()) + list(extra_entities)
        update._entities = {utils.get_peer_id(e): e for e in entities}
        self._mb_entity_cache.extend([e for e in entities if isinstance(e, types.User)],
                                     [e for e in entities if isinstance(e, types.Channel)])
        await self._dispatch_update(update)
        await asyncio.sleep(0)

    async def push_new(self, message: types.Message, in_history: bool = True) -> None:
        if in_history:
            self.history[utils.get_peer_id(message.peer_id)].append(message)
        await self.push(types.UpdateNewChannelMessage(message=message, pts=message.id, pts_count=1))

    async def push_edit(self, message: types.Message) -> None:
        await self.push(types.UpdateEditChannelMessage(message=message, pts=message.id, pts_count=1))

    async def push_delete(self, channel: types.Channel, *ids: int) -> None:
        await self.push(types.UpdateDeleteChannelMessages(channel_id=channel.id, messages=list(ids), pts=1,
                                                          pts_count=len(ids)))

    # the network, refused
    async def connect(self) -> None:
        if self.connect_errors:
            raise self.connect_errors.popleft()
        self.online = True

    def edit(self, channel: types.Channel, msg_id: int, text: str, edit_date) -> None:
        """The channel owner edits a post in history (no update pushed)."""
        for message in self.history[utils.get_peer_id(channel)]:
            if message.id == msg_id:
                message.message, message.edit_date = text, edit_date

    def delete(self, channel: types.Channel, msg_id: int) -> None:
        """The channel owner deletes a post (no update pushed)."""
        peer = utils.get_peer_id(channel)
        self.history[peer] = [m for m in self.history[peer] if m.id != msg_id]

    def is_connected(self) -> bool:
        return self.online

    async def disconnect(self) -> None:
        self.online = False

    async def is_user_authorized(self) -> bool:
        return self.authorized

    async def __call__(self, request, ordered=False, flood_sleep_threshold=None):
        self.requests.append(request)
        self.calls[type(request)] += 1
        queue = self.failures.get(type(request))
        if queue:
            raise queue.popleft()
        error = self.failures_at.pop((type(request), self.calls[type(request)]), None)
        if error is not None:
            raise error
        self._check_hash(request)
        if isinstance(request, functions.channels.GetMessagesRequest):
            return self._messages(request)
        if isinstance(request, functions.messages.GetHistoryRequest):
            return self._history(request)
        if isinstance(request, functions.contacts.ResolveUsernameRequest):
            return self._resolve(request.username)
        if isinstance(request, functions.channels.GetChannelsRequest):
            return types.messages.Chats([self.channels[utils.get_peer_id(types.PeerChannel(c.channel_id))]
                                         for c in request.id])
        if isinstance(request, functions.messages.GetMessagesViewsRequest):
            return self._views(request)
        if isinstance(request, functions.channels.GetParticipantRequest):
            return self._participant(request)
        if isinstance(request, (functions.messages.SendMessageRequest, functions.messages.SendMediaRequest)):
            return types.UpdateShortSentMessage(id=next(self._sent_ids), pts=1, pts_count=1, date=T0, out=True)
        if isinstance(request, functions.channels.JoinChannelRequest):
            return types.Updates(updates=[], users=[], chats=[], date=T0, seq=0)
        if isinstance(request, functions.users.GetUsersRequest):
            if not self.authorized:
                from telethon.errors import AuthKeyUnregisteredError

                raise AuthKeyUnregisteredError(request=None)
            wanted = [getattr(u, "user_id", None) for u in request.id]
            if wanted and all(w in self.users for w in wanted):  # group members the session knows
                return [self.users[w] for w in wanted]
            return [types.User(id=SELF_ID, is_self=True, access_hash=1, first_name="Dozor")]
        raise AssertionError(f"unexpected Telegram request in a test: {type(request).__name__}")

    def _check_hash(self, request) -> None:
        """Like Telegram: an access hash from another account is refused (CHANNEL_INVALID)."""
        from telethon.errors import ChannelInvalidError

        peer = getattr(request, "peer", None) or getattr(request, "channel", None)
        if not self.check_hashes or peer is None or not hasattr(peer, "access_hash"):
            return
        channel = self.channels.get(utils.get_peer_id(peer))
        if channel is None or channel.access_hash != peer.access_hash:
            raise ChannelInvalidError(request=None)

    def _views(self, request):
        """messages.getMessagesViews: each asked id's current views and forwards (none for a deleted one)."""
        by_id = {m.id: m for m in self.history.get(utils.get_peer_id(request.peer), [])}
        views = [types.MessageViews(views=getattr(by_id.get(i), "views", None),
                                    forwards=getattr(by_id.get(i), "forwards", None)) for i in request.id]
        return types.messages.MessageViews(views=views, chats=[], users=[])

    def _participant(self, request):
        user_id = request.participant.user_id
        participant = (types.ChannelParticipantCreator(user_id, types.ChatAdminRights()) if user_id in self.admins
                       else types.ChannelParticipant(user_id, T0))
        return types.channels.ChannelParticipant(participant, chats=[], users=list(self.users.values()))

    def _messages(self, request):
        """channels.getMessages: the messages asked for by id; deleted ones come back empty."""
        peer = utils.get_peer_id(request.channel)
        by_id = {m.id: m for m in self.history.get(peer, [])}
        empty = types.PeerChannel(request.channel.channel_id)
        messages = [by_id[i.id] if i.id in by_id else types.MessageEmpty(id=i.id, peer_id=empty) for i in request.id]
        return types.messages.ChannelMessages(pts=1, count=len(messages), messages=messages, topics=[],
                                              chats=[], users=[])

    def _resolve(self, username: str):
        from telethon.errors import UsernameNotOccupiedError

        for channel in self.channels.values():
            if (channel.username or "").lower() == username.lower():
                return types.contacts.ResolvedPeer(peer=types.PeerChannel(channel.id), chats=[channel], users=[])
        raise UsernameNotOccupiedError(request=None)

    def _history(self, request):
        """Telegram's slice: ids below offset_id, newest first, shifted by add_offset."""
        peer = utils.get_peer_id(request.peer)
        newest_first = sorted(self.history.get(peer, []), key=lambda m: -m.id)
        newest_first = [m for m in {m.id: m for m in newest_first}.values()]  # one per id
        newest_first.sort(key=lambda m: -m.id)
        start = 0
        if request.offset_id:
            start = next((i for i, m in enumerate(newest_first) if m.id < request.offset_id), len(newest_first))
        start += request.add_offset
        end = start + request.limit
        chunk = newest_first[max(start, 0):max(end, 0)]
        chats = [self.channels[peer]] if peer in self.channels else []
        return types.messages.ChannelMessages(pts=1, count=len(newest_first), messages=chunk, topics=[],
                                              chats=chats, users=list(self.users.values()))


class RecordingPipeline:
    """The three pipeline methods, recording what they were given (the real one is not ours)."""

    def __init__(self):
        self.posts: list = []
        self.alerted: list = []
        self.edits: list = []
        self.deletions: list = []
        self._keys: set = set()
        self.fail_next: BaseException | None = None

    async def on_post(self, post, alert: bool = True) -> bool:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        key = (post.channel_id, post.message_id)
        if key in self._keys:
            return False
        self._keys.add(key)
        self.posts.append(post)
        if alert:
            self.alerted.append(post)
        return True

    async def on_edit(self, post) -> None:
        self.edits.append(post)

    async def on_delete(self, deletion) -> None:
        self.deletions.append(deletion)

    def ids(self) -> list[int]:
        return [p.message_id for p in self.posts]
