"""Watched channels: every query on the `channels` and `channel_requests` tables.

A channel row caches what resolving its name cost (id, access hash), so a
name is looked up at most once. `last_seen_id` only grows: it is the highest
message id the pipeline has accepted, and history sweeps start above it.
Operator warnings (silence, private, banned) are set once with `warned_at`
and stay pending until `mark_warnings_sent`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.models import ChannelStatus
from bot.storage.alert_log import forget_author_names
from bot.storage.audit import record_audit
from bot.storage.db import Store, from_iso, to_iso, utcnow_iso

WATCHED = (ChannelStatus.ACTIVE, ChannelStatus.UNRESOLVED)  # statuses a live watcher reads


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    username: str | None
    title: str | None
    access_hash: int | None
    account: str | None
    last_seen_id: int
    last_post_at: datetime | None
    status: str
    joined: bool
    warned_at: datetime | None
    warning: str | None = None
    show_authors: bool = False  # a group's members are named in alerts (an admin's choice); else "a member"

    @property
    def label(self) -> str:
        return f"@{self.username}" if self.username else str(self.id)


@dataclass(frozen=True, slots=True)
class ChannelWarning:
    channel_id: int
    label: str
    title: str | None
    kind: str  # silent | private | banned | not_found
    at: datetime


def _row(row: aiosqlite.Row) -> ChannelRow:
    return ChannelRow(
        id=row["id"], username=row["username"], title=row["title"], access_hash=row["access_hash"],
        account=row["account"], last_seen_id=row["last_seen_id"], last_post_at=from_iso(row["last_post_at"]),
        status=row["status"], joined=bool(row["joined"]), warned_at=from_iso(row["warned_at"]),
        warning=row["warning"], show_authors=bool(row["show_authors"]),
    )


async def get_channel(store: Store, channel_id: int) -> ChannelRow | None:
    row = await store.fetchone("SELECT * FROM channels WHERE id = ?", (channel_id,))
    return None if row is None else _row(row)


async def find_by_username(store: Store, username: str) -> ChannelRow | None:
    """The cached channel for a name (any case, with or without @), or None."""
    row = await store.fetchone("SELECT * FROM channels WHERE username = ?", (username.lstrip("@"),))
    return None if row is None else _row(row)


async def list_channels(store: Store, statuses: tuple[str, ...] | None = None) -> list[ChannelRow]:
    """Channels ordered by id; `statuses=None` gives every one except removed and replay-only ones."""
    if statuses is None:
        rows = await store.fetchall("SELECT * FROM channels WHERE status NOT IN ('removed', 'replay') ORDER BY id")
    else:
        marks = ",".join("?" * len(statuses))
        rows = await store.fetchall(f"SELECT * FROM channels WHERE status IN ({marks}) ORDER BY id", statuses)
    return [_row(r) for r in rows]


async def list_requests(store: Store, include_failed: bool = True) -> list[str]:
    """Names added offline and not resolved yet (failed ones too, unless told otherwise)."""
    where = "" if include_failed else " WHERE last_error IS NULL"
    return [r[0] for r in await store.fetchall(f"SELECT ref FROM channel_requests{where} ORDER BY added_at, ref")]


async def failed_requests(store: Store) -> dict[str, str]:
    """Queued names whose lookup failed (not retried, to spare the daily lookups), with why."""
    rows = await store.fetchall("SELECT ref, last_error FROM channel_requests WHERE last_error IS NOT NULL")
    return {r[0]: r[1] for r in rows}


async def add_request(store: Store, username: str, actor: str = "cli") -> bool:
    """Queue a name for resolving at the next live start. False if it was queued already."""
    name = username.lstrip("@")

    async def insert(conn: aiosqlite.Connection) -> bool:
        await conn.execute("DELETE FROM channel_requests WHERE ref = ? AND last_error IS NOT NULL", (name,))
        cur = await conn.execute(
            "INSERT OR IGNORE INTO channel_requests(ref, added_at, added_by) VALUES (?, ?, ?)",
            (name, utcnow_iso(), actor),
        )
        if cur.rowcount:
            await record_audit(conn, actor, "channel.request", "channel", name, None, {"username": name})
        return bool(cur.rowcount)

    return await store.write(insert)


async def drop_request(store: Store, ref: str) -> None:
    async def delete(conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM channel_requests WHERE ref = ?", (ref.lstrip("@"),))

    await store.write(delete)


async def fail_request(store: Store, username: str, error: str) -> None:
    async def update(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE channel_requests SET last_error = ? WHERE ref = ?", (error, username))

    await store.write(update)


async def save_channel(
    store: Store, channel_id: int, *, username: str | None = None, title: str | None = None,
    access_hash: int | None = None, status: ChannelStatus = ChannelStatus.ACTIVE, actor: str = "cli",
    private: bool = False,
) -> ChannelRow:
    """Add a channel or refresh what we know of it (a removed one comes back active).

    A `private` one (a group or channel without a username) comes in 'unconfirmed' instead
    of active until an admin confirms it (confirm_private). Drops a matching offline
    request. Audited when the channel is new or returns."""
    async def upsert(conn: aiosqlite.Connection) -> None:
        before = await (await conn.execute("SELECT status, confirmed_by FROM channels WHERE id = ?",
                                            (channel_id,))).fetchone()
        kept = status
        if private and status == ChannelStatus.ACTIVE and (before is None or before[1] is None):
            kept = ChannelStatus.UNCONFIRMED
        if username:  # a name moves to the channel that holds it now
            await conn.execute("UPDATE channels SET username = NULL WHERE username = ? AND id != ?",
                               (username, channel_id))
        await conn.execute(
            "INSERT INTO channels(id, username, title, access_hash, status, added_at, added_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            # the existing row's columns are named with the table: PostgreSQL finds a bare name ambiguous
            " ON CONFLICT(id) DO UPDATE SET username = COALESCE(excluded.username, channels.username),"
            " title = COALESCE(excluded.title, channels.title),"
            " access_hash = COALESCE(excluded.access_hash, channels.access_hash),"
            " status = CASE WHEN channels.status IN ('removed', 'unresolved', 'replay') THEN excluded.status"
            " ELSE channels.status END",
            (channel_id, username, title, access_hash, kept, utcnow_iso(), actor),
        )
        if username:
            await conn.execute("DELETE FROM channel_requests WHERE ref = ?", (username,))
        if before is None or before[0] in (ChannelStatus.REMOVED, ChannelStatus.REPLAY):
            await record_audit(conn, actor, "channel.add", "channel", str(channel_id),
                               None, {"username": username, "title": title, "status": kept})

    await store.write(upsert)
    return await get_channel(store, channel_id)  # type: ignore[return-value]


async def remove_channel(store: Store, ref: str, actor: str = "cli") -> str | None:
    """Stop watching a channel (row kept, status 'removed') or drop a queued name.

    `ref` is a username (with or without @) or a marked id. Returns the label removed, or None."""
    name = ref.lstrip("@")
    row = await (get_channel(store, int(name)) if name.lstrip("-").isdigit() else find_by_username(store, name))

    async def mark(conn: aiosqlite.Connection) -> str | None:
        if row is not None and row.status != ChannelStatus.REMOVED:
            await conn.execute("UPDATE channels SET status = 'removed' WHERE id = ?", (row.id,))
            await record_audit(conn, actor, "channel.remove", "channel", str(row.id), {"status": row.status},
                               {"status": ChannelStatus.REMOVED})
            return row.label
        cur = await conn.execute("DELETE FROM channel_requests WHERE ref = ?", (name,))
        if cur.rowcount:
            await record_audit(conn, actor, "channel.remove", "channel", name, {"username": name}, None)
            return f"@{name}"
        return None

    return await store.write(mark)


async def set_status(store: Store, channel_id: int, status: ChannelStatus, actor: str = "system") -> bool:
    """Change a channel's status (audited); False when there is none or it is unconfirmed (only an
    admin's confirm_private, or removal, moves a private chat on)."""
    async def update(conn: aiosqlite.Connection) -> bool:
        before = await (await conn.execute("SELECT status FROM channels WHERE id = ?", (channel_id,))).fetchone()
        if before is None:
            return False
        if before[0] == ChannelStatus.UNCONFIRMED and status != ChannelStatus.REMOVED:
            return False
        if before[0] == status:
            return True
        await conn.execute("UPDATE channels SET status = ? WHERE id = ?", (status, channel_id))
        if status == ChannelStatus.ACTIVE:  # resumed: every account may try it again (bot/storage/accounts.py)
            await conn.execute("DELETE FROM channel_access WHERE channel_id = ? AND access_hash IS NULL",
                               (channel_id,))
        await record_audit(conn, actor, "channel.status", "channel", str(channel_id), {"status": before[0]},
                           {"status": status})
        return True

    return await store.write(update)


async def confirm_private(store: Store, channel_id: int, actor: str) -> bool:
    """An admin's explicit yes to watching a private group or channel (audited); it becomes active
    if it was waiting for this. False when there is no such channel."""
    async def confirm(conn: aiosqlite.Connection) -> bool:
        before = await (await conn.execute("SELECT status, confirmed_by FROM channels WHERE id = ?",
                                           (channel_id,))).fetchone()
        if before is None:
            return False
        status = ChannelStatus.ACTIVE if before[0] == ChannelStatus.UNCONFIRMED else before[0]
        await conn.execute("UPDATE channels SET confirmed_by = ?, status = ? WHERE id = ?", (actor, status, channel_id))
        await record_audit(conn, actor, "channel.confirm_private", "channel", str(channel_id),
                           {"status": before[0], "confirmed_by": before[1]}, {"status": status, "confirmed_by": actor})
        return True

    return await store.write(confirm)


async def set_show_authors(store: Store, channel_id: int, show: bool, actor: str) -> bool:
    """Name a group's members in alerts (True) or only say "a member" (False, the default); audited.
    Turning names off also forgets the names stored for its messages and in its alerts' snapshots. False when there is no such chat."""
    async def update(conn: aiosqlite.Connection) -> bool:
        before = await (await conn.execute("SELECT show_authors FROM channels WHERE id = ?", (channel_id,))).fetchone()
        if before is None:
            return False
        await conn.execute("UPDATE channels SET show_authors = ? WHERE id = ?", (int(show), channel_id))
        if not show:
            await conn.execute("UPDATE posts SET author_name = NULL WHERE channel_id = ? AND author_name IS NOT NULL",
                               (channel_id,))
            await forget_author_names(conn, channel_id)
        await record_audit(conn, actor, "channel.show_authors", "channel", str(channel_id),
                           {"show_authors": bool(before[0])}, {"show_authors": show})
        return True

    return await store.write(update)


async def assign_account(store: Store, channel_id: int, account: str, joined: bool | None = None) -> None:
    async def update(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE channels SET account = ?, joined = COALESCE(?, joined) WHERE id = ?",
                           (account, None if joined is None else int(joined), channel_id))

    await store.write(update)


async def advance_last_seen(store: Store, channel_id: int, message_id: int, post_at: datetime | None) -> None:
    """Raise last_seen_id (never lowers it); a new post ends a silence warning episode."""
    async def update(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "UPDATE channels SET last_seen_id = MAX(last_seen_id, ?),"
            " last_post_at = CASE WHEN ? IS NOT NULL AND (last_post_at IS NULL OR last_post_at < ?)"
            "   THEN ? ELSE last_post_at END,"
            " warned_at = CASE WHEN warning = 'silent' AND ? IS NOT NULL THEN NULL ELSE warned_at END,"
            " warning = CASE WHEN warning = 'silent' AND ? IS NOT NULL THEN NULL ELSE warning END"
            " WHERE id = ?",
            (message_id, *([to_iso(post_at)] * 5), channel_id),
        )

    await store.write(update)


async def recent_post_dates(store: Store, channel_id: int, limit: int = 30) -> list[datetime]:
    """Dates of the channel's latest stored posts, oldest first (for its usual rhythm)."""
    rows = await store.fetchall(
        "SELECT date FROM posts WHERE channel_id = ? ORDER BY date DESC LIMIT ?", (channel_id, limit)
    )
    return sorted(from_iso(r[0]) for r in rows)  # type: ignore[type-var]


async def album_message_id(store: Store, channel_id: int, grouped_id: int) -> int | None:
    """The message id an album was stored under (its first item), if stored."""
    return await store.fetchval(
        "SELECT MIN(message_id) FROM posts WHERE channel_id = ? AND grouped_id = ?", (channel_id, grouped_id)
    )


async def warn_once(store: Store, channel_id: int, kind: str, now: datetime) -> bool:
    """Record an operator warning unless one of this kind is already recorded. True if new."""
    async def update(conn: aiosqlite.Connection) -> bool:
        cur = await conn.execute(
            "UPDATE channels SET warned_at = ?, warning = ?, warning_sent_at = NULL"
            " WHERE id = ? AND (warning IS NULL OR warning != ?)",
            (to_iso(now), kind, channel_id, kind),
        )
        return bool(cur.rowcount)

    return await store.write(update)


async def pending_warnings(store: Store) -> list[ChannelWarning]:
    """Operator warnings not yet routed to admins, oldest first."""
    rows = await store.fetchall(
        "SELECT * FROM channels WHERE warned_at IS NOT NULL AND warning IS NOT NULL"
        " AND warning_sent_at IS NULL ORDER BY warned_at, id"
    )
    return [ChannelWarning(r["id"], _row(r).label, r["title"], r["warning"], from_iso(r["warned_at"]))
            for r in rows]  # type: ignore[arg-type]


async def mark_warnings_sent(store: Store, channel_ids: list[int], now: datetime) -> None:
    async def update(conn: aiosqlite.Connection) -> None:
        await conn.executemany("UPDATE channels SET warning_sent_at = ? WHERE id = ?",
                               [(to_iso(now), cid) for cid in channel_ids])

    await store.write(update)
