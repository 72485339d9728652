"""How long delivery stalls while the worst /search runs, and the /regex/ budget per post.

The worst query of issue 13: `/((.)+)+\\1\\1\\1\\1\\1\\1\\1/` repeated 37 times (what fits
in a 1,000-character /search), over the 22,099 replay posts
(../shared/data/replay/posts.jsonl.gz) stored in a temporary database.

Delivery shares the event loop with commands, so the stall is measured as the
loop's longest gap: a ticker coroutine sleeps 5 ms at a time beside the search
and records how late it wakes (the outbox worker would wait just as long).

- before: the previous search (every candidate checked on the event loop, no
  budget, any number of /regex/ terms), copied below as `search_on_loop`;
- after: `bot.history.search.search_posts` (checks in a worker thread, a 3 s
  budget) with the one /regex/ term a subscriber may send, and with all 37
  (compiled past the cap) to show the thread alone keeps the loop free.

Then the per-post /regex/ budget: 10 rules at the cap (3 of these regexes each)
on one 2,000-character post, matched with no budget and with the default one.

    .venv/bin/python bench/search_freeze_bench.py

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.history.backtest import SCAN_LIMIT, Target, post_summary  # noqa: E402
from bot.history.search import SEARCH_BUDGET, search_posts  # noqa: E402
from bot.models import RuleDef  # noqa: E402
from bot.rules import compile_rules  # noqa: E402
from bot.rules.nodes import MAX_RULE_REGEXES, REGEX_POST_BUDGET  # noqa: E402
from bot.rules.query import parse_query  # noqa: E402
from bot.rules.ruleset import Query  # noqa: E402
from bot.sources import ReadReport, read_posts  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.history import history_posts, newest_post_ids  # noqa: E402
from bot.storage.lemma_index import refresh_lemma_index  # noqa: E402
from bot.storage.posts import ensure_channel, insert_post  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
WORST = r"/((.)+)+\1\1\1\1\1\1\1/"
TICK = 0.005


def target_of(query: str) -> Target:
    """The query compiled with no /regex/ cap (as before issue 13)."""
    compiled = Query(query, parse_query(query))
    return Target(query, compiled.fts_query(), lambda text, channel, cid: compiled.matches_text(text))


async def search_on_loop(store: Store, target: Target, per_page: int = 5) -> int:
    """The search before issue 13: every candidate checked on the event loop, no budget."""
    ids = await newest_post_ids(store, SCAN_LIMIT)
    found = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        by_id = await history_posts(store, chunk)
        for post_id in chunk:
            row = by_id[post_id]
            spans = target.spans(row["text"], row["channel"], row["channel_id"])
            if spans:
                found.append(post_summary(row, spans))
                if len(found) == per_page + 1:
                    return len(found) - 1
    return len(found)


async def longest_stall(work) -> tuple[float, float, object]:
    """(longest loop gap beyond the tick, wall seconds, result) while `work` runs."""
    done = asyncio.Event()
    worst = 0.0

    async def ticker():
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            worst = max(worst, time.perf_counter() - before - TICK)

    started = time.perf_counter()
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done.set()
        await tick
    return worst, time.perf_counter() - started, result


async def fill(store: Store) -> int:
    posts = list(read_posts(REPLAY, ReadReport(), NOW))

    async def put(conn):
        for post in posts:
            await ensure_channel(conn, post, NOW)
            await insert_post(conn, post, NOW)
    await store.write(put)
    await refresh_lemma_index(store, str.lower)  # the worst query has no indexable word anyway
    return len(posts)


def regex_budget_figures() -> None:
    rules = [RuleDef(f"slow{i}", " OR ".join([WORST] * MAX_RULE_REGEXES)) for i in range(10)]
    post = "мобилизация и повестка, " * 84  # about 2,000 characters
    for label, budget in (("no per-post budget (before)", None), (f"budget {REGEX_POST_BUDGET} s (after)",
                                                                   REGEX_POST_BUDGET)):
        ruleset = compile_rules(rules, regex_budget=budget)
        ruleset.match_text(post)  # warm the word cache
        started = time.perf_counter()
        ruleset.match_text(post)
        print(f"regex budget per post: 10 rules x {MAX_RULE_REGEXES} worst regexes, one 2,000-char post, "
              f"{label}: {time.perf_counter() - started:.3f} s on the event loop")


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "bench.db")
        try:
            started = time.perf_counter()
            count = await fill(store)
            print(f"{count} replay posts stored and indexed in {time.perf_counter() - started:.1f} s")
            worst37 = " ".join([WORST] * 37)
            print(f"worst query: {len(worst37)} characters, 37 regex terms")
            stall, wall, found = await longest_stall(search_on_loop(store, target_of(worst37)))
            print(f"before (checks on the loop, no budget), 37 regexes: loop stalled {stall:.2f} s, "
                  f"search took {wall:.2f} s, {found} posts")
            for label, query in (("1 regex (a subscriber's limit)", WORST), ("37 regexes past the cap", worst37)):
                stall, wall, page = await longest_stall(search_posts(store, target_of(query), budget=SEARCH_BUDGET,
                                                                     lemmatize=str.lower))
                print(f"after (worker thread, {SEARCH_BUDGET:g} s budget), {label}: loop stalled {stall * 1000:.1f} ms, "
                      f"search took {wall:.2f} s, {len(page.posts)} posts, stopped_after={page.stopped_after}")
        finally:
            await store.close()
    regex_budget_figures()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the regex warnings are the point, not the output
    asyncio.run(main())
