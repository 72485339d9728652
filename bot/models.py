"""The plain data every layer shares: frozen dataclasses, no I/O, no Telethon.

These types are the contract between the sources (replay, Telegram), the rule
engine, storage, delivery and the digest. Add fields with defaults only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Span = tuple[int, int]  # [start, end) offsets into Post.text (Python str indices)


class SubscriberKind(StrEnum):
    """Who a subscriber row delivers to; the value is the text stored in subscribers.kind."""

    USER = "user"
    GROUP = "group"
    CHANNEL = "channel"
    LOCAL = "local"  # a replay / dry-run sink on this machine (terminal, JSONL)
    WEBHOOK = "webhook"  # an HTTP endpoint that gets one signed JSON POST per alert (docs/WEBHOOKS.md)
    APPRISE = "apprise"  # an Apprise URL: e-mail, Slack, Matrix, ntfy, … (bot/delivery/apprise_sink.py)


TELEGRAM_KINDS = (SubscriberKind.USER, SubscriberKind.GROUP, SubscriberKind.CHANNEL)
TARGET_KINDS = (SubscriberKind.WEBHOOK, SubscriberKind.APPRISE)  # delivered outside Telegram, each on its own
LOCAL_CHAT_ID = 0  # the chat id of the one LOCAL subscriber (replay, dry run, terminal feedback)
TARGET_CHAT_BASE = 2 ** 53  # a target's subscribers.chat_id is this + n: above any Telegram id (52 bits)


class ChannelStatus(StrEnum):
    """channels.status: whether the watcher reads a channel, and why not."""

    ACTIVE = "active"
    PAUSED = "paused"  # an operator paused it
    UNRESOLVED = "unresolved"  # an id stored offline; resolved when the watcher starts
    REPLAY = "replay"  # seen only in a replay file; never watched live
    PRIVATE = "private"
    BANNED = "banned"
    UNAVAILABLE = "unavailable"
    REMOVED = "removed"
    UNCONFIRMED = "unconfirmed"  # a private group or channel (no username): watched only once an admin confirms


class AlertStyle(StrEnum):
    """subscribers.alert_style: the whole alert (full) or one line (compact)."""

    FULL = "full"
    COMPACT = "compact"


class OutboxStatus(StrEnum):
    """outbox.status: a row waits (pending) and ends sent, parked (gave up) or cancelled."""

    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"
    CANCELLED = "cancelled"


class OutboxAction(StrEnum):
    """outbox.action: a new alert (send), or a follow-up of a sent one: re-render after an edit, or mark deleted."""

    SEND = "send"
    EDIT = "edit"
    MARK_DELETED = "mark_deleted"


@dataclass(frozen=True, slots=True)
class Post:
    """One channel post as Dozor sees it, whatever the source."""

    channel_id: int  # Telegram's marked id (-100…) or a stable id made up by a source
    message_id: int
    text: str  # plain text (Telegram raw_text or a replay line's "text")
    date: datetime  # timezone-aware, UTC
    channel: str | None = None  # username without @, if the channel has one
    channel_title: str | None = None
    link: str | None = None  # https://t.me/<username>/<id> or https://t.me/c/<id>/<msg>
    views: int | None = None
    forwards: int | None = None
    fwd_from_channel_id: int | None = None  # set when the post is a forward from a channel
    fwd_from_message_id: int | None = None
    has_media: bool = False
    grouped_id: int | None = None  # album id; an album is stored as one post
    edit_date: datetime | None = None
    late: bool = False  # found by a history sweep after downtime, not pushed live
    lang: str | None = None
    author_id: int | None = None  # a group member's message: the sender's numeric id (never shown as such)
    author_name: str | None = None  # only while an admin lets this group's members be named (show_authors)


@dataclass(frozen=True, slots=True)
class Deletion:
    """A channel deleted these messages at `at` (UTC)."""

    channel_id: int
    message_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A rule as an operator writes it (config/rules.toml or the rules table)."""

    id: str
    query: str
    title: str = ""
    exclude: str | None = None
    tags: tuple[str, ...] = ()
    channels_include: tuple[str, ...] = ()  # usernames (lower case, no @) or ids as text
    channels_exclude: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()  # "ru", "uk", "en"; empty = any
    severity: str = "high"  # "high" alerts loudly, "low" silently
    enabled: bool = True
    comment: str = ""  # the rule file's comment lines about it, without "# " (kept by import and export)


@dataclass(frozen=True, slots=True)
class Match:
    """A rule matched a post; spans are the words that made it true."""

    rule_id: str
    tags: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()
    severity: str = "high"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A chat that receives alerts and digests (or a local sink in replay mode)."""

    id: int
    chat_id: int
    kind: SubscriberKind = SubscriberKind.USER
    title: str = ""
    tz: str = "Europe/Moscow"
    digest_time: str = "09:00"
    active: bool = True
    role: str = "subscriber"  # admin | operator | subscriber
    topic_id: int | None = None  # a forum group's topic (its top message id) alerts and digests go to
    style: AlertStyle = AlertStyle.FULL
    digest_calendar_day: bool = False  # digest of the last calendar day (00:00-24:00), not the 24 h to digest_time


@dataclass(frozen=True, slots=True)
class Alert:
    """What the outbox worker hands a sink: one post, for one subscriber."""

    outbox_id: int
    subscriber: Subscriber
    post: Post
    matches: tuple[Match, ...]
    edited: bool = False  # the post matched only after an edit
    created_at: datetime | None = None
    silent: bool = field(default=False, compare=False)  # the outbox row asks for no notification sound
    attempts: int = field(default=0, compare=False)  # failed tries of this outbox row so far


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button under a message; `data` comes back in the callback."""

    text: str
    data: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a Telegram chat (HTML parse mode), or an edit of one we sent."""

    chat_id: int
    html: str
    silent: bool = False
    edit_message_id: int | None = None  # set: edit that message instead of sending
    photo: bytes | None = None  # PNG sent with `html` as its caption (digest chart)
    document: tuple[str, bytes] | None = None  # (file name, bytes) sent as a file with `html` as caption (/export)
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of inline buttons
    link_preview: bool = False
    topic_id: int | None = None  # a forum topic of the chat to post into (sent as a reply to its top message)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What the outbox worker hands a sink for an edit or deletion: re-render one alert message it sent."""

    outbox_id: int
    subscriber: Subscriber
    alert_id: int  # alert_messages.id (bot/storage/alert_log.py)
    action: str  # 'edit' | 'mark_deleted' (bot/storage/outbox.py)


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where a webhook or Apprise subscriber delivers: its URL and the webhook's HMAC secret.

    Both may carry credentials: they are left out of repr (so out of logs); show `label` instead."""

    subscriber_id: int
    kind: SubscriberKind
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    label: str = ""  # the URL masked (bot/delivery/target_urls.py), the subscriber's title
