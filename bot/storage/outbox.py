"""The alert outbox: what to deliver to whom, written with the change that caused it, delivered later.

Each row has an action: 'send' (a new alert: one row per (subscriber, post),
ever), 'edit' or 'mark_deleted' (a follow-up: re-render the alert message
`alert_id` after its post was edited or deleted; written in the same
transaction as the edit or deletion, one pending row per alert message).

Status: pending -> sent, or parked (gave up / chat forbids us / subscriber
removed, with a reason), or cancelled (its post was edited and no longer
matches, with a reason). A pending row of an active subscriber whose
next_attempt_at is NULL or past is due; rows of inactive subscribers never are. Rows survive a crash: whatever
was pending is simply picked up again on the next start.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Iterable, Sequence

import aiosqlite

from bot.models import Alert, FollowUp, OutboxAction, OutboxStatus
from bot.storage.db import Store, from_iso, to_iso, to_iso_precise
from bot.storage.posts import match_from_row, post_from_row
from bot.storage.subscribers import Recipient, chat_filter, recipients, subscriber_by_id

CLAIM_SECONDS = 120.0  # PostgreSQL: a claimed row is left to its claimer this long
SEND, EDIT, MARK_DELETED = OutboxAction.SEND, OutboxAction.EDIT, OutboxAction.MARK_DELETED  # outbox.action


async def enqueue(conn: aiosqlite.Connection, post_id: int, recipients: Iterable[Recipient], now: datetime,
                  edited: bool = False) -> int:
    """Add an outbox row per recipient unless it already has one for this post; returns rows added."""
    added = 0
    for recipient in recipients:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox(subscriber_id, post_id, rules, silent, edited, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (recipient.subscriber_id, post_id, json.dumps(list(recipient.rule_ids)),
             int(recipient.silent), int(edited), to_iso(now)),
        )
        added += cursor.rowcount
    return added


async def find_outbox_id(conn: aiosqlite.Connection, subscriber_id: int, post_id: int) -> int | None:
    """The outbox row id of this subscriber's alert for the post, or None."""
    async with conn.execute(
        "SELECT id FROM outbox WHERE subscriber_id = ? AND post_id = ? AND action = 'send'", (subscriber_id, post_id)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def enqueue_missed(conn: aiosqlite.Connection, chat_id: int, since: datetime, now: datetime) -> int:
    """Queue, for one subscriber chat, the stored matches of posts dated `since` or later that it wants
    (its subscriptions and mutes apply; deleted posts and rows it already has are skipped). Returns rows added."""
    async with conn.execute(
        "SELECT m.* FROM matches m JOIN posts p ON p.id = m.post_id WHERE p.date >= ? AND p.deleted_at IS NULL"
        " ORDER BY p.date, p.id, m.rule_id", (to_iso(since),),
    ) as cursor:
        rows = await cursor.fetchall()
    by_post: dict[int, list] = {}
    for row in rows:
        by_post.setdefault(row["post_id"], []).append(match_from_row(row))
    added = 0
    for post_id, matches in by_post.items():
        wanting = await recipients(conn, matches, now, chat_ids=(chat_id,))
        added += await enqueue(conn, post_id, wanting, now)
    return added


async def follow_edit(conn: aiosqlite.Connection, post_id: int, wanting: Sequence[Recipient],
                      kinds: Sequence[str] | None = None, chat_ids: Sequence[int] | None = None) -> tuple[int, int]:
    """Pending rows of an edited post follow its latest version; returns (cancelled, updated).

    `wanting` is who the new text is for (bot.storage.subscribers.recipients). A
    pending row whose subscriber is not among them is cancelled with the reason;
    one whose wanted rules or silence changed is rewritten, so the alert shows
    the rules that match now. Rows already sent are followed up by a follow-up
    row instead (`enqueue_follow_ups`). `kinds` and `chat_ids` limit the subscribers considered
    (those `wanting` was computed for)."""
    kind_filter, params = _subscriber_filter(kinds, chat_ids)
    async with conn.execute(
        "SELECT o.id, o.subscriber_id, o.rules, o.silent FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
        f" WHERE o.post_id = ? AND o.status = 'pending' AND o.action = 'send'{kind_filter}", (post_id, *params),
    ) as cursor:
        rows = await cursor.fetchall()
    by_subscriber = {r.subscriber_id: r for r in wanting}
    cancelled = updated = 0
    for row in rows:
        recipient = by_subscriber.get(row["subscriber_id"])
        if recipient is None:
            await conn.execute("UPDATE outbox SET status = 'cancelled', reason = ? WHERE id = ?",
                               ("post edited: it no longer matches this chat's rules", row["id"]))
            cancelled += 1
            continue
        rules = json.dumps(list(recipient.rule_ids))
        if rules != row["rules"] or int(recipient.silent) != row["silent"]:
            await conn.execute("UPDATE outbox SET rules = ?, silent = ? WHERE id = ?",
                               (rules, int(recipient.silent), row["id"]))
            updated += 1
    return cancelled, updated


async def enqueue_follow_ups(conn: aiosqlite.Connection, alerts: Iterable[aiosqlite.Row], post_id: int,
                             action: str, now: datetime) -> int:
    """A follow-up row (`action` EDIT or MARK_DELETED) per alert message (rows of alert_messages) of an
    active subscriber; one already pending for the same message is enough, as the message is re-rendered
    from its latest state. Returns rows added."""
    added = 0
    for alert in alerts:
        async with conn.execute(
            "SELECT 1 FROM subscribers s WHERE s.id = ? AND s.active = 1 AND NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.alert_id = ? AND o.status = 'pending')",
            (alert["subscriber_id"], alert["id"]),
        ) as cursor:
            if await cursor.fetchone() is None:
                continue
        await conn.execute(
            "INSERT INTO outbox(subscriber_id, post_id, action, alert_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (alert["subscriber_id"], post_id, action, alert["id"], to_iso(now)),
        )
        added += 1
    return added


def _subscriber_filter(kinds: Sequence[str] | None, chat_ids: Sequence[int] | None,
                       subscriber_ids: Sequence[int] | None = None) -> tuple[str, list]:
    """SQL limiting `s` (subscribers) to some kinds, Telegram chats (webhook and Apprise targets are never
    limited by chat: bot.storage.subscribers.chat_filter) and subscriber ids."""
    sql, params = "", []
    if kinds:
        sql += f" AND s.kind IN ({', '.join('?' for _ in kinds)})"
        params.extend(kinds)
    if chat_ids:
        chat_sql, chat_params = chat_filter(chat_ids)
        sql += chat_sql
        params.extend(chat_params)
    if subscriber_ids:
        sql += f" AND s.id IN ({', '.join('?' for _ in subscriber_ids)})"
        params.extend(subscriber_ids)
    return sql, params


async def due_rows(store: Store, now: datetime, limit: int = 100, kinds: Sequence[str] | None = None,
                   chat_ids: Sequence[int] | None = None,
                   subscriber_ids: Sequence[int] | None = None) -> list[aiosqlite.Row]:
    """Pending rows whose time has come, oldest first (optionally only for some subscriber kinds, chats or ids)."""
    kind_filter, extra = _subscriber_filter(kinds, chat_ids, subscriber_ids)
    params: list = [to_iso_precise(now), *extra]
    return await store.fetchall(
        "SELECT o.* FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
        " WHERE o.status = 'pending' AND s.active = 1"
        " AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
        f"{kind_filter} ORDER BY o.id LIMIT ?",
        [*params, limit],
    )


async def claim_due_rows(store: Store, now: datetime, limit: int = 100, kinds: Sequence[str] | None = None,
                         chat_ids: Sequence[int] | None = None, subscriber_ids: Sequence[int] | None = None,
                         claim_seconds: float = CLAIM_SECONDS) -> list[aiosqlite.Row]:
    """Due rows this process may deliver now. On SQLite (one process) the due rows themselves; on
    PostgreSQL they are claimed for `store.process_id` until now + `claim_seconds`
    (`FOR UPDATE SKIP LOCKED`: processes never wait for or take each other's rows; a row whose
    claimer died is taken again once its claim lapses). Sent, postponed or parked rows drop their claim."""
    if store.dialect != "postgresql":
        return await due_rows(store, now, limit, kinds, chat_ids, subscriber_ids)
    kind_filter, extra = _subscriber_filter(kinds, chat_ids, subscriber_ids)
    now_iso = to_iso_precise(now)
    sql = ("UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ("
           " SELECT o.id FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
           " WHERE o.status = 'pending' AND s.active = 1"
           " AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
           " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"
           f"{kind_filter} ORDER BY o.id LIMIT ? FOR UPDATE OF o SKIP LOCKED) RETURNING *")
    params = [store.process_id, to_iso_precise(now + timedelta(seconds=claim_seconds)), now_iso, now_iso,
              *extra, limit]

    async def claim(conn) -> list:
        async with conn.execute(sql, params) as cursor:
            return sorted(await cursor.fetchall(), key=lambda r: r["id"])
    return await store.write(claim)


async def next_due_at(store: Store, kinds: Sequence[str] | None = None, chat_ids: Sequence[int] | None = None,
                      subscriber_ids: Sequence[int] | None = None) -> datetime | None:
    """When the earliest waiting (pending, retry later) row becomes due."""
    kind_filter, params = _subscriber_filter(kinds, chat_ids, subscriber_ids)
    value = await store.fetchval(
        "SELECT min(o.next_attempt_at) FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
        f" WHERE o.status = 'pending' AND s.active = 1{kind_filter}",
        params,
    )
    return from_iso(value)


async def load_alert(store: Store, row: aiosqlite.Row) -> Alert | None:
    """Build the Alert for an outbox row: its subscriber, post and the matches it wants.

    None when the row is no longer pending (cancelled by an edit meanwhile), the post is gone or the
    subscriber is gone or inactive (removed, or its chat forbids us). The row is read again, so the
    rules it wants are those of the post's latest version."""
    row = await store.fetchone("SELECT * FROM outbox WHERE id = ?", (row["id"],))
    if row is None or row["status"] != OutboxStatus.PENDING:
        return None
    subscriber = await subscriber_by_id(store, row["subscriber_id"])
    post_row = await store.fetchone("SELECT * FROM posts WHERE id = ?", (row["post_id"],))
    if subscriber is None or post_row is None or not subscriber.active:
        return None
    channel = await store.fetchone("SELECT * FROM channels WHERE id = ?", (post_row["channel_id"],))
    wanted = set(json.loads(row["rules"]))
    match_rows = await store.fetchall("SELECT * FROM matches WHERE post_id = ? ORDER BY rule_id", (row["post_id"],))
    matches = tuple(match_from_row(m) for m in match_rows if not wanted or m["rule_id"] in wanted)
    return Alert(
        outbox_id=row["id"], subscriber=subscriber, post=post_from_row(post_row, channel),
        matches=matches, edited=bool(row["edited"]), created_at=from_iso(row["created_at"]),
        silent=bool(row["silent"]), attempts=row["attempts"],
    )


async def load_follow_up(store: Store, row: aiosqlite.Row) -> FollowUp | None:
    """Build the FollowUp for a follow-up row; None when it is no longer pending, or its subscriber
    (inactive or gone) or alert message is gone."""
    row = await store.fetchone("SELECT * FROM outbox WHERE id = ?", (row["id"],))
    if row is None or row["status"] != "pending" or row["alert_id"] is None:
        return None
    subscriber = await subscriber_by_id(store, row["subscriber_id"])
    shown = await store.fetchval("SELECT 1 FROM alert_messages WHERE id = ?", (row["alert_id"],))
    if subscriber is None or not subscriber.active or shown is None:
        return None
    return FollowUp(outbox_id=row["id"], subscriber=subscriber, alert_id=row["alert_id"], action=row["action"])


async def outbox_post_id(store: Store, outbox_id: int) -> int | None:
    """posts.id of an outbox row, or None."""
    return await store.fetchval("SELECT post_id FROM outbox WHERE id = ?", (outbox_id,))


async def mark_sent(conn: aiosqlite.Connection, outbox_id: int, message_id: int | None, now: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_message_id = ?, sent_at = ?, last_error = NULL,"
        " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
        (message_id, to_iso(now), outbox_id),
    )


async def postpone(conn: aiosqlite.Connection, outbox_id: int, until: datetime, attempts: int,
                   error: str | None) -> None:
    """Try the row again at `until`, kept to the microsecond (RetryLater keeps attempts; failures count one more)."""
    await conn.execute(
        "UPDATE outbox SET next_attempt_at = ?, attempts = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL"
        " WHERE id = ?",
        (to_iso_precise(until), attempts, error, outbox_id),
    )


async def park(conn: aiosqlite.Connection, outbox_id: int, attempts: int, error: str) -> None:
    """Give up on a pending row; operators can see it (status 'parked', last_error). A row parked
    or cancelled meanwhile keeps its first reason."""
    await conn.execute(
        "UPDATE outbox SET status = 'parked', attempts = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL"
        " WHERE id = ? AND status = 'pending'",
        (attempts, error, outbox_id),
    )


async def outbox_rows(store: Store, subscriber_id: int | None = None) -> list[aiosqlite.Row]:
    """Every outbox row (of one subscriber, when given), oldest first."""
    if subscriber_id is None:
        return await store.fetchall("SELECT * FROM outbox ORDER BY id")
    return await store.fetchall("SELECT * FROM outbox WHERE subscriber_id = ? ORDER BY id", (subscriber_id,))


async def park_pending_of(conn: aiosqlite.Connection, subscriber_id: int, reason: str, now: datetime) -> int:
    """Park every pending row of a subscriber that was removed or deactivated; returns how many.

    Marked reported: the admins need no notice for alerts nobody should receive any more."""
    cursor = await conn.execute(
        "UPDATE outbox SET status = 'parked', last_error = ?, reason = ?, reported_at = ?"
        " WHERE subscriber_id = ? AND status = 'pending'",
        (reason, reason, to_iso(now), subscriber_id),
    )
    return cursor.rowcount


async def count_by_status(store: Store, kinds: Sequence[str] | None = None,
                          chat_ids: Sequence[int] | None = None) -> dict[str, int]:
    """How many outbox rows have each status (only statuses that occur); optionally only the rows
    of some subscriber kinds or chats."""
    if not kinds and not chat_ids:
        rows = await store.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
    else:
        subscriber_filter, params = _subscriber_filter(kinds, chat_ids)
        rows = await store.fetchall(
            "SELECT o.status, count(*) FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
            f" WHERE 1 = 1{subscriber_filter} GROUP BY o.status", params)
    return {r[0]: r[1] for r in rows}


async def alert_rule_ids(store: Store, subscriber_id: int, post_id: int) -> list[str]:
    """The rule ids of the alert this subscriber got for the post ([] when there is none)."""
    raw = await store.fetchval("SELECT rules FROM outbox WHERE subscriber_id = ? AND post_id = ? AND action = 'send'",
                               (subscriber_id, post_id))
    return json.loads(raw) if raw else []


async def unreported_parked(store: Store) -> list[aiosqlite.Row]:
    """Parked rows not yet told to the admins (id, last_error, the subscriber's chat_id, kind and title),
    oldest first."""
    return await store.fetchall(
        "SELECT o.id, o.last_error, s.chat_id, s.kind, s.title FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
        " WHERE o.status = 'parked' AND o.reported_at IS NULL ORDER BY o.id"
    )


async def mark_reported(conn: aiosqlite.Connection, outbox_ids: Sequence[int], now: datetime) -> None:
    """Record that these parked rows were told to the admins."""
    await conn.executemany("UPDATE outbox SET reported_at = ? WHERE id = ?", [(to_iso(now), i) for i in outbox_ids])
