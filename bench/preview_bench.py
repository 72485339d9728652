"""Rule preview over a year and the search's first page on the 1M-post database (issue 15, Speed).

Uses the database bench/backtest_bench.py builds and caches (it builds it when
missing, ~3-5 min). In one process, for each of two default rules:
- baseline: the `dozor backtest` path (`run_backtest`, 365 days) on the saved rule and on an edited draft;
- the first preview after start (nothing remembered yet);
- preview as you type: the draft after each keystroke of a new alternative
  (" OR резервист…"), then a changed NEAR distance, an added exclude word and a
  removed alternative, each previewed against the saved rule over 365 days;
and the first page of `/search` (`search_posts`) for several queries, 5 runs each.

    .venv/bin/python bench/preview_bench.py [--db /tmp/dozor_bench_1000000.db]
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
from bot.history.backtest import query_target, rule_target, run_backtest  # noqa: E402
from bot.history.preview import preview  # noqa: E402
from bot.history.search import search_posts  # noqa: E402
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


async def bench_search(store: Store, runs: int = 5) -> dict:
    times = []
    for query in SEARCHES:
        for _ in range(runs):
            seconds, _ = await timed(search_posts(store, query_target(query), page=1))
            times.append(seconds)
    return {"search_queries": len(SEARCHES), "runs": len(times), "page1_p50_ms": round(statistics.median(times) * 1000),
            "page1_p95_ms": round(percentile(times, 0.95) * 1000), "page1_max_ms": round(max(times) * 1000)}


async def measure(db: Path) -> None:
    store = await Store.open(db)
    try:
        for rule in default_rules()[:2]:
            print(json.dumps(await bench_rule(store, rule), ensure_ascii=False), flush=True)
        print(json.dumps(await bench_search(store), ensure_ascii=False), flush=True)
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/dozor_bench_1000000.db"))
    args = parser.parse_args()
    meta = args.db.with_suffix(".json")
    if not (args.db.exists() and meta.exists()):
        args.db.unlink(missing_ok=True)
        print(f"building {args.db} (1,000,000 posts) …", file=sys.stderr)
        meta.write_text(json.dumps(generate(args.db, 1_000_000)))
    asyncio.run(measure(args.db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
