"""PostgreSQL as the shared store: ingest with 1, 2, 4 processes against one on SQLite, alert latency
at a steady 100 posts/s, and a year-long backtest on a large PostgreSQL database.

Needs a server: DOZOR_TEST_PG (a DSN whose user may CREATE DATABASE) or the machine's PostgreSQL 15
(a throwaway server is started as in tests/pg_server.py). Every figure is measured in this run.

    .venv/bin/python bench/pg_bench.py [--posts 6000] [--big-posts 1000000] [--latency-seconds 20]

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.delivery.worker import OutboxWorker  # noqa: E402
from bot.history.backtest import query_target, run_backtest  # noqa: E402
from bot.models import LOCAL_CHAT_ID, SubscriberKind  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.rules import compile_rules  # noqa: E402
from bot.rules.rulefile import parse_rules_toml  # noqa: E402
from bot.sources import ReadReport, read_jsonl  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.subscribers import ensure_local_subscriber  # noqa: E402
from bot.storage.lemma_tsquery import tsvector_literal  # noqa: E402
from bot.text import lemma_text  # noqa: E402
from tests.pg_server import Databases, server_dsn  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"
SAMPLE = ROOT / "bot" / "sample" / "posts.jsonl"
RULES = ROOT / "config" / "rules.toml"
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def load_posts(limit: int, source: Path | None = None) -> list:
    source = source or (REPLAY if REPLAY.exists() else SAMPLE)
    base = list(read_jsonl(source, ReadReport(), NOW))
    posts = list(base)
    while len(posts) < limit:  # the sample is small: repeat it under new ids
        copy = len(posts) // len(base)
        posts += [dataclasses.replace(p, message_id=p.message_id + 10_000_000 * copy) for p in base]
    return posts[:limit]


def rules():
    return compile_rules(parse_rules_toml(RULES.read_text(encoding="utf-8")))


async def ingest_shard(db: str, shard: int, shards: int, limit: int) -> None:
    posts = load_posts(limit)[shard::shards]
    store = await Store.open(db)
    try:
        await ensure_local_subscriber(store, NOW, LOCAL_CHAT_ID)
        pipeline = Pipeline(store, rules(), lambda: NOW, recipient_kinds=(SubscriberKind.LOCAL,))
        started = time.time()
        for i in range(0, len(posts), 100):
            await pipeline.on_posts(posts[i:i + 100])
        print(f"span {started} {time.time()} {len(posts)}", flush=True)
    finally:
        await store.close()


def ingest(db: str, processes: int, limit: int) -> float:
    """Posts/s through the pipeline (match + store + outbox) with `processes` processes on shards,
    from the first process's first post to the last one's last (start-up left out)."""
    workers = [subprocess.Popen([sys.executable, __file__, "--ingest-worker", db, str(i), str(processes), str(limit)],
                                stdout=subprocess.PIPE, text=True) for i in range(processes)]
    spans = []
    for w in workers:
        out, _ = w.communicate()
        if w.returncode != 0:
            raise SystemExit("an ingest worker failed")
        _, start, end, count = out.split()[-4:]
        spans.append((float(start), float(end), int(count)))
    return sum(c for _, _, c in spans) / (max(e for _, e, _ in spans) - min(s for s, _, _ in spans))


class TimedSink:
    def __init__(self, fed: dict, delays: list):
        self.fed, self.delays = fed, delays

    async def deliver(self, alert) -> int:
        self.delays.append(time.perf_counter() - self.fed[(alert.post.channel_id, alert.post.message_id)])
        return 1


async def latency(db: str, seconds: float, rate: float = 100.0) -> list[float]:
    """Feed `rate` posts/s for `seconds`; the delay from feeding a post to its alert leaving the worker."""
    posts = load_posts(int(seconds * rate), SAMPLE)  # the sample: a third of its posts match
    store = await Store.open(db)
    try:
        await ensure_local_subscriber(store, NOW, LOCAL_CHAT_ID)
        fed, delays = {}, []
        pipeline = Pipeline(store, rules(), lambda: NOW, recipient_kinds=(SubscriberKind.LOCAL,))
        worker = OutboxWorker(store, lambda s: TimedSink(fed, delays), lambda: NOW, kinds=(SubscriberKind.LOCAL,))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        start = time.perf_counter()
        for i, post in enumerate(posts):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            fed[(post.channel_id, post.message_id)] = time.perf_counter()
            await pipeline.on_post(post)
            worker.notify()
        await asyncio.sleep(1.0)
        stop.set()
        worker.notify()
        await running
        return delays
    finally:
        await store.close()


def bulk_load(url: str, count: int) -> float:
    """`count` posts over a year (texts and lemmas from the replay set, ids and dates new) by COPY."""
    import psycopg
    pool = load_posts(3000)
    lemmas = [tsvector_literal(lemma_text(p.text)) for p in pool]
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS posts_lemmas_gin")
        with conn.cursor() as cur:
            with cur.copy("COPY posts(id, channel_id, message_id, date, text, stored_at) FROM STDIN") as copy:
                for i in range(count):
                    p = pool[i % len(pool)]
                    day = (NOW - timedelta(seconds=int(i * 365 * 86400 / count))).isoformat(timespec="seconds")
                    copy.write_row((i + 1, p.channel_id, i + 1, day, p.text, day))
            with cur.copy("COPY posts_lemmas(rowid, lemmas) FROM STDIN") as copy:
                for i in range(count):
                    copy.write_row((i + 1, lemmas[i % len(lemmas)]))
        conn.execute("CREATE INDEX posts_lemmas_gin ON posts_lemmas USING GIN (lemmas)")
        conn.execute("INSERT INTO state(key, value, updated_at) VALUES ('lemma_index.last_id', %s, 'now')"
                     " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (str(count),))
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    print(f"  loaded {count:,} posts in {time.perf_counter() - started:.0f} s (COPY + GIN); database {size / 2**30:.2f} GiB")
    return size


async def backtests(url: str) -> None:
    store = await Store.open(url)
    try:
        for query in ["мобилизация", "повестк* AND военкомат", "отказ OR дезертир"]:
            started = time.perf_counter()
            result = await run_backtest(store, query_target(query), NOW, days=365)
            print(f"  backtest {query!r} over 365 days: {result.total:,} hits of {result.candidates:,} candidates"
                  f" in {time.perf_counter() - started:.2f} s")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=6000)
    parser.add_argument("--big-posts", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--ingest-worker", nargs=4)
    args = parser.parse_args()
    if args.ingest_worker:
        db, shard, shards, limit = args.ingest_worker
        asyncio.run(ingest_shard(db, int(shard), int(shards), int(limit)))
        return
    dsn = server_dsn()
    if dsn is None:
        raise SystemExit("no PostgreSQL: set DOZOR_TEST_PG or install postgresql-15")
    dbs = Databases(dsn)
    try:
        print(f"ingest through the pipeline, {args.posts:,} posts, default rules:")
        with tempfile.TemporaryDirectory() as folder:
            print(f"  SQLite, 1 process: {ingest(str(Path(folder) / 'd.db'), 1, args.posts):,.0f} posts/s")
        for n in (1, 2, 4):
            url = asyncio.run(dbs.migrated())
            print(f"  PostgreSQL, {n} process{'es' if n > 1 else ''}: {ingest(url, n, args.posts):,.0f} posts/s")
            dbs.drop(url)
        url = asyncio.run(dbs.migrated())
        delays = sorted(asyncio.run(latency(url, args.latency_seconds)))
        dbs.drop(url)
        p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))] * 1000  # noqa: E731
        print(f"alert latency at 100 posts/s on PostgreSQL: {len(delays)} alerts, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms")
        url = asyncio.run(dbs.migrated())
        print(f"year-long backtest on {args.big_posts:,} posts on PostgreSQL:")
        bulk_load(url, args.big_posts)
        asyncio.run(backtests(url))
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
