"""Read queries for backtest and search (bot/history/): candidate posts with their channel names.

Rows carry `HISTORY_COLUMNS`: id, date, channel_id, message_id, text, link, channel
(username) and channel_title. Candidates come from the lemma index
(posts_lemmas, bot/storage/lemma_index.py) when a query has an indexable
term, else from the newest posts. A window is [since, until) in UTC, either
side open when None; `channel_id` narrows to one channel.
Also: the stored posts' date range (what an empty window reports) and the
stored matches of a window with their posts (`dozor export`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import aiosqlite

from bot.storage.db import Store, from_iso, to_iso
from bot.storage.lemma_index import lemma_filter

HISTORY_COLUMNS = (
    "p.id, p.date, p.channel_id, p.message_id, p.text, p.link, c.username AS channel, c.title AS channel_title"
)
_FROM = "FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"


def _window(since: datetime | None, until: datetime | None = None,
            channel_id: int | None = None) -> tuple[str, list]:
    """' AND …' conditions on p.date and p.channel_id, and their parameters."""
    sql, params = "", []
    if since is not None:
        sql, params = sql + " AND p.date >= ?", params + [to_iso(since)]
    if until is not None:
        sql, params = sql + " AND p.date < ?", params + [to_iso(until)]
    if channel_id is not None:
        sql, params = sql + " AND p.channel_id = ?", params + [channel_id]
    return sql, params


async def indexed_posts_since(store: Store, fts: str, since: datetime | None,
                              until: datetime | None = None) -> list[aiosqlite.Row]:
    """Posts in [since, until) whose lemmas match the FTS5 query `fts`."""
    where, params = _window(since, until)
    in_lemmas, param = lemma_filter(store, fts)
    return await store.fetchall(f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE {in_lemmas}{where}", [param, *params])


async def newest_posts_since(store: Store, since: datetime | None, limit: int,
                             until: datetime | None = None) -> list[aiosqlite.Row]:
    """Up to `limit` posts in [since, until), newest first."""
    where, params = _window(since, until)
    return await store.fetchall(
        f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE 1 = 1{where} ORDER BY p.date DESC LIMIT ?", [*params, limit],
    )


async def indexed_post_ids(store: Store, fts: str, since: datetime | None = None, until: datetime | None = None,
                           channel_id: int | None = None) -> list[int]:
    """Ids of the posts (in the window, of the channel) whose lemmas match the FTS5 query `fts`, newest first."""
    where, params = _window(since, until, channel_id)
    in_lemmas, param = lemma_filter(store, fts)
    rows = await store.fetchall(
        f"SELECT p.id FROM posts p WHERE {in_lemmas}{where} ORDER BY p.date DESC, p.id DESC", [param, *params],
    )
    return [r[0] for r in rows]


async def indexed_posts_before(store: Store, fts: str, before: tuple[str, int] | None, limit: int,
                               since: datetime | None = None, until: datetime | None = None,
                               channel_id: int | None = None) -> list[tuple[int, str]]:
    """(id, date) of the newest `limit` posts (in the window, of the channel) whose lemmas match the
    FTS5 query `fts` and that come after `before` (date, id) in newest-first order; from the newest
    when `before` is None. Paging with the last pair read gives indexed_post_ids' order in chunks."""
    where, params = _window(since, until, channel_id)
    if before is not None:
        where += " AND (p.date < ? OR (p.date = ? AND p.id < ?))"
        params += [before[0], before[0], before[1]]
    in_lemmas, param = lemma_filter(store, fts)
    rows = await store.fetchall(
        f"SELECT p.id, p.date FROM posts p WHERE {in_lemmas}{where} ORDER BY p.date DESC, p.id DESC LIMIT ?",
        [param, *params, limit])
    return [(r[0], r[1]) for r in rows]


async def newest_post_ids(store: Store, limit: int, since: datetime | None = None, until: datetime | None = None,
                          channel_id: int | None = None) -> list[int]:
    """Ids of the newest `limit` posts (in the window, of the channel), newest first."""
    where, params = _window(since, until, channel_id)
    rows = await store.fetchall(
        f"SELECT p.id FROM posts p WHERE 1 = 1{where} ORDER BY p.date DESC, p.id DESC LIMIT ?", [*params, limit])
    return [r[0] for r in rows]


async def stored_post_range(store: Store, since: datetime | None = None,
                            until: datetime | None = None) -> tuple[datetime | None, datetime | None, int]:
    """(first date, last date, count) of the stored posts in the window (all of them by default)."""
    where, params = _window(since, until)
    row = await store.fetchone(f"SELECT min(p.date), max(p.date), count(*) FROM posts p WHERE 1 = 1{where}", params)
    return from_iso(row[0]), from_iso(row[1]), row[2]


async def stored_matches(store: Store, since: datetime | None, until: datetime | None,
                         rule_ids: Sequence[str] = ()) -> list[dict]:
    """Matched posts in [since, until), oldest first, each with `matches`: [(rule_id, spans JSON)].

    Only matches of `rule_ids` when given. Rows carry HISTORY_COLUMNS and `deleted_at`."""
    where, params = _window(since, until)
    if rule_ids:
        where += f" AND m.rule_id IN ({','.join('?' * len(rule_ids))})"
        params += list(rule_ids)
    rows = await store.fetchall(
        f"SELECT {HISTORY_COLUMNS}, p.deleted_at, m.rule_id, m.spans {_FROM} JOIN matches m ON m.post_id = p.id"
        f" WHERE 1 = 1{where} ORDER BY p.date, p.id, m.rule_id", params,
    )
    posts: dict[int, dict] = {}
    for row in rows:
        post = posts.get(row["id"])
        if post is None:
            post = posts[row["id"]] = {key: row[key] for key in row.keys() if key not in ("rule_id", "spans")}
            post["matches"] = []
        post["matches"].append((row["rule_id"], row["spans"]))
    return list(posts.values())


async def history_posts(store: Store, post_ids: Sequence[int]) -> dict[int, aiosqlite.Row]:
    """Rows of these posts by id (keep `post_ids` under SQLite's bound-parameter limit)."""
    marks = ",".join("?" * len(post_ids))
    rows = await store.fetchall(f"SELECT {HISTORY_COLUMNS} {_FROM} WHERE p.id IN ({marks})", list(post_ids))
    return {row["id"]: row for row in rows}
