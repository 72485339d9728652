"""The FTS5 index of post lemmas (table posts_lemmas, rowid = posts.id), kept current at ingest.

The pipeline indexes every new post in the transaction that stores it
(`index_new_posts`, replay and live alike), so a backtest or search finds the
index ready. `refresh_lemma_index(store)` still runs before each backtest and
search and indexes what ingest did not: posts stored before this existed, or
by another path. It indexes every post above the high-water mark (kept in the
key-value store, bot/storage/kv.py) that has no row yet. Rows hold
`bot.text.lemma_text(text)`, so a rule's `Query.fts_query()` selects a
superset of the posts it matches. When the lemmas change (bot.text.LEMMA_VERSION),
the next refresh rebuilds the index. Edits after indexing are not re-indexed
(the matcher re-checks the stored text).

On PostgreSQL the same lemma keys go into a `tsvector` (posts_lemmas.lemmas, GIN-indexed), split
into tokens as FTS5's unicode61 splits them (bot/storage/lemma_tsquery.py), and the FTS5 query is
rewritten as a `tsquery` (`lemma_filter`): the same posts are selected on both engines. Several
processes may index at once there, and a post id may commit after a higher one: PostgreSQL re-reads
a margin below the high-water mark and skips posts already indexed.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Callable, Sequence

import aiosqlite

from bot.clock import utc_now
from bot.storage import kv
from bot.storage.db import Store
from bot.storage.lemma_tsquery import fts5_to_tsquery, tsvector_literal
from bot.text import LEMMA_VERSION, lemma_text

log = logging.getLogger(__name__)

STATE_KEY = "lemma_index.last_id"
VERSION_KEY = "lemma_index.version"
BATCH = 500  # about a quarter second of lemmatizing, off the event loop
Progress = Callable[[int, int], None]  # (posts indexed so far, posts to index)
PG_MARGIN = 10_000  # PostgreSQL: ids this far below the mark are checked again for late commits


def default_lemmatizer() -> Callable[[str], str]:
    return lemma_text


async def indexed_count(store: Store) -> int:
    """How many posts the lemma index holds."""
    return await store.fetchval("SELECT count(*) FROM posts_lemmas", (), 0)


async def indexed_up_to(store: Store) -> int:
    return await kv.get_int(store, STATE_KEY, 0)


async def unindexed_count(store: Store) -> int:
    """How many posts a refresh would index now (a rebuild after a lemma change: all of them)."""
    if await _stale(store):
        return await store.fetchval("SELECT count(*) FROM posts", (), 0)
    return await store.fetchval(
        "SELECT count(*) FROM posts WHERE id > ? AND NOT EXISTS (SELECT 1 FROM posts_lemmas l WHERE l.rowid = posts.id)",
        (await indexed_up_to(store),), 0)


_refreshing: "weakref.WeakKeyDictionary[Store, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def refresh_lemma_index(store: Store, lemmatize: Callable[[str], str] | None = None,
                              progress: Progress | None = None) -> int:
    """Index the posts ingest did not; returns how many were indexed. `progress(done, total)` is
    called after each batch (the CLI draws a bar with it).

    One refresh at a time per store: a /backtest and the live housekeeping may ask together,
    and both would otherwise index the same posts from the same high-water mark.
    """
    lock = _refreshing.setdefault(store, asyncio.Lock())
    async with lock:
        if await _stale(store):
            await store.write(_wipe)
        return await _refresh(store, lemmatize or default_lemmatizer(), progress)


async def _stale(store: Store) -> bool:
    """True when rows were made with other lemmas than bot.text's now."""
    version = await kv.get_int(store, VERSION_KEY, 0)
    return version != LEMMA_VERSION and (version or await indexed_count(store) > 0)


async def _wipe(conn: aiosqlite.Connection) -> None:
    log.info("lemma index: word forms changed (version %d), rebuilding it", LEMMA_VERSION)
    if _dialect(conn) == "postgresql":
        await conn.execute("DELETE FROM posts_lemmas")
    else:
        await conn.execute("INSERT INTO posts_lemmas(posts_lemmas) VALUES ('delete-all')")  # contentless FTS5
    await conn.execute("DELETE FROM state WHERE key = ?", (STATE_KEY,))
    await kv.set_text(conn, VERSION_KEY, str(LEMMA_VERSION), utc_now())


async def _refresh(store: Store, lemmatize: Callable[[str], str], progress: Progress | None) -> int:
    total, todo = 0, (await unindexed_count(store) if progress else 0)
    last = await indexed_up_to(store)
    while True:
        rows = await unindexed_posts(store, last, BATCH)
        if not rows:
            break
        batch = await asyncio.to_thread(lambda rows=rows: [(r["id"], lemmatize(r["text"])) for r in rows])
        await store.write(lambda conn, batch=batch: store_lemmas(conn, batch))
        last = batch[-1][0]
        total += len(batch)
        if progress:
            progress(total, max(todo, total))
    if total:
        log.info("lemma index: %d posts indexed, up to id %d", total, last)
    return total


async def unindexed_posts(store: Store, after_id: int, limit: int) -> list[aiosqlite.Row]:
    """(id, text) of up to `limit` posts with an id above `after_id` (on PostgreSQL: PG_MARGIN below it)
    and no index row, in id order."""
    if store.dialect == "postgresql":
        after_id -= PG_MARGIN
    return await store.fetchall(
        "SELECT id, text FROM posts p WHERE id > ? AND NOT EXISTS (SELECT 1 FROM posts_lemmas l WHERE l.rowid = p.id)"
        " ORDER BY id LIMIT ?", (after_id, limit))


def _dialect(conn) -> str:
    return getattr(conn, "dialect", "sqlite")


async def _insert_rows(conn, rows: Sequence[tuple[int, str]]) -> None:
    """(post id, lemma text) rows into the index: FTS5 rows, or tsvectors on PostgreSQL."""
    if _dialect(conn) == "postgresql":
        await conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?::tsvector)"
                               " ON CONFLICT DO NOTHING", [(i, tsvector_literal(text)) for i, text in rows])
    else:
        await conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?)", rows)


async def store_lemmas(conn: aiosqlite.Connection, rows: list[tuple[int, str]]) -> None:
    """Insert (post id, lemma text) rows and move the high-water mark; inside Store.write."""
    await _insert_rows(conn, rows)
    await kv.raise_int(conn, STATE_KEY, max(r[0] for r in rows), utc_now())
    await kv.set_text(conn, VERSION_KEY, str(LEMMA_VERSION), utc_now())


async def index_new_posts(conn: aiosqlite.Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Index posts just stored in this transaction (post id, lemma text); the ingest side.

    The high-water mark moves only when the index was current (no other post above it waits),
    so posts stored before are still picked up by the next refresh."""
    if not rows:
        return
    version, mark = await kv.read_text(conn, VERSION_KEY), int(await kv.read_text(conn, STATE_KEY) or 0)
    if version is None:  # never stamped: an empty index is ours to start; rows of before are not
        async with conn.execute("SELECT 1 FROM posts_lemmas LIMIT 1") as cursor:
            if await cursor.fetchone() is None:
                version = str(LEMMA_VERSION)
                await kv.set_text(conn, VERSION_KEY, version, utc_now())
    await _insert_rows(conn, rows)
    if version != str(LEMMA_VERSION):
        return  # older lemmas: the next refresh rebuilds everything
    ids = [r[0] for r in rows]
    marks = ",".join("?" * len(ids))
    async with conn.execute(f"SELECT 1 FROM posts WHERE id > ? AND id NOT IN ({marks}) AND NOT EXISTS"
                            " (SELECT 1 FROM posts_lemmas l WHERE l.rowid = posts.id) LIMIT 1", (mark, *ids)) as cursor:
        waiting = await cursor.fetchone()
    if waiting is None:
        await kv.raise_int(conn, STATE_KEY, max(ids), utc_now())


def lemma_filter(store: Store, fts: str) -> tuple[str, str]:
    """`p.id IN (…)`: the posts whose lemmas match the FTS5 query `fts`, and its one parameter."""
    if store.dialect == "postgresql":
        return "p.id IN (SELECT rowid FROM posts_lemmas WHERE lemmas @@ ?::tsquery)", fts5_to_tsquery(fts)
    return "p.id IN (SELECT rowid FROM posts_lemmas WHERE posts_lemmas MATCH ?)", fts
