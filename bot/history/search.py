"""Full-text search over stored posts with the rule language's word forms, newest first, paged.

The lemma index gives candidate post ids newest first, read in growing chunks
(by date, then id), and the query is checked on each candidate's text until
the page is full: a first page reads only the newest candidates, never all of
a common word's, and finds exactly what checking every candidate would. The checks run in a
worker thread (as backtests do), so a slow query never blocks alerts or other
commands, and the whole search has a time budget (DOZOR_SEARCH_BUDGET): past
it, the page holds what was found so far and `stopped_after` says so.
A `SearchScope` narrows the posts to a UTC [since, until) window and one
channel (`dozor search --from --to --channel`); `mark` wraps matched words in
each excerpt (the CLI's bold on a terminal).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import AsyncIterator, Callable

from bot.history.backtest import SCAN_LIMIT, Target, post_summary
from bot.storage.db import Store
from bot.storage.history import history_posts, indexed_posts_before, newest_post_ids
from bot.storage.lemma_index import refresh_lemma_index

CHUNK = 200  # posts read and checked at a time
READ_MAX = 12_800  # candidate ids read at a time, at most
SEARCH_BUDGET = 3.0  # seconds; DOZOR_SEARCH_BUDGET's default


@dataclass(frozen=True)
class SearchScope:
    """Which stored posts a search reads: a UTC [since, until) window and a channel, each optional."""

    since: datetime | None = None
    until: datetime | None = None
    channel_id: int | None = None


EVERYTHING = SearchScope()


@dataclass
class SearchPage:
    query: str
    page: int
    per_page: int
    posts: list[dict] = field(default_factory=list)
    has_more: bool = False
    stopped_after: float | None = None  # the budget, when the search ran out of time


async def candidate_chunks(store: Store, target: Target, scope: SearchScope) -> AsyncIterator[list[int]]:
    """Candidate post ids, newest first, in chunks of at most CHUNK: lemma-index candidates read page
    by page (each read four times the last, up to READ_MAX), so a first page that fills early reads few."""
    if not target.fts:
        ids = await newest_post_ids(store, SCAN_LIMIT, scope.since, scope.until, scope.channel_id)
        for start in range(0, len(ids), CHUNK):
            yield ids[start:start + CHUNK]
        return
    before, size = None, CHUNK
    while True:
        found = await indexed_posts_before(store, target.fts, before, size, scope.since, scope.until,
                                           scope.channel_id)
        for start in range(0, len(found), CHUNK):
            yield [post_id for post_id, _ in found[start:start + CHUNK]]
        if len(found) < size:
            return
        before, size = (found[-1][1], found[-1][0]), min(size * 4, READ_MAX)


def check_until(target: Target, rows, wanted: int, deadline: float | None,
                clock: Callable[[], float]) -> tuple[list[tuple[object, list]], bool]:
    """(row, spans) of up to `wanted` rows the target matches, and whether `deadline` stopped it."""
    hits = []
    for row in rows:
        if deadline is not None and clock() >= deadline:
            return hits, True
        if target.needs_hash and "#" not in row["text"]:
            continue  # a hashtag query cannot be true on a text without '#'
        spans = target.spans(row["text"], row["channel"], row["channel_id"])
        if spans:
            hits.append((row, spans))
            if len(hits) == wanted:
                break
    return hits, False


async def search_posts(store: Store, target: Target, page: int = 1, per_page: int = 5,
                       lemmatize: Callable[[str], str] | None = None,
                       budget: float | None = SEARCH_BUDGET,
                       clock: Callable[[], float] = time.monotonic, scope: SearchScope = EVERYTHING,
                       mark: tuple[str, str] = ("", "")) -> SearchPage:
    """Page `page` (from 1) of the posts `target` matches, newest first, within `budget` seconds."""
    await refresh_lemma_index(store, lemmatize)
    result = SearchPage(target.label, page, per_page)
    deadline = None if budget is None else clock() + budget
    skip, wanted = (page - 1) * per_page, per_page + 1
    async for chunk in candidate_chunks(store, target, scope):
        by_id = await history_posts(store, chunk)
        rows = [by_id[post_id] for post_id in chunk]
        hits, stopped = await asyncio.to_thread(  # off the event loop: alerts keep flowing
            check_until, target, rows, skip + wanted - len(result.posts), deadline, clock)
        for row, spans in hits:
            if skip:
                skip -= 1
                continue
            result.posts.append(post_summary(row, spans, mark))
        if len(result.posts) == wanted:
            result.posts.pop()
            result.has_more = True
            return result
        if stopped:
            result.stopped_after = budget
            return result
    return result
