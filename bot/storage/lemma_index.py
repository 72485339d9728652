"""A lazily filled FTS5 index of post lemmas (table posts_lemmas, rowid = posts.id).

Nobody else has to maintain it: `refresh_lemma_index(store)` indexes every post
with an id above the last indexed one (kept in the key-value store, bot/storage/kv.py) and is called
before each backtest and search. Rows hold `bot.text.lemma_text(text)`, so a
rule's `Query.fts_query()` selects a superset of the posts it matches.
Edits after indexing are not re-indexed (the matcher re-checks the stored text).

On PostgreSQL the same lemma keys go into a `tsvector` (posts_lemmas.lemmas, GIN-indexed), split
into tokens as FTS5's unicode61 splits them (bot/storage/lemma_tsquery.py), and the FTS5 query is
rewritten as a `tsquery`: the same posts are selected on both engines. Several processes may
index at once there, and a post id may commit after a higher one: PostgreSQL re-reads a margin
below the high-water mark and skips posts already indexed.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Callable

import aiosqlite

from bot.clock import utc_now
from bot.storage import kv
from bot.storage.db import Store
from bot.storage.lemma_tsquery import fts5_to_tsquery, tsvector_literal
from bot.text import lemma_text

log = logging.getLogger(__name__)

STATE_KEY = "lemma_index.last_id"
BATCH = 500  # about a quarter second of lemmatizing, off the event loop
PG_MARGIN = 10_000  # PostgreSQL: ids this far below the mark are checked again for late commits


def default_lemmatizer() -> Callable[[str], str]:
    return lemma_text


async def indexed_count(store: Store) -> int:
    """How many posts the lemma index holds."""
    return await store.fetchval("SELECT count(*) FROM posts_lemmas", (), 0)


async def indexed_up_to(store: Store) -> int:
    return await kv.get_int(store, STATE_KEY, 0)


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
        rows = await unindexed_posts(store, last, BATCH)
        if not rows:
            break
        batch = await asyncio.to_thread(lambda rows=rows: [(r["id"], lemmatize(r["text"])) for r in rows])
        await store.write(lambda conn, batch=batch: store_lemmas(conn, batch))
        last = batch[-1][0]
        total += len(batch)
    if total:
        log.info("lemma index: %d posts indexed, up to id %d", total, last)
    return total


async def unindexed_posts(store: Store, after_id: int, limit: int) -> list[aiosqlite.Row]:
    """(id, text) of up to `limit` posts with an id above `after_id`, in id order."""
    if store.dialect == "postgresql":
        return await store.fetchall(
            "SELECT id, text FROM posts p WHERE id > ? AND NOT EXISTS"
            " (SELECT 1 FROM posts_lemmas l WHERE l.rowid = p.id) ORDER BY id LIMIT ?",
            (after_id - PG_MARGIN, limit))
    return await store.fetchall("SELECT id, text FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))


async def store_lemmas(conn: aiosqlite.Connection, rows: list[tuple[int, str]]) -> None:
    """Insert (post id, lemma text) rows and move the high-water mark; inside Store.write."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        await conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?::tsvector)"
                               " ON CONFLICT DO NOTHING", [(i, tsvector_literal(text)) for i, text in rows])
    else:
        await conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?)", rows)
    await kv.raise_int(conn, STATE_KEY, max(r[0] for r in rows), utc_now())


def lemma_filter(store: Store, fts: str) -> tuple[str, str]:
    """`p.id IN (…)`: the posts whose lemmas match the FTS5 query `fts`, and its one parameter."""
    if store.dialect == "postgresql":
        return "p.id IN (SELECT rowid FROM posts_lemmas WHERE lemmas @@ ?::tsquery)", fts5_to_tsquery(fts)
    return "p.id IN (SELECT rowid FROM posts_lemmas WHERE posts_lemmas MATCH ?)", fts
