"""Full-text search over stored posts with the rule language's word forms, newest first, paged.

The lemma index gives candidate post ids in date order; the query is then
checked on each candidate's text until the page is full.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bot.history.backtest import SCAN_LIMIT, Target, post_summary
from bot.storage.db import Store
from bot.storage.history import history_posts, indexed_post_ids, newest_post_ids
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
        return await indexed_post_ids(store, target.fts)
    return await newest_post_ids(store, SCAN_LIMIT)


async def search_posts(store: Store, target: Target, page: int = 1, per_page: int = 5,
                       lemmatize: Callable[[str], str] | None = None) -> SearchPage:
    """Page `page` (from 1) of the posts `target` matches, newest first."""
    await refresh_lemma_index(store, lemmatize)
    result = SearchPage(target.label, page, per_page)
    skip, wanted = (page - 1) * per_page, per_page + 1
    ids = await _candidate_ids(store, target)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        by_id = await history_posts(store, chunk)
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
