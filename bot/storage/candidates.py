"""Reads for rule preview (bot/history/preview.py): lemma-index candidates by id range, edits, rows.

Candidates come from the lemma index (posts_lemmas, bot/storage/lemma_index.py)
exactly as a backtest's do; the preview asks for them clause by clause and only
above the last post id it has seen, so a year is read once and then extended.
"""
from __future__ import annotations

from typing import Sequence

import aiosqlite

from bot.storage.db import Store
from bot.storage.lemma_index import lemma_filter

CHUNK = 500  # ids per IN (...) list, under SQLite's bound-parameter limit


async def candidate_dates(store: Store, fts: str, after_id: int, upto_id: int) -> list[tuple[int, str]]:
    """(id, date) of the posts with after_id < id <= upto_id whose lemmas match the FTS5 query `fts`."""
    in_lemmas, param = lemma_filter(store, fts)
    rows = await store.fetchall(f"SELECT p.id, p.date FROM posts p WHERE {in_lemmas} AND p.id > ? AND p.id <= ?",
                                (param, after_id, upto_id))
    return [(r[0], r[1]) for r in rows]


async def edited_posts(store: Store, after_edit: int) -> tuple[list[int], int]:
    """Ids of the posts edited since post_edits id `after_edit`, and the newest post_edits id."""
    newest = await store.fetchval("SELECT max(id) FROM post_edits", (), None) or 0
    if newest <= after_edit:
        return [], newest
    rows = await store.fetchall("SELECT DISTINCT post_id FROM post_edits WHERE id > ? AND id <= ?",
                                (after_edit, newest))
    return [r[0] for r in rows], newest


async def posts_to_check(store: Store, post_ids: Sequence[int]) -> list[aiosqlite.Row]:
    """(id, date, text, channel_id, channel username) of these posts."""
    rows = []
    for start in range(0, len(post_ids), CHUNK):
        part = list(post_ids[start:start + CHUNK])
        rows += await store.fetchall(
            "SELECT p.id, p.date, p.text, p.channel_id, c.username AS channel FROM posts p"
            f" LEFT JOIN channels c ON c.id = p.channel_id WHERE p.id IN ({','.join('?' * len(part))})", part)
    return rows
