"""Per-account facts: which access hash each account holds for a channel, and account outages.

An access hash belongs to the account that resolved the channel; sending one
account's hash from another is refused by Telegram. `channel_access` keeps one
row per (account, channel): the hash, or NULL with the error when that account
cannot read the channel. `channels.access_hash` stays the hash of the main
account (TG_SESSION), the one `dozor channels add` resolves with.

`account_notices` holds "offline since …" and "back" notices for the admins,
pending until `mark_account_notices_sent`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.db import Store, from_iso, to_iso


@dataclass(frozen=True, slots=True)
class AccountNotice:
    id: int
    account: str
    kind: str  # offline | back
    since: datetime
    at: datetime


async def access_for(store: Store, account: str, channel_id: int) -> tuple[bool, int | None, str | None]:
    """(known, hash, error): known is False when this account never resolved the channel."""
    row = await store.fetchone("SELECT access_hash, error FROM channel_access WHERE account = ? AND channel_id = ?",
                               (account, channel_id))
    return (False, None, None) if row is None else (True, row[0], row[1])


async def forget_refusals(store: Store, channel_id: int) -> None:
    """Let every account try the channel again (`dozor channels refresh`)."""
    async def delete(conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM channel_access WHERE channel_id = ? AND access_hash IS NULL", (channel_id,))

    await store.write(delete)


async def save_access(store: Store, account: str, channel_id: int, access_hash: int | None, now: datetime,
                      error: str | None = None) -> None:
    """What `account` learnt resolving the channel: its hash, or the error that kept it out."""
    async def upsert(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO channel_access(account, channel_id, access_hash, error, resolved_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(account, channel_id) DO UPDATE SET access_hash = excluded.access_hash,"
            " error = excluded.error, resolved_at = excluded.resolved_at",
            (account, channel_id, access_hash, error, to_iso(now)),
        )

    await store.write(upsert)


async def accounts_refused(store: Store, channel_id: int) -> set[str]:
    """Accounts that tried and cannot read the channel."""
    rows = await store.fetchall("SELECT account FROM channel_access WHERE channel_id = ? AND access_hash IS NULL",
                                (channel_id,))
    return {r[0] for r in rows}


async def add_account_notice(store: Store, account: str, kind: str, since: datetime, now: datetime) -> None:
    async def insert(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO account_notices(account, kind, since, at) VALUES (?, ?, ?, ?)",
                           (account, kind, to_iso(since), to_iso(now)))

    await store.write(insert)


async def pending_account_notices(store: Store) -> list[AccountNotice]:
    rows = await store.fetchall("SELECT * FROM account_notices WHERE sent_at IS NULL ORDER BY id")
    return [AccountNotice(r["id"], r["account"], r["kind"],
                          from_iso(r["since"]), from_iso(r["at"]))  # type: ignore[arg-type]
            for r in rows]


async def mark_account_notices_sent(store: Store, ids: list[int], now: datetime) -> None:
    async def update(conn: aiosqlite.Connection) -> None:
        await conn.executemany("UPDATE account_notices SET sent_at = ? WHERE id = ?", [(to_iso(now), i) for i in ids])

    await store.write(update)
