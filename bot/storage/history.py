"""Read queries for backtest and search (bot/history/): candidate posts with their channel names.

Rows carry `HISTORY_COLUMNS`: id, date, channel_id, message_id, text, link, channel
(username) and channel_title. Candidates come from the lemma index
(posts_lemmas, bot/storage/lemma_index.py) when a query has an indexable
term, else from the newest posts.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import aiosqlite

from bot.storage.db import Store, to_iso
from bot.storage.lemma_index import lemma_filter

HISTORY_COLUMNS = (
    "p.id, p.date, p.channel_id, p.message_id, p.text, p.link, c.username AS channel, c.title AS channel_title"
)
_FROM = "FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
async def indexed_posts_since(store: Store, fts: str, since: datetime) -> list[aiosqlite.Row]:
    """Posts dated `since` or later whose lemmas match the FTS5 query `fts`."""
    in_lemmas, param = lemma_filter(store, fts)
    return await store.fetchall(
        f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE {in_lemmas} AND p.date >= ?", (param, to_iso(since)),
    )


async def newest_posts_since(store: Store, since: datetime, limit: int) -> list[aiosqlite.Row]:
    """Up to `limit` posts dated `since` or later, newest first."""
    return await store.fetchall(
        f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE p.date >= ? ORDER BY p.date DESC LIMIT ?", (to_iso(since), limit),
    )


async def indexed_post_ids(store: Store, fts: str) -> list[int]:
    """Ids of the posts whose lemmas match the FTS5 query `fts`, newest first."""
    in_lemmas, param = lemma_filter(store, fts)
    rows = await store.fetchall(
        f"SELECT p.id FROM posts p WHERE {in_lemmas} ORDER BY p.date DESC, p.id DESC", (param,),
    )
    return [r[0] for r in rows]


async def newest_post_ids(store: Store, limit: int) -> list[int]:
    """Ids of the newest `limit` posts, newest first."""
    rows = await store.fetchall("SELECT id FROM posts ORDER BY date DESC, id DESC LIMIT ?", (limit,))
    return [r[0] for r in rows]


async def history_posts(store: Store, post_ids: Sequence[int]) -> dict[int, aiosqlite.Row]:
    """Rows of these posts by id (keep `post_ids` under SQLite's bound-parameter limit)."""
    marks = ",".join("?" * len(post_ids))
    rows = await store.fetchall(f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE p.id IN ({marks})", list(post_ids))
    return {row["id"]: row for row in rows}
