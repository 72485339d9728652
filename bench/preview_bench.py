"""Rule preview over a year and the search's first page on the 1M-post database (issue 15, Speed).

Uses the database bench/backtest_bench.py builds and caches (it builds it when
missing, ~3-5 min). In one process, for each of two default rules:
- baseline: the `dozor backtest` path (`run_backtest`, 365 days) on the saved rule and on an edited draft;
- the first preview after start (nothing remembered yet);
- preview as you type: the draft after each keystroke of a new alternative
  (" OR резервист…"), then a changed NEAR distance, an added exclude word and a
  removed alternative, each previewed against the saved rule over 365 days;
the first page of `/search` (`search_posts`) for several queries, 5 runs each, against the
same page found the way search did before (every candidate id read and sorted first), run by
run in turn; and each rule's first preview after a start, cold and after the console's warm-up.

    .venv/bin/python bench/preview_bench.py [--db /tmp/dozor_bench_1000000.db] [--parts search,warm]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.backtest_bench import NOW, QUERIES, default_rules, generate  # noqa: E402
from bot.history import preview as preview_module  # noqa: E402
from bot.history.backtest import SCAN_LIMIT, query_target, rule_target, run_backtest  # noqa: E402
from bot.history.preview import preview  # noqa: E402
from bot.history.search import CHUNK, check_until, search_posts  # noqa: E402
from bot.storage.history import history_posts, indexed_post_ids, newest_post_ids  # noqa: E402
from bot.web.rules import PREVIEW_MAX_DAYS  # noqa: E402
from bot.models import RuleDef  # noqa: E402
from bot.storage import Store  # noqa: E402

START = NOW - timedelta(days=365)
TYPED = "резервист"
SEARCHES = QUERIES + ["отказ* NEAR/3 воевать", "ТЦК OR военкомат*", "#повестки"]


def drafts(query: str) -> list[tuple[str, str]]:
    """(what changed, draft) as an operator edits the rule: a new alternative typed key by key, then edits."""
    out = [(f"typed {TYPED[:k]!r}", f"{query} OR {TYPED[:k]}") for k in range(1, len(TYPED) + 1)]
    near = re.search(r"NEAR/(\d+)", query)
    if near:
        changed = query[:near.start()] + f"NEAR/{int(near.group(1)) + 1}" + query[near.end():]
        out.append(("NEAR distance +1", changed))
    out.append(("exclude word added to the last alternative", f"{query} -погода"))
    out.append(("first alternative removed", without_first_alternative(query)))
    return out


def without_first_alternative(query: str) -> str:
    """The query after its first top-level ` OR ` (outside parentheses and quotes)."""
    depth, quoted = 0, False
    for i, ch in enumerate(query):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and query.startswith(" OR ", i - 1) and ch == "O":
            return query[i + 3:]
    raise ValueError("the query has one alternative")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(coro) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coro
    return time.perf_counter() - started, result


async def bench_rule(store: Store, rule: RuleDef) -> dict:
    base_s, base = await timed(run_backtest(store, rule_target(rule), NOW, 365))
    cold_s, cold = await timed(preview(store, rule.query, rule, START))
    assert len(cold.draft.posts) == base.total, (len(cold.draft.posts), base.total)
    steps = []
    for what, query in drafts(rule.query):
        seconds, result = await timed(preview(store, query, rule, START))
        steps.append(seconds)
        print(json.dumps({"rule": rule.id, "edit": what, "preview_s": round(seconds, 3),
                          "draft_hits": len(result.draft.posts), "added": result.added_total,
                          "lost": result.lost_total}, ensure_ascii=False), flush=True)
    draft_query = drafts(rule.query)[len(TYPED) - 1][1]
    draft_s, draft = await timed(run_backtest(store, query_target(draft_query), NOW, 365))
    check = await preview(store, draft_query, rule, START)
    assert len(check.draft.posts) == draft.total, (len(check.draft.posts), draft.total)
    p50, p95 = statistics.median(steps), percentile(steps, 0.95)
    return {"rule": rule.id, "year_hits": base.total, "candidates": base.candidates,
            "backtest_saved_s": round(base_s, 2), "backtest_draft_s": round(draft_s, 2),
            "preview_first_s": round(cold_s, 2), "previews": len(steps),
            "preview_p50_s": round(p50, 3), "preview_p95_s": round(p95, 3), "preview_max_s": round(max(steps), 3),
            "ratio_backtest_draft_over_preview_p50": round(draft_s / p50, 1)}


async def search_every_candidate(store: Store, target, per_page: int = 5) -> list[int]:
    """The first page as search_posts found it before early reads: every lemma-index candidate id
    read and sorted newest first, then checked chunk by chunk until the page is full."""
    ids = await indexed_post_ids(store, target.fts) if target.fts else await newest_post_ids(store, SCAN_LIMIT)
    found: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        by_id = await history_posts(store, chunk)
        hits, _ = await asyncio.to_thread(check_until, target, [by_id[i] for i in chunk],
                                          per_page + 1 - len(found), None, time.monotonic)
        found += [row["id"] for row, _ in hits]
        if len(found) == per_page + 1:
            break
    return found[:per_page]


def summary(times: list[float], name: str) -> dict:
    return {f"{name}_p50_ms": round(statistics.median(times) * 1000),
            f"{name}_p95_ms": round(percentile(times, 0.95) * 1000), f"{name}_max_ms": round(max(times) * 1000)}


async def bench_search(store: Store, runs: int = 5) -> dict:
    """Before (every candidate read) and after (newest candidates read in chunks), run by run in turn."""
    before, after = [], []
    for query in SEARCHES:
        target = query_target(query)
        for run in range(runs):  # which goes first alternates: neither always meets a cold cache
            if run % 2:
                new_s, new = await timed(search_posts(store, target, page=1, budget=None))
            old_s, old = await timed(search_every_candidate(store, target))
            if not run % 2:
                new_s, new = await timed(search_posts(store, target, page=1, budget=None))
            assert [p["id"] for p in new.posts] == old, query
            before.append(old_s)
            after.append(new_s)
        print(json.dumps({"query": query, "before_ms": [round(t * 1000) for t in before[-runs:]],
                          "after_ms": [round(t * 1000) for t in after[-runs:]]}, ensure_ascii=False), flush=True)
    return {"search_queries": len(SEARCHES), "runs": len(after), **summary(before, "before_page1"),
            **summary(after, "after_page1")}


async def bench_first_preview(store: Store) -> list[dict]:
    """Each rule's first preview after a start: with nothing remembered, and after the console's
    warm-up of every default rule over PREVIEW_MAX_DAYS; a search and the preview asked while the
    warm-up runs (its time includes theirs)."""
    rules, out = default_rules(), []
    for rule in rules[:2]:
        preview_module._indexes.pop(store, None)  # as after a start
        cold_s, cold = await timed(preview(store, rule.query, rule, START))
        preview_module._indexes.pop(store, None)
        warming = asyncio.create_task(timed(preview_module.warm(store, rules,
                                                                NOW - timedelta(days=PREVIEW_MAX_DAYS + 1))))
        await asyncio.sleep(1.0)  # the warm-up under way: requests meanwhile
        search_s, _ = await timed(search_posts(store, query_target("мобилизация"), page=1))
        during_s, during = await timed(preview(store, rule.query, rule, START))
        assert during.draft.posts == cold.draft.posts
        warm_s, warmed = await warming
        read = preview_module.posts_read(store)
        first_s, first = await timed(preview(store, rule.query, rule, START))
        assert first.draft.posts == cold.draft.posts
        out.append({"rule": rule.id, "first_preview_cold_s": round(cold_s, 2), "warm_up_s": round(warm_s, 2),
                    "rules_warmed": warmed,
                    "search_during_warm_up_ms": round(search_s * 1000), "preview_during_warm_up_s": round(during_s, 2), "posts_kept": len(preview_module._indexes[store].posts),
                    "first_preview_after_warm_up_s": round(first_s, 3),
                    "posts_read_by_it": preview_module.posts_read(store) - read})
        print(json.dumps(out[-1], ensure_ascii=False), flush=True)
    return out


async def measure(db: Path, parts: set[str]) -> None:
    store = await Store.open(db)
    try:
        if "typing" in parts:
            for rule in default_rules()[:2]:
                print(json.dumps(await bench_rule(store, rule), ensure_ascii=False), flush=True)
        if "search" in parts:
            print(json.dumps(await bench_search(store), ensure_ascii=False), flush=True)
        if "warm" in parts:
            await bench_first_preview(store)
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/dozor_bench_1000000.db"))
    parser.add_argument("--parts", default="typing,search,warm",
                        help="comma-separated: typing (previews as you type), search, warm (first preview)")
    args = parser.parse_args()
    meta = args.db.with_suffix(".json")
    if not (args.db.exists() and meta.exists()):
        args.db.unlink(missing_ok=True)
        print(f"building {args.db} (1,000,000 posts) …", file=sys.stderr)
        meta.write_text(json.dumps(generate(args.db, 1_000_000)))
    asyncio.run(measure(args.db, set(args.parts.split(","))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
