"""Full-text search over stored posts with the rule language's word forms, newest first, paged.

The lemma index gives candidate post ids in date order; the query is then
checked on each candidate's text until the page is full.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bot.history.backtest import POST_COLUMNS, SCAN_LIMIT, Target, post_summary
from bot.storage.db import Store
from bot.storage.lemma_index import refresh_lemma_index

CHUNK = 200


@dataclass
class SearchPage:
    query: str
    page: int
    per_page: int
    posts: list[dict] = field(default_factory=list)
    has_more: bool = False


async def _candidate_ids(store: Store, target: Target) -> list[int]:
    if target.fts:
        rows = await store.fetchall(
            "SELECT p.id FROM posts p WHERE p.id IN"
            " (SELECT rowid FROM posts_lemmas WHERE posts_lemmas MATCH ?) ORDER BY p.date DESC, p.id DESC",
            (target.fts,),
        )
    else:
        rows = await store.fetchall("SELECT id FROM posts ORDER BY date DESC, id DESC LIMIT ?", (SCAN_LIMIT,))
    return [r[0] for r in rows]


async def search_posts(store: Store, target: Target, page: int = 1, per_page: int = 5,
                       lemmatize: Callable[[str], str] | None = None) -> SearchPage:
    """Page `page` (from 1) of the posts `target` matches, newest first."""
    await refresh_lemma_index(store, lemmatize)
    result = SearchPage(target.label, page, per_page)
    skip, wanted = (page - 1) * per_page, per_page + 1
    ids = await _candidate_ids(store, target)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(
            f"SELECT {POST_COLUMNS} FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
            f" WHERE p.id IN ({marks})", chunk,
        )
        by_id = {row["id"]: row for row in rows}
        for post_id in chunk:
            row = by_id[post_id]
            spans = target.spans(row["text"], row["channel"], row["channel_id"])
            if not spans:
                continue
            if skip:
                skip -= 1
                continue
            result.posts.append(post_summary(row, spans))
            if len(result.posts) == wanted:
                result.posts.pop()
                result.has_more = True
                return result
    return result
