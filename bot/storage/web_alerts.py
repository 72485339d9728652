"""What the web console's alerts page reads: delivered alerts with their posts, filtered and paged.

An alert here is an outbox row that was delivered (action 'send', status
'sent'). A subscriber sees their own; `subscriber_id=None` (operators and
admins) shows every delivered post once, at its first delivery. Pages go
newest first by (sent_at, id) with a cursor, and the live feed asks for
what was delivered at or after a moment. Indexes: migration 0016b.
Feedback from the console is the same `feedback` row an alert's button writes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import aiosqlite

from bot.models import SubscriberKind
from bot.storage import access
from bot.storage.db import Store, to_iso

_COLUMNS = (
    "o.id AS alert_id, o.sent_at, o.subscriber_id, o.rules, p.id AS post_id, p.date, p.text, p.link,"
    " p.channel_id, p.message_id, p.late, p.edit_date, p.deleted_at, c.username AS channel,"
    " c.title AS channel_title"
)
# the page's outbox rows are chosen first (outbox, matches and posts' indexes only), then joined to their
# posts: a filter never reads the large post rows of alerts it drops
_PAGE = ("SELECT " + _COLUMNS + " FROM (SELECT o.id, o.sent_at, o.subscriber_id, o.rules, o.post_id FROM outbox o"
         " WHERE {where} ORDER BY {order} LIMIT ?) AS o JOIN posts p ON p.id = o.post_id"
         " LEFT JOIN channels c ON c.id = p.channel_id ORDER BY {order}")
_DELIVERED = "o.action = 'send' AND o.status = 'sent'"
_FIRST_DELIVERY = (" AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.post_id = o.post_id AND e.action = 'send'"
                   " AND e.status = 'sent' AND e.id < o.id)")


@dataclass(frozen=True)
class AlertFilter:
    subscriber_id: int | None = None  # None: every delivered post once (operators, admins)
    rule: str | None = None
    tag: str | None = None
    channel_id: int | None = None
    since: datetime | None = None  # post date from
    until: datetime | None = None  # post date before
    late: bool = False


def _where(flt: AlertFilter) -> tuple[str, list]:
    sql, args = _DELIVERED, []
    if flt.subscriber_id is None:
        sql += _FIRST_DELIVERY
    else:
        sql += " AND o.subscriber_id = ?"
        args.append(flt.subscriber_id)
    if flt.rule:
        sql += " AND EXISTS (SELECT 1 FROM matches m WHERE m.post_id = o.post_id AND m.rule_id = ?)"
        args.append(flt.rule)
    if flt.tag:
        sql += " AND EXISTS (SELECT 1 FROM matches m WHERE m.post_id = o.post_id AND m.tags LIKE ?)"
        args.append("%" + json.dumps(flt.tag, ensure_ascii=False) + "%")
    posts, post_args = _post_conditions(flt)
    if posts:  # one subquery over posts' own indexes: rows that fail it never read the (large) post row
        sql += f" AND o.post_id IN (SELECT id FROM posts WHERE {' AND '.join(posts)})"
        args += post_args
    return sql, args


def _post_conditions(flt: AlertFilter) -> tuple[list[str], list]:
    """Conditions on the post (channel, dates, late) and their arguments."""
    conditions, args = [], []
    if flt.channel_id is not None:
        conditions.append("channel_id = ?")
        args.append(flt.channel_id)
    if flt.since is not None:
        conditions.append("date >= ?")
        args.append(to_iso(flt.since))
    if flt.until is not None:
        conditions.append("date < ?")
        args.append(to_iso(flt.until))
    if flt.late:
        conditions.append("late = 1")
    return conditions, args


async def delivered_alerts(store: Store, flt: AlertFilter, limit: int = 30,
                           before: tuple[str, int] | None = None) -> list[dict]:
    """Up to `limit` alerts, newest delivery first, older than the cursor (sent_at, alert id) when given."""
    where, args = _where(flt)
    if before is not None:
        where += " AND (o.sent_at < ? OR (o.sent_at = ? AND o.id < ?))"
        args += [before[0], before[0], before[1]]
    rows = await store.fetchall(_PAGE.format(where=where, order="o.sent_at DESC, o.id DESC"), (*args, limit))
    return [dict(r) for r in rows]


async def alerts_delivered_since(store: Store, flt: AlertFilter, since: str, limit: int = 50) -> list[dict]:
    """Alerts delivered at or after `since` (UTC ISO text), oldest first: the live feed's next rows."""
    where, args = _where(flt)
    rows = await store.fetchall(_PAGE.format(where=where + " AND o.sent_at >= ?", order="o.sent_at, o.id"),
                                (*args, since, limit))
    return [dict(r) for r in rows]


async def last_delivery(store: Store) -> str | None:
    """When the newest alert was delivered (UTC ISO text), or None."""
    return await store.fetchval(f"SELECT max(o.sent_at) FROM outbox o WHERE {_DELIVERED}")


def _marks(values: Sequence) -> str:
    return ",".join("?" * len(values))


async def matches_of_posts(store: Store, post_ids: Sequence[int]) -> dict[int, list[dict]]:
    """post id -> its matches (rule_id, tags, spans), for highlighting."""
    found: dict[int, list[dict]] = {}
    if not post_ids:
        return found
    rows = await store.fetchall(
        f"SELECT post_id, rule_id, tags, spans FROM matches WHERE post_id IN ({_marks(post_ids)}) ORDER BY rule_id",
        list(post_ids))
    for row in rows:
        found.setdefault(row["post_id"], []).append(
            {"rule_id": row["rule_id"], "tags": json.loads(row["tags"]), "spans": json.loads(row["spans"])})
    return found


async def edits_of_posts(store: Store, post_ids: Sequence[int]) -> dict[int, list[dict]]:
    """post id -> its earlier texts (text, edit_date, recorded_at), oldest first."""
    found: dict[int, list[dict]] = {}
    if not post_ids:
        return found
    rows = await store.fetchall(
        f"SELECT post_id, text, edit_date, recorded_at FROM post_edits WHERE post_id IN ({_marks(post_ids)})"
        " ORDER BY id", list(post_ids))
    for row in rows:
        found.setdefault(row["post_id"], []).append(dict(row))
    return found


async def also_in(store: Store, post_ids: Sequence[int]) -> dict[int, list[dict]]:
    """post id -> the other posts grouped into an alert it leads (reposts, the same story elsewhere)."""
    found: dict[int, list[dict]] = {}
    if not post_ids:
        return found
    rows = await store.fetchall(
        "SELECT DISTINCT m.post_id AS lead, p.channel, p.channel_title, p.channel_id, p.message_id, p.link"
        " FROM alert_messages m JOIN alert_posts p ON p.alert_id = m.id"
        f" WHERE m.post_id IN ({_marks(post_ids)})"
        " AND p.rowid > (SELECT MIN(rowid) FROM alert_posts f WHERE f.alert_id = m.id)", list(post_ids))
    for row in rows:
        found.setdefault(row["lead"], []).append(dict(row))
    return found


async def my_votes(store: Store, subscriber_id: int | None, post_ids: Sequence[int]) -> dict[tuple[int, str], bool]:
    """(post id, rule id) -> relevant, for this subscriber's feedback on these posts."""
    if subscriber_id is None or not post_ids:
        return {}
    rows = await store.fetchall(
        f"SELECT post_id, rule_id, relevant FROM feedback WHERE subscriber_id = ? AND post_id IN ({_marks(post_ids)})",
        (subscriber_id, *post_ids))
    return {(r["post_id"], r["rule_id"]): bool(r["relevant"]) for r in rows}


async def web_feedback_subscriber(conn: aiosqlite.Connection, user_id: int, now: datetime) -> int:
    """The subscriber id the console records a person's feedback under: their own row, or a new
    inactive one (so marking a post never starts alerts anywhere)."""
    async with conn.execute("SELECT id FROM subscribers WHERE chat_id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    if row is not None:
        return row[0]
    cursor = await conn.execute(
        "INSERT INTO subscribers(chat_id, kind, title, active, role, created_at) VALUES (?, ?, 'web console', 0,"
        " 'subscriber', ?)", (user_id, SubscriberKind.USER, to_iso(now)))
    return cursor.lastrowid


async def record_web_feedback(store: Store, user_id: int, post_id: int, rule_id: str, relevant: bool,
                              now: datetime) -> None:
    """A relevant / not relevant mark from the console, stored as the alert button stores it."""

    async def write(conn: aiosqlite.Connection) -> None:
        subscriber_id = await web_feedback_subscriber(conn, user_id, now)
        await access.record_feedback(conn, subscriber_id, post_id, rule_id, relevant, now)

    await store.write(write)


async def alert_facets(store: Store) -> dict[str, list]:
    """What the filters offer: rule ids, tags and channels (id, label) that have matches or posts."""
    rules = [r[0] for r in await store.fetchall("SELECT id FROM rules ORDER BY id")]
    tags: set[str] = set()
    for row in await store.fetchall("SELECT DISTINCT tags FROM rules"):
        tags.update(json.loads(row[0]))
    channels = [(r["id"], f"@{r['username']}" if r["username"] else (r["title"] or str(r["id"])))
                for r in await store.fetchall("SELECT id, username, title FROM channels ORDER BY username, title")]
    return {"rules": rules, "tags": sorted(tags), "channels": channels}
