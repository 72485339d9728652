"""End to end: the 22,099 replay posts through read -> normalize -> match -> store -> outbox -> send call.

The send call is the real TelegramAlertSink (dedup/grouping, alert log, HTML
formatting, buttons) over a recording fake Sender (`RecordingSender`): it notes
the time of the first send (or edit, when a repost is grouped) per post and
returns a message id, as Telegram would. The rate limiter (LimitedSender) is
left out: its waits are policy (1 msg/s per chat), not processing, and would
make the latency a measure of how many alerts one chat gets in a second.

Two runs, each on a fresh database, the outbox worker running live beside the
pipeline (notify on enqueue), one post per `on_post` call as the live watcher does:
- max: posts fed as fast as the pipeline takes them; throughput (posts/s) until
  the outbox is drained, and latency (`on_post` entered -> send call).
- steady: posts fed at a fixed rate (default 100/s); latency p50/p99/max.
Baselines measured in the same run: the match step alone (RuleSet.match on the
same posts, no storage) and the store step alone (the pipeline with no rules).

    .venv/bin/python bench/e2e_bench.py [--rules default|1000] [--rate 100] [--steady-posts N]

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import argparse
import asyncio
import contextvars
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.delivery.telegram_sink import TelegramAlertSink  # noqa: E402
from bot.models import Outgoing, Post  # noqa: E402
from bot.delivery.worker import OutboxWorker  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.rules import compile_rules, load_rule_file  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.sources import ReadReport, read_posts  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.db import to_iso  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
CURRENT = contextvars.ContextVar("current_post")
SUBSCRIBERS = 3  # user chats subscribed to every rule


class RecordingSender:
    """A fake Telegram: records the moment of each post's first send call, returns message ids."""

    def __init__(self) -> None:
        self.first_send: dict[tuple[int, int], float] = {}
        self.calls = 0
        self._next = 0

    async def send(self, message: Outgoing) -> int:
        self.calls += 1
        self.first_send.setdefault(CURRENT.get(), time.perf_counter())
        if message.edit_message_id:
            return message.edit_message_id
        self._next += 1
        return self._next


class MarkingSink:
    """Tells the sender which post the alert being delivered is for, then hands it to the real sink."""

    def __init__(self, inner: TelegramAlertSink):
        self.inner = inner

    async def deliver(self, alert):
        CURRENT.set((alert.post.channel_id, alert.post.message_id))
        return await self.inner.deliver(alert)


def load_posts() -> list[Post]:
    return list(read_posts(REPLAY, ReadReport(), NOW))


def rule_set(kind: str, posts: list[Post]):
    if kind == "default":
        return compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))
    from match_bench import generate_rules, vocabulary

    defs, _ = generate_rules(int(kind), vocabulary([p.text for p in posts[:8000]]), random.Random(7))
    return compile_rules(defs)


async def add_subscribers(store: Store) -> None:
    async def insert(conn):
        for n in range(SUBSCRIBERS):
            cursor = await conn.execute(
                "INSERT INTO subscribers(chat_id, kind, tz, created_at) VALUES (?, 'user', 'Europe/Moscow', ?)",
                (1000 + n, to_iso(NOW)))
            await conn.execute("INSERT INTO subscriptions(subscriber_id, kind, value) VALUES (?, 'all', '')",
                               (cursor.lastrowid,))

    await store.write(insert)


async def run_stream(posts: list[Post], rules, rate: float | None) -> dict:
    """Feed posts one by one (at `rate` per second, or flat out) with the worker live; collect timings."""
    folder = tempfile.TemporaryDirectory()
    store = await Store.open(Path(folder.name) / "e2e.db")
    try:
        await add_subscribers(store)
        settings = load_settings(env={}, env_file=None, config_file=None)
        sender = RecordingSender()
        sink = MarkingSink(TelegramAlertSink(store, sender, settings))
        worker = OutboxWorker(store, lambda _s: sink, lambda: datetime.now(timezone.utc), batch=200)
        pipeline = Pipeline(store, rules, notify=worker.notify)
        stop = asyncio.Event()
        delivery = asyncio.create_task(worker.run(stop))
        entered: dict[tuple[int, int], float] = {}
        started = time.perf_counter()
        for i, post in enumerate(posts):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            entered[(post.channel_id, post.message_id)] = time.perf_counter()
            await pipeline.on_post(post)
            await asyncio.sleep(0)  # let the worker run between posts, as live updates would
        while await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'"):
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await delivery
        latencies = sorted((sender.first_send[k] - entered[k]) * 1000 for k in sender.first_send if k in entered)
        return {"posts": len(posts), "seconds": elapsed, "stored": pipeline.counts.stored,
                "matched": pipeline.counts.matched, "rows": pipeline.counts.enqueued, "send_calls": sender.calls,
                "latencies": latencies, "db_mib": (Path(folder.name) / "e2e.db").stat().st_size / 2**20}
    finally:
        await store.close()
        folder.cleanup()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def report(name: str, result: dict) -> None:
    lat = result["latencies"]
    print(f"{name}: {result['posts']:,} posts in {result['seconds']:.1f} s = {result['posts'] / result['seconds']:,.0f}"
          f" posts/s; {result['matched']} matched, {result['rows']} outbox rows, {result['send_calls']} send calls;"
          f" DB {result['db_mib']:.0f} MiB")
    if lat:
        print(f"  latency on_post -> send call over {len(lat)} alerted posts: p50 {percentile(lat, 0.5):.1f} ms,"
              f" p99 {percentile(lat, 0.99):.1f} ms, max {lat[-1]:.1f} ms, mean {statistics.mean(lat):.1f} ms")


def baselines(posts: list[Post], rules) -> None:
    start = time.perf_counter()
    for post in posts:
        rules.match(post)
    match_rate = len(posts) / (time.perf_counter() - start)
    print(f"baseline, match step alone (RuleSet.match, warm cache, no storage): {match_rate:,.0f} posts/s")
    result = asyncio.run(run_stream(posts, compile_rules([]), None))
    print(f"baseline, store step alone (pipeline with no rules, one transaction per post):"
          f" {result['posts'] / result['seconds']:,.0f} posts/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="default", help="'default' (config/rules.toml) or a number of generated rules")
    parser.add_argument("--rate", type=float, default=100.0, help="posts per second of the steady run")
    parser.add_argument("--steady-posts", type=int, default=0, help="posts in the steady run (0 = all)")
    parser.add_argument("--skip-max", action="store_true", help="only the steady run")
    args = parser.parse_args()
    posts = load_posts()
    rules = rule_set(args.rules, posts)
    print(f"replay: {len(posts):,} posts; rules: {args.rules} ({len(rules.defs)}); {SUBSCRIBERS} subscriber chats;"
          " sink: TelegramAlertSink -> recording fake Sender")
    if not args.skip_max:
        report("max throughput", asyncio.run(run_stream(posts, rules, None)))
        baselines(posts, rules)
    steady = posts[: args.steady_posts] if args.steady_posts else posts
    report(f"steady {args.rate:g} posts/s", asyncio.run(run_stream(steady, rules, args.rate)))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
