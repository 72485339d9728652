"""A named key-value store (table `state`, migration 0008): small facts that outlive a process.

Keys are dotted or colon-separated names owned by one caller each, e.g.
'lemma_index.last_id' (bot/storage/lemma_index.py) or 'search:<chat id>'
(the last /search of a chat). Values are text; the typed helpers convert.
Writers take the connection (call them inside `Store.write`); readers take the Store.
"""
from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.storage.db import Store, to_iso


async def get_text(store: Store, key: str, default: str | None = None) -> str | None:
    """The value stored under `key`, or `default` when there is none."""
    return await store.fetchval("SELECT value FROM state WHERE key = ?", (key,), default)


async def read_text(conn: aiosqlite.Connection, key: str) -> str | None:
    """The value under `key` read inside a write (the same transaction), or None."""
    async with conn.execute("SELECT value FROM state WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def get_int(store: Store, key: str, default: int = 0) -> int:
    """The value under `key` as an integer, or `default` when there is none."""
    value = await get_text(store, key)
    return default if value is None else int(value)


async def set_text(conn: aiosqlite.Connection, key: str, value: str, now: datetime) -> None:
    """Store `value` under `key`, replacing what was there."""
    await conn.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, to_iso(now)),
    )


async def raise_int(conn: aiosqlite.Connection, key: str, value: int, now: datetime) -> None:
    """Store `value` under `key` only if it is greater than the stored one (a high-water mark)."""
    await conn.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        " WHERE CAST(excluded.value AS INTEGER) > CAST(state.value AS INTEGER)",
        (key, str(value), to_iso(now)),
    )


async def increment(conn: aiosqlite.Connection, key: str, now: datetime) -> int:
    """Add one to the integer under `key` (0 when missing) and return the new value."""
    await conn.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, '1', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(state.value AS INTEGER) + 1 AS TEXT),"
        " updated_at = excluded.updated_at",
        (key, to_iso(now)),
    )
    return int(await read_text(conn, key))
