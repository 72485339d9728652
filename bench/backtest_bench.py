"""Backtest and search on 1,000,000 stored posts.

Builds (once, cached under /tmp) a database of 1M posts made from
../shared/data/replay/posts.jsonl.gz: each replay post copied ~45 times with
new message ids and dates spread over the year before NOW, with the FTS5 post
index (schema triggers) and the lemma index filled. Then times backtests of
the default rules and a few ad-hoc queries, and the first pages of searches.

    .venv/bin/python bench/backtest_bench.py [--posts 1000000] [--db /tmp/dozor_bench_1m.db]

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.history.backtest import query_target, rule_target, run_backtest  # noqa: E402
from bot.rules import parse_rules_toml  # noqa: E402
from bot.history.search import search_posts  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.lemma_index import STATE_KEY  # noqa: E402
from bot.text import lemma_text  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
QUERIES = ["мобилизация", "повестка NEAR/5 военкомат", "отказ* AND служ*", "#мобилизация",
           '"частичная мобилизация"', "погода"]
BATCH = 50_000


def load_replay() -> list[dict]:
    with gzip.open(REPLAY, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def generate(db: Path, total: int) -> dict:
    """Create the database with `total` posts; returns build figures."""
    asyncio.run(_migrate(db))
    source = load_replay()
    rng = random.Random(6)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    started = time.perf_counter()
    channels = {p["channel_id"]: (p.get("channel"), p.get("channel_title")) for p in source}
    conn.executemany("INSERT OR IGNORE INTO channels(id, username, title, added_at) VALUES (?, ?, ?, ?)",
                     [(cid, name, title, NOW.isoformat()) for cid, (name, title) in channels.items()])
    year = 365 * 24 * 3600
    lemmas: dict[str, str] = {}
    lemma_seconds = 0.0
    for start in range(0, total, BATCH):
        posts, lemma_rows = [], []
        for n in range(start, min(total, start + BATCH)):
            src = source[n % len(source)]
            date = NOW - timedelta(seconds=rng.randrange(year))
            posts.append((n + 1, src["channel_id"], n + 1, date.isoformat(timespec="seconds"), src["text"],
                          f"https://t.me/c/{str(src['channel_id'])[4:]}/{n + 1}", NOW.isoformat()))
            if src["text"] not in lemmas:
                t = time.perf_counter()
                lemmas[src["text"]] = lemma_text(src["text"])
                lemma_seconds += time.perf_counter() - t
            lemma_rows.append((n + 1, lemmas[src["text"]]))
        with conn:
            conn.executemany("INSERT INTO posts(id, channel_id, message_id, date, text, link, stored_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)", posts)
            conn.executemany("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (?, ?)", lemma_rows)
        print(f"  {start + len(posts):>9,} posts stored", file=sys.stderr)
    with conn:
        conn.execute("INSERT OR REPLACE INTO state(key, value, updated_at) VALUES (?, ?, ?)",
                     (STATE_KEY, str(total), NOW.isoformat()))
    conn.execute("PRAGMA optimize")
    conn.close()
    return {"posts": total, "unique_texts": len(lemmas), "build_seconds": round(time.perf_counter() - started, 1),
            "lemma_seconds_unique_texts": round(lemma_seconds, 1),
            "lemma_texts_per_second": round(len(lemmas) / lemma_seconds) if lemma_seconds else None,
            "db_mib": round(db.stat().st_size / 2**20)}


async def _migrate(db: Path) -> None:
    store = await Store.open(db)
    await store.close()


def default_rules():
    return parse_rules_toml((ROOT / "config" / "rules.toml").read_text(encoding="utf-8"), "rules.toml")


async def time_backtest(store: Store, target, days: int, runs: int = 3) -> dict:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = await run_backtest(store, target, NOW, days)
        times.append(time.perf_counter() - t)
    return {"target": target.label, "days": days, "matched": result.total, "candidates": result.candidates,
            "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


async def time_search(store: Store, query: str) -> dict:
    t = time.perf_counter()
    page = await search_posts(store, query_target(query), page=1)
    first = time.perf_counter() - t
    t = time.perf_counter()
    await search_posts(store, query_target(query), page=5)
    fifth = time.perf_counter() - t
    return {"query": query, "page1_s": round(first, 3), "page5_s": round(fifth, 3), "hits_on_page": len(page.posts)}


async def measure(db: Path) -> list[dict]:
    store = await Store.open(db)
    try:
        rows = []
        targets = [rule_target(r) for r in default_rules()] + [query_target(q) for q in QUERIES]
        for days in (30, 365):
            for target in targets:
                rows.append(await time_backtest(store, target, days, runs=3 if days == 30 else 1))
                print(json.dumps(rows[-1], ensure_ascii=False))
        for query in QUERIES[:3]:
            rows.append(await time_search(store, query))
            print(json.dumps(rows[-1], ensure_ascii=False))
        return rows
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(f"/tmp/dozor_bench_{args.posts}.db")
    meta = db.with_suffix(".json")
    if not (db.exists() and meta.exists()):
        db.unlink(missing_ok=True)
        print(f"building {db} ({args.posts:,} posts) …", file=sys.stderr)
        meta.write_text(json.dumps(generate(db, args.posts)))
    print("build:", meta.read_text())
    asyncio.run(measure(db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
