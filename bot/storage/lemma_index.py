"""A lazily filled FTS5 index of post lemmas (table posts_lemmas, rowid = posts.id).

Nobody else has to maintain it: `refresh_lemma_index(store)` indexes every post
with an id above the last indexed one (kept in scheduler_state) and is called
before each backtest and search. Rows hold `bot.text.lemma_text(text)`, so a
rule's `Query.fts_query()` selects a superset of the posts it matches.
Edits after indexing are not re-indexed (the matcher re-checks the stored text).
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Callable

import aiosqlite

from bot.storage.db import Store, utcnow_iso

log = logging.getLogger(__name__)

STATE_KEY = "lemma_index.last_id"
BATCH = 500  # about a quarter second of lemmatizing, off the event loop


def default_lemmatizer() -> Callable[[str], str]:
    from bot.text import lemma_text

    return lemma_text


async def indexed_up_to(store: Store) -> int:
    value = await store.fetchval("SELECT value FROM scheduler_state WHERE key = ?", (STATE_KEY,))
    return int(value or 0)


_refreshing: "weakref.WeakKeyDictionary[Store, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def refresh_lemma_index(store: Store, lemmatize: Callable[[str], str] | None = None) -> int:
    """Index posts added since the last call; returns how many were indexed.

    One refresh at a time per store: a /backtest and the live housekeeping may ask together,
    and both would otherwise index the same posts from the same high-water mark.
    """
    lock = _refreshing.setdefault(store, asyncio.Lock())
    async with lock:
        return await _refresh(store, lemmatize or default_lemmatizer())


async def _refresh(store: Store, lemmatize: Callable[[str], str]) -> int:
    total = 0
    last = await indexed_up_to(store)
    while True:
        rows = await store.fetchall(
            "SELECT id, text FROM posts WHERE id > ? ORDER BY id LIMIT ?", (last, BATCH)
        )
        if not rows:
            break
        batch = await asyncio.to_thread(lambda rows=rows: [(r["id"], lemmatize(r["text"])) for r in rows])
        await store.write(lambda conn, batch=batch: store_lemmas(conn, batch))
        last = batch[-1][0]
        total += len(batch)
    if total:
        log.info("lemma index: %d posts indexed, up to id %d", total, last)
    return total


async def store_lemmas(conn: aiosqlite.Connection, rows: list[tuple[int, str]]) -> None:
    """Insert (post id, lemma text) rows and move the high-water mark; inside Store.write."""
    await conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?)", rows)
    await conn.execute(
        "INSERT INTO scheduler_state(key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        " WHERE CAST(excluded.value AS INTEGER) > CAST(scheduler_state.value AS INTEGER)",
        (STATE_KEY, str(max(r[0] for r in rows)), utcnow_iso()),
    )
