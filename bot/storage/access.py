"""Who may use the bot and what they receive: subscribers, roles, invites, access
requests, subscriptions, mutes and feedback. Every change is audited in the same
transaction. Write functions take the connection (call them inside Store.write);
read functions take the Store. Looking a subscriber up, and what a subscription
means, is bot/storage/subscribers.py's. Retiring a subscriber (the dry run's
terminal, a replaced DOZOR_ALERT_CHAT) parks its pending outbox rows.
"""
from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.models import TARGET_KINDS, TELEGRAM_KINDS, Subscriber, SubscriberKind
from bot.storage import kv
from bot.storage.audit import record_audit
from bot.storage.db import Store, sha256_hex, to_iso
from bot.storage.outbox import park_pending_of
from bot.storage.subscribers import count_active, subscriber_from_row


def _public(row) -> dict | None:
    if row is None:
        return None
    return {k: row[k] for k in ("chat_id", "kind", "title", "role", "active", "tz", "muted_until", "topic_id",
                                 "alert_style")}


async def _row(conn: aiosqlite.Connection, chat_id: int):
    async with conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,)) as cur:
        return await cur.fetchone()


async def add_subscriber(
    conn: aiosqlite.Connection, chat_id: int, actor: str, now: datetime, *,
    kind: SubscriberKind = SubscriberKind.USER, title: str = "", role: str = "subscriber", tz: str = "Europe/Moscow",
    topic_id: int | None = None,
) -> int:
    """Create (or re-activate) a subscriber that receives every rule; returns its id. `topic_id`: the
    forum topic its alerts and digests go to (given again, it moves there)."""
    old = await _row(conn, chat_id)
    if old is None:
        cur = await conn.execute(
            "INSERT INTO subscribers(chat_id, kind, title, role, tz, created_at, topic_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (chat_id, kind, title, role, tz, to_iso(now), topic_id),
        )
        sub_id = cur.lastrowid
        await conn.execute(
            "INSERT OR IGNORE INTO subscriptions(subscriber_id, kind, value) VALUES (?, 'all', '')", (sub_id,)
        )
    else:
        sub_id = old["id"]
        await conn.execute(
            "UPDATE subscribers SET active = 1, role = ?, title = COALESCE(NULLIF(?, ''), title),"
            " topic_id = COALESCE(?, topic_id) WHERE id = ?",
            (role, title, topic_id, sub_id),
        )
    await record_audit(conn, actor, "subscriber.add", "subscriber", str(chat_id), _public(old),
                       _public(await _row(conn, chat_id)), at=to_iso(now))
    return sub_id


async def remove_subscriber(conn: aiosqlite.Connection, chat_id: int, actor: str, now: datetime) -> bool:
    """Deactivate (rows stay for the outbox history; pending alerts are parked); False if there was none."""
    old = await _row(conn, chat_id)
    if old is None or not old["active"]:
        return False
    await conn.execute("UPDATE subscribers SET active = 0 WHERE id = ?", (old["id"],))
    await park_pending_of(conn, old["id"], f"subscriber removed by {actor}", now)
    await record_audit(conn, actor, "subscriber.remove", "subscriber", str(chat_id), _public(old),
                       _public(await _row(conn, chat_id)), at=to_iso(now))
    return True


async def set_role(conn: aiosqlite.Connection, chat_id: int, role: str, actor: str, now: datetime) -> bool:
    old = await _row(conn, chat_id)
    if old is None or not old["active"]:
        return False
    await conn.execute("UPDATE subscribers SET role = ? WHERE id = ?", (role, old["id"]))
    await record_audit(conn, actor, "role.set", "subscriber", str(chat_id), {"role": old["role"]},
                       {"role": role}, at=to_iso(now))
    return True


async def update_subscriber(conn, chat_id: int, actor: str, now: datetime, action: str, **fields) -> None:
    """Set tz / muted_until / digest_time / title / topic_id / alert_style / digest_calendar_day on one
    subscriber, audited as `action`."""
    allowed = {"tz", "muted_until", "digest_time", "title", "topic_id", "alert_style", "digest_calendar_day"}
    assert set(fields) <= allowed, fields
    old = await _row(conn, chat_id)
    sets = ", ".join(f"{k} = ?" for k in fields)
    await conn.execute(f"UPDATE subscribers SET {sets} WHERE chat_id = ?", (*fields.values(), chat_id))
    await record_audit(conn, actor, action, "subscriber", str(chat_id),
                       {k: old[k] for k in fields}, fields, at=to_iso(now))


async def muted_until(store: Store, chat_id: int) -> str | None:
    return await store.fetchval("SELECT muted_until FROM subscribers WHERE chat_id = ?", (chat_id,))


# ---- subscriptions -----------------------------------------------------------

async def list_subscriptions(store: Store, subscriber_id: int) -> list[tuple[str, str]]:
    rows = await store.fetchall(
        "SELECT kind, value FROM subscriptions WHERE subscriber_id = ? ORDER BY kind, value", (subscriber_id,)
    )
    return [(r["kind"], r["value"]) for r in rows]


async def change_subscriptions(
    conn: aiosqlite.Connection, subscriber_id: int, add: list[tuple[str, str]],
    remove: list[tuple[str, str]] | None, actor: str, now: datetime,
) -> None:
    """Add (kind, value) pairs and remove pairs (None = remove all); audited once."""
    async with conn.execute(
        "SELECT kind, value FROM subscriptions WHERE subscriber_id = ? ORDER BY kind, value", (subscriber_id,)
    ) as cur:
        before = [list(r) for r in await cur.fetchall()]
    if remove is None:
        await conn.execute("DELETE FROM subscriptions WHERE subscriber_id = ?", (subscriber_id,))
    for kind, value in remove or ():
        await conn.execute("DELETE FROM subscriptions WHERE subscriber_id = ? AND kind = ? AND value = ?",
                           (subscriber_id, kind, value))
    if any(kind == "all" for kind, _ in add):
        await conn.execute("DELETE FROM subscriptions WHERE subscriber_id = ?", (subscriber_id,))
    for kind, value in add:
        await conn.execute("INSERT OR IGNORE INTO subscriptions(subscriber_id, kind, value) VALUES (?, ?, ?)",
                           (subscriber_id, kind, value))
    async with conn.execute(
        "SELECT kind, value FROM subscriptions WHERE subscriber_id = ? ORDER BY kind, value", (subscriber_id,)
    ) as cur:
        after = [list(r) for r in await cur.fetchall()]
    await record_audit(conn, actor, "subscription.set", "subscriber", str(subscriber_id), before, after,
                       at=to_iso(now))


async def mute_rule(conn, subscriber_id: int, rule_id: str, until: datetime, actor: str, now: datetime) -> None:
    await conn.execute(
        "INSERT OR REPLACE INTO rule_mutes(subscriber_id, rule_id, until) VALUES (?, ?, ?)",
        (subscriber_id, rule_id, to_iso(until)),
    )
    await record_audit(conn, actor, "subscription.mute_rule", "subscriber", str(subscriber_id), None,
                       {"rule_id": rule_id, "until": to_iso(until)}, at=to_iso(now))


async def muted_rules(store: Store, subscriber_id: int) -> list[tuple[str, str]]:
    """(rule id, until) of the subscriber's rule mutes, by rule id (expired ones too)."""
    rows = await store.fetchall(
        "SELECT rule_id, until FROM rule_mutes WHERE subscriber_id = ? ORDER BY rule_id", (subscriber_id,))
    return [(r["rule_id"], r["until"]) for r in rows]


# ---- invites and access requests ----------------------------------------------

def invite_label(code: str) -> str:
    """How the audit log (and logs) name an invite: the first 12 hex digits of its hash."""
    return sha256_hex(code)[:12]


async def create_invite(conn, code: str, role: str, actor: str, now: datetime, expires_at: datetime) -> None:
    """Store an invite as the hash of its code (the code itself is shown once, never stored)."""
    await conn.execute(
        "INSERT INTO invites(code_hash, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (sha256_hex(code), role, actor, to_iso(now), to_iso(expires_at)))
    await record_audit(conn, actor, "invite.create", "invite", invite_label(code), None,
                       {"role": role, "expires_at": to_iso(expires_at)}, at=to_iso(now))


async def redeem_invite(conn, code: str, chat_id: int, now: datetime) -> str | None:
    """Mark an unused, unexpired invite used by chat_id; returns its role, or None if not valid."""
    code_hash = sha256_hex(code)
    async with conn.execute("SELECT role FROM invites WHERE code_hash = ? AND used_by IS NULL AND expires_at > ?",
                            (code_hash, to_iso(now))) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    await conn.execute("UPDATE invites SET used_by = ?, used_at = ? WHERE code_hash = ?",
                       (chat_id, to_iso(now), code_hash))
    return row["role"]


async def request_access(conn, chat_id: int, title: str, now: datetime, *, requested_by: int | None = None,
                         per_user: int | None = None, total: int | None = None) -> str:
    """Record a request: "new"; "pending" / "denied" when one was made before (nothing changes);
    "busy" when `requested_by` has `per_user` requests pending, or all chats `total` (nothing recorded)."""
    async with conn.execute("SELECT decision FROM access_requests WHERE chat_id = ?", (chat_id,)) as cur:
        row = await cur.fetchone()
    if row is not None and row["decision"] in (None, "denied"):
        return "pending" if row["decision"] is None else "denied"
    if per_user is not None and requested_by is not None and await _pending_count(
            conn, "AND requested_by = ?", (requested_by,)) >= per_user:
        return "busy"
    if total is not None and await _pending_count(conn, "", ()) >= total:
        return "busy"
    await conn.execute(
        "INSERT OR REPLACE INTO access_requests(chat_id, title, requested_at, requested_by) VALUES (?, ?, ?, ?)",
        (chat_id, title, to_iso(now), requested_by),
    )
    return "new"


async def _pending_count(conn, where: str, args: tuple) -> int:
    async with conn.execute(f"SELECT count(*) FROM access_requests WHERE decision IS NULL {where}", args) as cur:
        return (await cur.fetchone())[0]


async def decide_request(conn, chat_id: int, approve: bool, actor: str, now: datetime) -> dict | None:
    """Approve (adds the subscriber) or deny a pending request; None if none is pending."""
    async with conn.execute(
        "SELECT * FROM access_requests WHERE chat_id = ? AND decision IS NULL", (chat_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    decision = "approved" if approve else "denied"
    await conn.execute("UPDATE access_requests SET decision = ?, decided_by = ? WHERE chat_id = ?",
                       (decision, actor, chat_id))
    await record_audit(conn, actor, "access.approve" if approve else "access.deny", "access_request",
                       str(chat_id), None, {"decision": decision}, at=to_iso(now))
    if approve:
        kind = SubscriberKind.USER if chat_id > 0 else SubscriberKind.GROUP
        await add_subscriber(conn, chat_id, actor, now, kind=kind, title=row["title"])
    return {"chat_id": chat_id, "title": row["title"], "decision": decision}


async def pending_requests(store: Store) -> list[dict]:
    rows = await store.fetchall(
        "SELECT chat_id, title, requested_at FROM access_requests WHERE decision IS NULL ORDER BY requested_at"
    )
    return [dict(r) for r in rows]


# ---- feedback -------------------------------------------------------------------

async def record_feedback(conn, subscriber_id: int, post_id: int, rule_id: str, relevant: bool,
                          now: datetime) -> None:
    await conn.execute(
        "INSERT OR REPLACE INTO feedback(subscriber_id, post_id, rule_id, relevant, at) VALUES (?, ?, ?, ?, ?)",
        (subscriber_id, post_id, rule_id, int(relevant), to_iso(now)),
    )


async def rule_precision(store: Store) -> dict[str, tuple[int, int]]:
    """rule id -> (relevant votes, all votes)."""
    rows = await store.fetchall(
        "SELECT rule_id, sum(relevant) AS good, count(*) AS votes FROM feedback GROUP BY rule_id"
    )
    return {r["rule_id"]: (int(r["good"]), int(r["votes"])) for r in rows}


# ---- /stats ---------------------------------------------------------------------

async def collect_stats(store: Store, day_start: datetime, silent_before: datetime) -> dict:
    """Figures for /stats since `day_start` (UTC); silent = flagged by the watcher or quiet since `silent_before`."""
    since = to_iso(day_start)
    return {
        "posts_today": await store.fetchval("SELECT count(*) FROM posts WHERE stored_at >= ?", (since,), 0),
        "matches_today": [tuple(r) for r in await store.fetchall(
            "SELECT rule_id, count(*) FROM matches WHERE created_at >= ? GROUP BY rule_id ORDER BY 2 DESC",
            (since,))],
        "sent_today": await store.fetchval(
            "SELECT count(*) FROM outbox WHERE status = 'sent' AND action = 'send' AND sent_at >= ?", (since,), 0),
        "queue": await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'", (), 0),
        "parked": await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'parked'", (), 0),
        "subscribers_active": await count_active(store, TELEGRAM_KINDS + TARGET_KINDS),
        "channels": [dict(r) for r in await store.fetchall(
            "SELECT id, username, title, status, last_seen_id, last_post_at FROM channels"
            " ORDER BY last_post_at DESC NULLS LAST LIMIT 30")],
        "silent": [dict(r) for r in await store.fetchall(
            "SELECT id, username, title, last_post_at FROM channels WHERE status = 'active'"
            " AND (warning = 'silent' OR last_post_at IS NULL OR last_post_at < ?) ORDER BY last_post_at", (to_iso(silent_before),))],
        "precision": await rule_precision(store),
    }


async def alerts_for_export(store: Store, subscriber_id: int, since: datetime) -> list[dict]:
    """The chat's alerts created since `since`, oldest first, with their posts."""
    rows = await store.fetchall(
        "SELECT o.created_at, o.sent_at, o.status, o.rules, p.date, p.channel_id, c.username,"
        " c.title AS channel_title, p.link, p.text, p.views, p.forwards FROM outbox o JOIN posts p ON p.id = o.post_id"
        " LEFT JOIN channels c ON c.id = p.channel_id"
        " WHERE o.subscriber_id = ? AND o.action = 'send' AND o.created_at >= ? ORDER BY o.created_at, o.id",
        (subscriber_id, to_iso(since)),
    )
    return [dict(r) for r in rows]


async def status_summary(store: Store) -> dict:
    """`dozor status`: channels by status, active subscribers, the outbox by status, the last post."""
    channels = {r[0]: r[1] for r in await store.fetchall("SELECT status, count(*) FROM channels GROUP BY status")}
    outbox = {r[0]: r[1] for r in await store.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")}
    return {
        "channels": channels,
        "subscribers_active": await count_active(store, TELEGRAM_KINDS + TARGET_KINDS),
        "outbox": outbox,
        "last_post_at": await store.fetchval("SELECT max(date) FROM posts"),
        "last_stored_at": await store.fetchval("SELECT max(stored_at) FROM posts"),
    }


async def retire_local_subscriber(store: Store, chat_id: int, now: datetime, reason: str) -> None:
    """A dry run is over: its terminal subscriber goes inactive and its unsent rows are parked,
    so no later run prints alerts to a terminal nobody watches."""
    async def retire(conn: aiosqlite.Connection) -> None:
        async with conn.execute("SELECT id FROM subscribers WHERE chat_id = ? AND kind = 'local'", (chat_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return
        await conn.execute("UPDATE subscribers SET active = 0 WHERE id = ?", (row[0],))
        await park_pending_of(conn, row[0], reason, now)

    await store.write(retire)


ALERT_CHAT_KEY = "alert_chat.chat_id"  # kv: the chat DOZOR_ALERT_CHAT resolved to last time


async def ensure_alert_chat_subscriber(store: Store, chat_id: int, kind: str, title: str, tz: str,
                                       now: datetime) -> tuple[Subscriber, int | None]:
    """The user account's alert chat as an active subscriber of every rule, created or updated.

    Returns it and the chat id of a previous alert chat that was retired (DOZOR_ALERT_CHAT
    changed: that subscriber goes inactive and its pending alerts are parked), else None."""
    async def ensure(conn: aiosqlite.Connection):
        await conn.execute(
            "INSERT INTO subscribers(chat_id, kind, title, tz, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(chat_id) DO UPDATE SET active = 1",
            (chat_id, kind, title, tz, to_iso(now)),
        )
        async with conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,)) as cursor:
            subscriber = subscriber_from_row(await cursor.fetchone())
        await conn.execute("INSERT OR IGNORE INTO subscriptions(subscriber_id, kind, value) VALUES (?, 'all', '')",
                           (subscriber.id,))
        previous = await kv.read_text(conn, ALERT_CHAT_KEY)
        retired = int(previous) if previous and int(previous) != chat_id else None
        if retired is not None:
            async with conn.execute("SELECT id FROM subscribers WHERE chat_id = ?", (retired,)) as cursor:
                old = await cursor.fetchone()
            if old is not None:
                await conn.execute("UPDATE subscribers SET active = 0 WHERE id = ?", (old[0],))
                await park_pending_of(conn, old[0], "DOZOR_ALERT_CHAT changed", now)
        await kv.set_text(conn, ALERT_CHAT_KEY, str(chat_id), now)
        return subscriber, retired

    return await store.write(ensure)
