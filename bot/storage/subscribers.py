"""Subscribers and their subscriptions: the one row type, the lookups, and what a subscriber wants.

`subscriber_from_row` is the only place a subscribers row becomes a `Subscriber`;
`subscriber_by_id` / `subscriber_by_chat` are the only lookups. `RuleFilter` is
the one meaning of a subscription (kind 'all' = every rule, 'tag' = rules with
that tag, 'rule' = that rule id, no rows = nothing), used by alerts (`recipients`)
and digests (bot/storage/digests.py). Changes that must be audited (add, remove,
role, settings, subscriptions) and retiring a subscriber (which parks its outbox
rows) live in bot/storage/access.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

import aiosqlite

from bot.models import TARGET_KINDS, AlertStyle, Match, Subscriber, SubscriberKind
from bot.storage.db import Store, from_iso, to_iso


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber that wants an alert, with the matched rules it wants."""

    subscriber_id: int
    rule_ids: tuple[str, ...]
    silent: bool  # every wanted rule has severity "low"


def subscriber_from_row(row) -> Subscriber:
    return Subscriber(
        id=row["id"], chat_id=row["chat_id"], kind=SubscriberKind(row["kind"]), title=row["title"], tz=row["tz"],
        digest_time=row["digest_time"], active=bool(row["active"]), role=row["role"],
        topic_id=row["topic_id"],
        style=AlertStyle(row["alert_style"]) if row["alert_style"] in _STYLES else AlertStyle.FULL,
        digest_calendar_day=bool(row["digest_calendar_day"]) if "digest_calendar_day" in row.keys() else False,
    )


_STYLES = {style.value for style in AlertStyle}


class RuleFilter:
    """Which rules a subscriber receives: everything, or listed tags and rule ids."""

    def __init__(self, everything: bool, tags: Iterable[str] = frozenset(), rules: Iterable[str] = frozenset()):
        self.everything, self.tags, self.rules = everything, set(tags), set(rules)

    @classmethod
    def from_subscriptions(cls, pairs: Iterable[tuple[str, str]]) -> "RuleFilter":
        """From (kind, value) subscription rows."""
        pairs = set(pairs)
        return cls(
            everything=any(kind == "all" for kind, _ in pairs),
            tags={value for kind, value in pairs if kind == "tag"},
            rules={value for kind, value in pairs if kind == "rule"},
        )

    def wants(self, rule_id: str, tags: Iterable[str]) -> bool:
        return self.everything or rule_id in self.rules or bool(self.tags.intersection(tags))


ALL_RULES = RuleFilter(True)


async def rule_filter_of(store: Store, subscriber_id: int) -> RuleFilter:
    """What this subscriber's subscriptions want."""
    rows = await store.fetchall("SELECT kind, value FROM subscriptions WHERE subscriber_id = ?", (subscriber_id,))
    return RuleFilter.from_subscriptions((r["kind"], r["value"]) for r in rows)


async def subscriber_by_id(store: Store, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this row id, active or not."""
    row = await store.fetchone("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
    return None if row is None else subscriber_from_row(row)


async def subscriber_by_chat(store: Store, chat_id: int, *, active_only: bool) -> Subscriber | None:
    """The subscriber of this Telegram chat id (or local sink id); None if absent or, with active_only, inactive."""
    row = await store.fetchone("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,))
    if row is None or (active_only and not row["active"]):
        return None
    return subscriber_from_row(row)


async def active_subscribers(store: Store) -> list[Subscriber]:
    """Every active subscriber, by id."""
    return [sub for sub, _ in await active_subscribers_created(store)]


async def active_subscribers_created(store: Store) -> list[tuple[Subscriber, datetime | None]]:
    """Active subscribers by id, with the time each was created (None when unreadable)."""
    rows = await store.fetchall("SELECT * FROM subscribers WHERE active = 1 ORDER BY id")
    out = []
    for row in rows:
        try:
            created = from_iso(row["created_at"])
        except (TypeError, ValueError):
            created = None
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        out.append((subscriber_from_row(row), created))
    return out


def chat_filter(chat_ids: Sequence[int]) -> tuple[str, list]:
    """SQL (on `s`, subscribers) keeping these chats and every webhook or Apprise target, with its params."""
    marks = ", ".join("?" for _ in chat_ids)
    targets = ", ".join("?" for _ in TARGET_KINDS)
    return f" AND (s.chat_id IN ({marks}) OR s.kind IN ({targets}))", [*chat_ids, *TARGET_KINDS]


async def recipients(conn: aiosqlite.Connection, matches: Sequence[Match], now: datetime,
                     kinds: Sequence[str] | None = None, chat_ids: Sequence[int] | None = None) -> list[Recipient]:
    """Active, unmuted subscribers that want at least one of `matches`.

    A subscription of kind 'all' wants every rule, 'tag' a rule carrying that
    tag, 'rule' that rule id. Rules muted in rule_mutes (until > now) are left
    out for that subscriber. `kinds` limits the subscriber kinds (replay: 'local'),
    `chat_ids` the Telegram chats (the user account serves only its alert chat; webhook and
    Apprise targets need no Telegram chat and are not limited by it).
    """
    if not matches:
        return []
    now_iso = to_iso(now)
    kind_filter = f" AND s.kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
    chats_sql, chats_params = chat_filter(chat_ids) if chat_ids else ("", [])
    async with conn.execute(
        "SELECT s.id, sub.kind, sub.value FROM subscribers s JOIN subscriptions sub ON sub.subscriber_id = s.id"
        f" WHERE s.active = 1 AND (s.muted_until IS NULL OR s.muted_until <= ?){kind_filter}{chats_sql}",
        (now_iso, *(kinds or ()), *chats_params),
    ) as cursor:
        rows = await cursor.fetchall()
    async with conn.execute("SELECT subscriber_id, rule_id FROM rule_mutes WHERE until > ?", (now_iso,)) as cursor:
        muted = {(r[0], r[1]) for r in await cursor.fetchall()}
    subscriptions: dict[int, set[tuple[str, str]]] = {}
    for subscriber_id, kind, value in rows:
        subscriptions.setdefault(subscriber_id, set()).add((kind, value))
    wanted: dict[int, dict[str, Match]] = {}
    for subscriber_id, pairs in subscriptions.items():
        rule_filter = RuleFilter.from_subscriptions(pairs)
        for match in matches:
            if (subscriber_id, match.rule_id) not in muted and rule_filter.wants(match.rule_id, match.tags):
                wanted.setdefault(subscriber_id, {})[match.rule_id] = match
    return [
        Recipient(sid, tuple(sorted(by_rule)), all(m.severity == "low" for m in by_rule.values()))
        for sid, by_rule in sorted(wanted.items())
    ]


async def deactivate_subscriber(conn: aiosqlite.Connection, subscriber_id: int) -> None:
    await conn.execute("UPDATE subscribers SET active = 0 WHERE id = ?", (subscriber_id,))


async def ensure_local_subscriber(store: Store, now: datetime, chat_id: int = 0, title: str = "terminal",
                                  tz: str = "Europe/Moscow") -> Subscriber:
    """The replay-mode subscriber (kind 'local', subscription 'all'); created once."""

    async def ensure(conn: aiosqlite.Connection) -> Subscriber:
        await conn.execute(
            "INSERT OR IGNORE INTO subscribers(chat_id, kind, title, tz, created_at) VALUES (?, 'local', ?, ?, ?)",
            (chat_id, title, tz, to_iso(now)),
        )
        async with conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,)) as cursor:
            subscriber = subscriber_from_row(await cursor.fetchone())
        await conn.execute(
            "INSERT OR IGNORE INTO subscriptions(subscriber_id, kind, value) VALUES (?, 'all', '')", (subscriber.id,)
        )
        await conn.execute("UPDATE subscribers SET active = 1 WHERE id = ?", (subscriber.id,))
        return subscriber

    return await store.write(ensure)


async def count_active(store: Store, kinds: Sequence[str] | None = None) -> int:
    """Active subscribers (optionally of some kinds) that have at least one subscription."""
    kind_filter = f" AND s.kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
    return await store.fetchval(
        "SELECT count(*) FROM subscribers s WHERE s.active = 1"
        " AND EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.subscriber_id = s.id)" + kind_filter,
        tuple(kinds or ()), 0,
    )


async def move_subscriber(conn: aiosqlite.Connection, subscriber_id: int, old_chat_id: int, new_chat_id: int) -> None:
    """A group migrated to a supergroup: its subscriber now lives at the new chat id."""
    await conn.execute("UPDATE OR IGNORE subscribers SET chat_id = ? WHERE id = ? AND chat_id = ?",
                       (new_chat_id, subscriber_id, old_chat_id))
