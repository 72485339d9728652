"""Storage at scale: insert rate, database size, RSS, backtest, /search and a busy day's digest.

Part 1, a fresh database: N posts made from the replay posts (new ids) go
through the real pipeline (default rules, outbox for one local subscriber) in
batches of 500, as `dozor run --replay` stores them; baseline in the same run:
the same rows bulk-inserted with sqlite3 executemany (no matching, no outbox;
the FTS5 triggers fire), the way bench/backtest_bench.py builds its database.

Part 2, 1,000,000 posts: the database bench/backtest_bench.py builds and caches
(/tmp/dozor_bench_1000000.db, about 3 minutes to build the first time; built here
if missing). A copy is opened through Store (so the cache stays clean); on it:
5,000 more posts through the pipeline (insert rate at 1M), the first backtest
after them (it brings the lemma index up to date), timed backtests of the
default rules over 30 and 365 days, the first page of /search, and the digest of
the busiest day (its posts matched with the default rules first, as the live
pipeline would have), then the RSS of this process.

    .venv/bin/python bench/storage_bench.py [--fresh-posts 20000] [--big-posts 1000000] [--skip-big]

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import backtest_bench  # noqa: E402
from bot.history.backtest import query_target, rule_target, run_backtest  # noqa: E402
from bot.digest.render import render_html  # noqa: E402
from bot.digest.jobs import build_day_digest, digest_messages  # noqa: E402
from bot.models import Post  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.rules import compile_rules, load_rule_file  # noqa: E402
from bot.sources import ReadReport, read_posts  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.posts import replace_matches  # noqa: E402
from bot.storage.subscribers import ensure_local_subscriber  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"
NOW = backtest_bench.NOW


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MiB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, max(current, peak)


def db_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


def copies(posts: list[Post], n: int, first_id: int, day: date | None = None) -> list[Post]:
    """n posts cycled from the replay with new message ids (and dates on `day` if given)."""
    out = []
    for i in range(n):
        post = posts[i % len(posts)]
        when = post.date if day is None else datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(
            seconds=(i * 17) % 86400)
        out.append(replace(post, message_id=first_id + i, date=when, link=None))
    return out


async def pipeline_insert(store: Store, rules, posts: list[Post]) -> float:
    """Seconds to push posts through the pipeline in replay batches of 500."""
    await ensure_local_subscriber(store, NOW)
    pipeline = Pipeline(store, rules, lambda: NOW, recipient_kinds=("local",))
    started = time.perf_counter()
    for start in range(0, len(posts), 500):
        await pipeline.on_posts(posts[start:start + 500])
    return time.perf_counter() - started


def bulk_insert(db: Path, posts: list[Post]) -> float:
    """Seconds for the baseline: plain executemany of the same rows, one transaction per 500."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executemany("INSERT OR IGNORE INTO channels(id, title, added_at) VALUES (?, ?, ?)",
                     {(p.channel_id, p.channel_title, NOW.isoformat()) for p in posts})
    conn.commit()
    started = time.perf_counter()
    for start in range(0, len(posts), 500):
        with conn:
            conn.executemany("INSERT INTO posts(channel_id, message_id, date, text, stored_at) VALUES (?, ?, ?, ?, ?)",
                             [(p.channel_id, p.message_id, p.date.isoformat(), p.text, NOW.isoformat())
                              for p in posts[start:start + 500]])
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


async def fresh_part(replay: list[Post], rules, n: int) -> None:
    posts = copies(replay, n, 10_000_000)
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "fresh.db")
        try:
            seconds = await pipeline_insert(store, rules, posts)
        finally:
            await store.close()
        size = db_mib(Path(folder) / "fresh.db")
        base_store = await Store.open(Path(folder) / "base.db")
        await base_store.close()
        base = bulk_insert(Path(folder) / "base.db", posts)
    print(f"fresh DB, {n:,} posts through the pipeline (match + store + outbox, batches of 500):"
          f" {n / seconds:,.0f} posts/s; DB {size:.0f} MiB ({size * 1024 / n:.1f} KiB/post)")
    print(f"  baseline, same rows bulk-inserted (executemany, no matching): {n / base:,.0f} posts/s")


def busiest_day(db: Path) -> tuple[date, int]:
    with sqlite3.connect(db) as conn:
        day, count = conn.execute("SELECT substr(date, 1, 10) AS d, count(*) FROM posts GROUP BY d"
                                  " ORDER BY 2 DESC LIMIT 1").fetchone()
    return date.fromisoformat(day), count


async def match_day(store: Store, rules, day: date) -> int:
    """Match the stored posts of one day with the rules and store their matches (as the pipeline would have)."""
    rows = await store.fetchall("SELECT id, text, channel_id FROM posts WHERE date >= ? AND date < ?",
                                (day.isoformat(), (day + timedelta(days=1)).isoformat()))
    found = [(r["id"], rules.match_text(r["text"], None, r["channel_id"])) for r in rows]
    found = [(post_id, matches) for post_id, matches in found if matches]

    async def write(conn):
        for post_id, matches in found:
            await replace_matches(conn, post_id, matches, NOW)

    await store.write(write)
    return len(found)


def busy_mix(replay: list[Post], rules) -> list[Post]:
    """A news day with a story breaking: every matching replay post five times (copied across
    channels, as stories are), then ordinary posts."""
    matching = [p for p in replay if rules.match(p)]
    keys = {(p.channel_id, p.message_id) for p in matching}
    return matching * 5 + [p for p in replay if (p.channel_id, p.message_id) not in keys]


async def timed(label: str, coro) -> object:
    started = time.perf_counter()
    result = await coro
    print(f"  {label}: {time.perf_counter() - started:.3f} s")
    return result


async def big_measure(db: Path, replay: list[Post], rules, extra: int) -> None:
    store = await Store.open(db)
    try:
        print(f"  opened: RSS {rss_mib()[0]:.0f} MiB")
        day, on_day = busiest_day(db)
        seconds = await pipeline_insert(store, rules, copies(busy_mix(replay, rules), extra, 20_000_000, day))
        print(f"  {extra:,} more posts through the pipeline at this size: {extra / seconds:,.0f} posts/s")
        await timed(f"first backtest after them (lemma index catches up {extra:,} posts)",
                    run_backtest(store, rule_target(rules.defs[0]), NOW, 30))
        for days in (30, 365):
            for rule in rules.defs:
                result = await timed(f"backtest rule {rule.id!r}, {days} days", run_backtest(store, rule_target(rule), NOW, days))
                print(f"    matched {result.total:,} of {result.candidates:,} candidates")
        for query in ("мобилизация", "повестка NEAR/5 военкомат", "погода"):
            await timed(f"/search {query!r} page 1", backtest_bench.search_posts(store, query_target(query), page=1))
        matched = await match_day(store, rules, day)
        print(f"  busiest day {day}: {on_day + extra:,} posts, {matched:,} matched")
        digest = await timed("digest of that day (load + build)",
                             build_day_digest(store, day + timedelta(days=1), NOW, "UTC", "00:00"))
        started = time.perf_counter()
        parts = render_html(digest)
        messages = digest_messages(digest, 1)
        print(f"  digest render (HTML parts + chart): {time.perf_counter() - started:.3f} s,"
              f" {len(parts)} parts, {len(messages)} messages")
    finally:
        await store.close()
    current, peak = rss_mib()
    print(f"  RSS after: {current:.0f} MiB (peak {peak:.0f} MiB); DB size {db_mib(db):,.0f} MiB")


def big_part(replay: list[Post], rules, total: int, extra: int) -> None:
    cached = Path(f"/tmp/dozor_bench_{total}.db")
    meta = cached.with_suffix(".json")
    if not (cached.exists() and meta.exists()):
        print(f"building {cached} with bench/backtest_bench.py's generator …", file=sys.stderr)
        cached.unlink(missing_ok=True)
        meta.write_text(json.dumps(backtest_bench.generate(cached, total)))
    build = json.loads(meta.read_text())
    print(f"{total:,}-post DB: built in {build['build_seconds']} s by bulk insert"
          f" ({total / build['build_seconds']:,.0f} posts/s incl. lemma index), {build['db_mib']:,} MiB")
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        copy = Path(folder) / cached.name
        shutil.copyfile(cached, copy)
        asyncio.run(big_measure(copy, replay, rules, extra))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh-posts", type=int, default=20_000)
    parser.add_argument("--big-posts", type=int, default=1_000_000)
    parser.add_argument("--extra-posts", type=int, default=5_000)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    replay = list(read_posts(REPLAY, ReadReport(), NOW))
    rules = compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))
    asyncio.run(fresh_part(replay, rules, args.fresh_posts))
    if not args.skip_big:
        big_part(replay, rules, args.big_posts, args.extra_posts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
