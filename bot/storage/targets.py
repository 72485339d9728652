"""Delivery targets: the URL (and webhook secret) of each webhook or Apprise subscriber, and its health.

A target is a subscriber row of kind 'webhook' or 'apprise' whose chat_id is
made up (TARGET_CHAT_BASE + n, never a Telegram id) and whose title is the
URL masked; the URL and secret live only in delivery_targets (migration
0018). Adding the same URL again re-activates its subscriber and replaces the
secret. Health: `record_failure` / `record_success` count failed attempts in a
row; `targets_to_notice` lists those failing `threshold` times or more that the
operators were not told about yet (`mark_noticed`); a success clears it all, and
when the operators had been told, marks the target recovered (migration 0022)
until they hear it is back (`targets_recovered`, `mark_recovery_noticed`).
`target_health` gives every target's state for `dozor subscribers list`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import aiosqlite

from bot.models import TARGET_CHAT_BASE, TARGET_KINDS, DeliveryTarget, SubscriberKind
from bot.storage import access
from bot.storage.db import Store, from_iso, to_iso


@dataclass(frozen=True, slots=True)
class FailingTarget:
    """A target failing for a while, for the operators' notice (no URL: the label is masked)."""

    subscriber_id: int
    chat_id: int
    kind: str
    label: str
    failures: int
    failing_since: datetime | None
    last_error: str


async def add_target(conn: aiosqlite.Connection, kind: SubscriberKind, url: str, secret: str | None,
                     label: str, actor: str, now: datetime, tz: str) -> int:
    """Subscribe a webhook or Apprise URL to every rule (or re-activate it); returns its chat id."""
    if kind not in TARGET_KINDS:
        raise ValueError(f"not a delivery target kind: {kind}")
    async with conn.execute(
        "SELECT s.chat_id FROM delivery_targets t JOIN subscribers s ON s.id = t.subscriber_id WHERE t.url = ?",
        (url,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        chat_id = row[0]
    else:
        async with conn.execute("SELECT max(chat_id) FROM subscribers WHERE chat_id > ?", (TARGET_CHAT_BASE,)) as cur:
            highest = (await cur.fetchone())[0]
        chat_id = (highest or TARGET_CHAT_BASE) + 1
    subscriber_id = await access.add_subscriber(conn, chat_id, actor, now, kind=kind, title=label, tz=tz)
    await conn.execute(
        "INSERT INTO delivery_targets(subscriber_id, url, secret) VALUES (?, ?, ?)"
        " ON CONFLICT(subscriber_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
        " failures = 0, failing_since = NULL, last_error = NULL, noticed_at = NULL",
        (subscriber_id, url, secret),
    )
    return chat_id


async def target_of(store: Store, subscriber_id: int) -> DeliveryTarget | None:
    """The target of a webhook or Apprise subscriber (active or not), or None."""
    row = await store.fetchone(
        "SELECT t.*, s.kind, s.title FROM delivery_targets t JOIN subscribers s ON s.id = t.subscriber_id"
        " WHERE t.subscriber_id = ?", (subscriber_id,))
    if row is None:
        return None
    return DeliveryTarget(row["subscriber_id"], SubscriberKind(row["kind"]), row["url"], row["secret"], row["title"])


async def active_target_ids(store: Store) -> list[int]:
    """Subscriber ids of the active webhook and Apprise subscribers."""
    marks = ", ".join("?" for _ in TARGET_KINDS)
    rows = await store.fetchall(f"SELECT id FROM subscribers WHERE active = 1 AND kind IN ({marks}) ORDER BY id",
                                list(TARGET_KINDS))
    return [r["id"] for r in rows]


async def record_failure(conn: aiosqlite.Connection, subscriber_id: int, error: str, now: datetime) -> None:
    """One more failed attempt in a row for this target."""
    await conn.execute(
        "UPDATE delivery_targets SET failures = failures + 1, failing_since = COALESCE(failing_since, ?),"
        " last_error = ? WHERE subscriber_id = ?", (to_iso(now), error, subscriber_id))


@dataclass(frozen=True, slots=True)
class RecoveredTarget:
    """A target the operators were told was failing and that delivers again."""

    subscriber_id: int
    chat_id: int
    kind: str
    label: str
    failing_since: datetime | None
    recovered_at: datetime


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """How a target is doing now: healthy when `failures` is 0."""

    failures: int
    failing_since: datetime | None
    last_error: str

    @property
    def healthy(self) -> bool:
        return self.failures == 0


async def record_success(conn: aiosqlite.Connection, subscriber_id: int, now: datetime) -> None:
    """The target took a delivery: it is healthy again (a later failure is a new story). If the operators
    had been told it was failing, it is marked recovered for their "back" notice."""
    await conn.execute(
        "UPDATE delivery_targets SET"
        " recovered_at = CASE WHEN noticed_at IS NOT NULL THEN ? ELSE recovered_at END,"
        " recovered_from = CASE WHEN noticed_at IS NOT NULL THEN failing_since ELSE recovered_from END,"
        " failures = 0, failing_since = NULL, last_error = NULL, noticed_at = NULL"
        " WHERE subscriber_id = ? AND (failures > 0 OR noticed_at IS NOT NULL)", (to_iso(now), subscriber_id))


async def targets_recovered(store: Store) -> list[RecoveredTarget]:
    """Active targets that delivered again after the operators were told they kept failing."""
    rows = await store.fetchall(
        "SELECT t.*, s.chat_id, s.kind, s.title FROM delivery_targets t JOIN subscribers s ON s.id = t.subscriber_id"
        " WHERE s.active = 1 AND t.recovered_at IS NOT NULL ORDER BY t.subscriber_id")
    return [RecoveredTarget(r["subscriber_id"], r["chat_id"], r["kind"], r["title"], from_iso(r["recovered_from"]),
                            from_iso(r["recovered_at"])) for r in rows]


async def mark_recovery_noticed(conn: aiosqlite.Connection, subscriber_ids: Sequence[int]) -> None:
    await conn.executemany("UPDATE delivery_targets SET recovered_at = NULL, recovered_from = NULL"
                           " WHERE subscriber_id = ?", [(i,) for i in subscriber_ids])


async def target_health(store: Store) -> dict[int, TargetHealth]:
    """Subscriber id -> the health of every webhook and Apprise target."""
    rows = await store.fetchall("SELECT subscriber_id, failures, failing_since, last_error FROM delivery_targets")
    return {r["subscriber_id"]: TargetHealth(r["failures"], from_iso(r["failing_since"]), r["last_error"] or "")
            for r in rows}


async def targets_to_notice(store: Store, threshold: int) -> list[FailingTarget]:
    """Active targets with `threshold` or more failures in a row that the operators have not heard of."""
    rows = await store.fetchall(
        "SELECT t.*, s.chat_id, s.kind, s.title FROM delivery_targets t JOIN subscribers s ON s.id = t.subscriber_id"
        " WHERE s.active = 1 AND t.failures >= ? AND t.noticed_at IS NULL ORDER BY t.subscriber_id", (threshold,))
    return [FailingTarget(r["subscriber_id"], r["chat_id"], r["kind"], r["title"], r["failures"],
                          from_iso(r["failing_since"]), r["last_error"] or "") for r in rows]


async def mark_noticed(conn: aiosqlite.Connection, subscriber_ids: Sequence[int], now: datetime) -> None:
    await conn.executemany("UPDATE delivery_targets SET noticed_at = ? WHERE subscriber_id = ?",
                           [(to_iso(now), i) for i in subscriber_ids])
