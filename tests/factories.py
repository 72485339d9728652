"""Every test factory: posts, rules, subscribers, matches and outbox rows, plus shared-file helpers.

Rows are written through the same storage functions the code uses (no SQL
here), so a factory can never build a row the code could not. `make_post`
builds a Post without storing it; `add_*`, `queue_alert` and `Rows` store.
"""
from __future__ import annotations

import itertools
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.models import Alert, Match, Post, RuleDef, Subscriber
from bot.storage import Store, access, from_iso, to_iso
from bot.storage.channels import save_channel
from bot.storage.outbox import enqueue, find_outbox_id, mark_sent, park
from bot.storage.posts import add_matches, ensure_channel, find_post_row, insert_post, mark_deleted
from bot.storage.rules import upsert_rule
from bot.storage.subscribers import Recipient, subscriber_by_id

_ids = itertools.count(5000)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is not beside the checkout ({path} missing)")
    return path


SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "sample" / "posts.jsonl"


def repeated_sample(path: Path, copies: int) -> Path:
    """The built-in sample written `copies` times under new message ids (83 posts a copy)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    with path.open("w", encoding="utf-8") as out:
        for copy in range(copies):
            for line in lines:
                record = json.loads(line)
                record["id"] = record["id"] * 1000 + copy
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def replay_command(replay: Path, alerts: Path) -> list[str]:
    """`dozor run --replay REPLAY --alerts-to ALERTS` as a subprocess argument list."""
    return [sys.executable, "-m", "bot", "run", "--replay", str(replay), "--alerts-to", str(alerts)]


def make_post(**overrides) -> Post:
    fields = dict(
        channel_id=-1001000000001, message_id=next(_ids), text="Обычная новость о погоде в Пскове.",
        date=datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc), channel="pskovgubernia",
        channel_title="Псковская губерния",
    )
    fields.update(overrides)
    if "link" not in overrides and fields.get("channel"):
        fields["link"] = f"https://t.me/{fields['channel']}/{fields['message_id']}"
    return Post(**fields)


class WordRules:
    """WordRules(mob=("мобилиз", ("mobilization",), "high"), ...): substring rules with spans."""

    def __init__(self, **rules: tuple[str, tuple[str, ...], str]):
        self.rules = rules

    def match(self, post: Post) -> list[Match]:
        found = []
        lowered = post.text.lower()
        for rule_id, (word, tags, severity) in sorted(self.rules.items()):
            start = lowered.find(word)
            if start >= 0:
                found.append(Match(rule_id, tags, ((start, start + len(word)),), severity))
        return found


def default_rules() -> WordRules:
    return WordRules(
        mobilization=("мобилиз", ("mobilization",), "high"),
        refusals=("отказ", ("refusals",), "high"),
        quiet=("повестк", ("mobilization",), "low"),
    )


# ---- stored rows -------------------------------------------------------------------------

CREATED = "2024-01-01T00:00:00+00:00"
SUBSCRIBER_CREATED = datetime(2024, 5, 1, tzinfo=timezone.utc)
POSTS_STORED = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)  # the command tests' NOW


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def add_rule(store: Store, rule_id: str, query: str = "x", **fields) -> RuleDef:
    """Store a rule (audited as actor "test") and return it."""
    rule = RuleDef(id=rule_id, query=query, **fields)
    await store.write(lambda c: upsert_rule(c, rule, "test"))
    return rule


async def add_posts(store: Store, posts, now: datetime = POSTS_STORED) -> list[int]:
    """Store posts with their channels as the pipeline does (no matching); their row ids."""
    ids = []
    for post in posts:
        async def put(conn, post=post):
            await ensure_channel(conn, post, now)
            return await insert_post(conn, post, now)
        ids.append(await store.write(put))
    return ids


async def add_subscriber(store: Store, chat_id: int = 42, kind: str = "user", tz: str = "Europe/Moscow",
                         created: datetime = SUBSCRIBER_CREATED, *, subscriptions=(("all", ""),),
                         digest_time: str | None = None, muted_until: datetime | None = None,
                         active: bool = True) -> Subscriber:
    """A subscriber (by default active, of every rule), changed as the bot's commands change one."""

    async def put(conn):
        sid = await access.add_subscriber(conn, chat_id, "test", created, kind=kind, tz=tz)
        if tuple(subscriptions) != (("all", ""),):
            await access.change_subscriptions(conn, sid, list(subscriptions), None, "test", created)
        if digest_time is not None:
            await access.update_subscriber(conn, chat_id, "test", created, "subscriber.digest_time",
                                           digest_time=digest_time)
        if muted_until is not None:
            await access.update_subscriber(conn, chat_id, "test", created, "subscription.mute",
                                           muted_until=to_iso(muted_until))
        if not active:
            await access.remove_subscriber(conn, chat_id, "test", created)
        return sid

    return await subscriber_by_id(store, await store.write(put))


async def queue_alert(store: Store, sub: Subscriber, post: Post, matches: tuple[Match, ...] | None = None,
                      edited: bool = False) -> Alert:
    """Store the post (no channel row, no match rows) and an outbox row for it; the Alert the worker would build."""
    matches = matches if matches is not None else (Match("mob", spans=_spans(post.text, "мобилизац")),)
    recipient = Recipient(sub.id, tuple(m.rule_id for m in matches), silent=False)

    async def insert(conn):
        post_id = await insert_post(conn, post, post.date)
        if post_id is None:
            post_id = (await find_post_row(conn, post.channel_id, post.message_id))["id"]
        if not await enqueue(conn, post_id, [recipient], post.date):
            raise ValueError(f"subscriber {sub.id} already has an alert for post {post_id}")
        return await find_outbox_id(conn, sub.id, post_id)

    outbox_id = await store.write(insert)
    return Alert(outbox_id=outbox_id, subscriber=sub, post=post, matches=matches, edited=edited)


async def add_outbox_row(store: Store, subscriber_id: int, post_id: int, at: datetime,
                         rule_ids: tuple[str, ...] = (), sent: bool = False) -> int:
    """An outbox row for a stored post, created at `at` (and sent then, when `sent`); its id."""

    async def put(conn):
        await enqueue(conn, post_id, [Recipient(subscriber_id, tuple(rule_ids), silent=False)], at)
        outbox_id = await find_outbox_id(conn, subscriber_id, post_id)
        if sent:
            await mark_sent(conn, outbox_id, None, at)
        return outbox_id

    return await store.write(put)


async def park_alert(store: Store, sub: Subscriber, post: Post, error: str) -> int:
    """An alert the worker gave up on (status 'parked', `error` as its last error); its outbox id."""
    alert = await queue_alert(store, sub, post, matches=())
    await store.write(lambda c: park(c, alert.outbox_id, 0, error))
    return alert.outbox_id


def _spans(text: str, stem: str) -> tuple[tuple[int, int], ...]:
    import re
    return tuple((m.start(), m.end()) for m in re.finditer(stem + r"\w*", text))


class Rows:
    """Digest-shaped rows: channels, posts, matches, subscribers with subscriptions, sent alerts.

    Times not given are CREATED; chat ids count from 100, message ids from 1.
    """

    def __init__(self, store: Store):
        self.store = store
        self._msg = itertools.count(1)
        self._chat = itertools.count(100)

    async def channel(self, channel_id: int, username: str, title: str = "") -> None:
        await save_channel(self.store, channel_id, username=username, title=title or username, actor="test")

    async def rule(self, rule_id: str, title: str = "", tags=()) -> None:
        await add_rule(self.store, rule_id, rule_id, title=title, tags=tuple(tags))

    async def post(self, date: datetime, text: str = "Новость", channel_id: int = -1001,
                   fwd_from=None, deleted_at: datetime | None = None, message_id: int | None = None,
                   views: int | None = None, forwards: int | None = None) -> int:
        message_id = message_id or next(self._msg)
        fwd_channel, fwd_message = fwd_from or (None, None)
        post = Post(channel_id=channel_id, message_id=message_id, text=text, date=date,
                    fwd_from_channel_id=fwd_channel, fwd_from_message_id=fwd_message, views=views,
                    forwards=forwards)

        async def put(conn):
            post_id = await insert_post(conn, post, date)
            if post_id is None:
                raise ValueError(f"post {channel_id}/{message_id} is already stored")
            if deleted_at is not None:
                await mark_deleted(conn, channel_id, [message_id], deleted_at)
            return post_id

        return await self.store.write(put)

    async def match(self, post_id: int, rule_id: str, tags=()) -> None:
        match = Match(rule_id, tuple(tags))
        await self.store.write(lambda c: add_matches(c, post_id, [match], from_iso(CREATED)))

    async def matched_post(self, date: datetime, rule_id: str = "mob", tags=("mobilization",), **kw) -> int:
        post_id = await self.post(date, **kw)
        await self.match(post_id, rule_id, tags)
        return post_id

    async def subscriber(self, tz: str = "Europe/Moscow", digest_time: str = "09:00",
                         subscribe=(("all", ""),), created_at: str = CREATED, active: bool = True) -> Subscriber:
        return await add_subscriber(self.store, next(self._chat), tz=tz, created=from_iso(created_at),
                                    subscriptions=subscribe, digest_time=digest_time, active=active)

    async def alerted(self, subscriber_id: int, post_id: int) -> None:
        """An alert of the post that went out to the subscriber at CREATED."""
        await add_outbox_row(self.store, subscriber_id, post_id, from_iso(CREATED), sent=True)
