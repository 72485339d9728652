"""The web console's alerts page on the 1M-post database: the query and the whole page, p50/p95.

Prepares (once, cached under /tmp) a copy of bench/backtest_bench.py's 1M-post database
with alerts: the default rules are run over its distinct texts, every post whose text
matches gets its match rows, and each of SUBSCRIBERS subscribers an outbox row marked
sent a few seconds after the post (as the outbox worker leaves them). Then times:
- `delivered_alerts` (bot/storage/web_alerts.py), the first page (31 rows), for an
  operator (every post once) and a subscriber, unfiltered and with each filter;
- GET / (the whole alerts page: query, matches, edits, also-in, votes, facets,
  rendering) through the ASGI app with an admin's and a subscriber's session.

    .venv/bin/python bench/web_bench.py [--source /tmp/dozor_bench_1000000.db] [--runs 30]
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402

from bot.commands.roles import Role  # noqa: E402
from bot.models import Match  # noqa: E402
from bot.rules import load_rule_file  # noqa: E402
from bot.rules.ruleset import compile_rules  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.storage import Store, access  # noqa: E402
from bot.storage.subscribers import subscriber_by_chat  # noqa: E402
from bot.storage.web_alerts import AlertFilter, delivered_alerts  # noqa: E402
from bot.web.app import build_app  # noqa: E402
from bot.web.auth import SESSION_COOKIE  # noqa: E402

SOURCE = Path("/tmp/dozor_bench_1000000.db")
SUBSCRIBERS = (101, 102, 103)
ADMIN = 1
PAGE = 31


def prepare(source: Path, target: Path) -> dict:
    """Copy the 1M database and add matches and delivered alerts; figures of what was added."""
    started = time.perf_counter()
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(str(source) + suffix).exists():
            shutil.copyfile(str(source) + suffix, str(target) + suffix)
    asyncio.run(_add_subscribers(target))
    ruleset = compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA synchronous = OFF")
    texts = [row[0] for row in conn.execute("SELECT DISTINCT text FROM posts")]
    matched = {text: found for text in texts if (found := ruleset.match_text(text))}
    subs = [row[0] for row in conn.execute(
        f"SELECT id FROM subscribers WHERE chat_id IN ({','.join('?' * len(SUBSCRIBERS))})", SUBSCRIBERS)]
    match_rows, outbox_rows = [], []
    for post_id, text, date in conn.execute("SELECT id, text, date FROM posts"):
        found = matched.get(text)
        if not found:
            continue
        sent = (datetime.fromisoformat(date) + timedelta(seconds=3)).isoformat(timespec="seconds")
        match_rows += [(post_id, m.rule_id, _json(m.tags), _json([list(s) for s in m.spans]), m.severity, date)
                       for m in found]
        rules = _json([m.rule_id for m in found])
        outbox_rows += [(sub, post_id, rules, date, sent) for sub in subs]
    conn.executemany("INSERT OR IGNORE INTO matches(post_id, rule_id, tags, spans, severity, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", match_rows)
    conn.executemany("INSERT INTO outbox(subscriber_id, post_id, rules, status, action, created_at, sent_at)"
                     " VALUES (?, ?, ?, 'sent', 'send', ?, ?)", outbox_rows)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return {"matched_texts": len(matched), "distinct_texts": len(texts), "matches": len(match_rows),
            "alerts": len(outbox_rows), "seconds": round(time.perf_counter() - started, 1)}


def _json(value) -> str:
    import json
    return json.dumps(list(value), ensure_ascii=False)


async def _add_subscribers(db: Path) -> None:
    store = await Store.open(db)  # runs the new migrations (0016a/b) on the copy
    try:
        now = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
        for chat in SUBSCRIBERS:
            await store.write(lambda c, chat=chat: access.add_subscriber(c, chat, "bench", now, title=f"s{chat}"))
    finally:
        await store.close()


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def time_queries(store: Store, runs: int) -> list[tuple[str, dict, int]]:
    sub = (await subscriber_by_chat(store, SUBSCRIBERS[0], active_only=True)).id
    channel = await store.fetchval("SELECT channel_id FROM posts GROUP BY channel_id ORDER BY count(*) LIMIT 1")
    cases = {
        "operator, no filter": AlertFilter(),
        "subscriber, no filter": AlertFilter(subscriber_id=sub),
        "operator, rule=refusals": AlertFilter(rule="refusals"),
        "operator, tag=mobilization": AlertFilter(tag="mobilization"),
        "operator, quietest channel": AlertFilter(channel_id=channel),
        "operator, one week in June": AlertFilter(since=datetime.fromisoformat("2024-06-01T00:00:00+00:00"),
                                                  until=datetime.fromisoformat("2024-06-08T00:00:00+00:00")),
        "operator, late only (none are)": AlertFilter(late=True),
    }
    results = []
    for name, flt in cases.items():
        samples, rows = [], []
        for _ in range(runs):
            started = time.perf_counter()
            rows = await delivered_alerts(store, flt, PAGE)
            samples.append(time.perf_counter() - started)
        results.append((name, percentiles(samples), len(rows)))
    return results


async def time_pages(store: Store, db: Path, runs: int) -> list[tuple[str, dict, int]]:
    settings = load_settings(env={"DOZOR_DB": str(db), "DOZOR_ADMINS": str(ADMIN), "DOZOR_DATA_DIR": "/tmp"},
                             env_file=None, config_file=None)
    app = build_app(settings, store, secret="bench")
    sessions = app.state.console.sessions
    results = []
    for name, user, role in (("admin", ADMIN, Role.ADMIN), ("subscriber", SUBSCRIBERS[0], Role.SUBSCRIBER)):
        cookies = {SESSION_COOKIE: sessions.dump(user, role)}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     cookies=cookies) as client:
            samples, size = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.get("/")
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
                size = response.text.count('class="alert card')
        results.append((f"GET / as {name}", percentiles(samples), size))
    return results


async def measure(db: Path, runs: int) -> None:
    store = await Store.open(db)
    try:
        total = await store.fetchval("SELECT count(*) FROM posts")
        alerts = await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'")
        print(f"database: {total:,} posts, {alerts:,} delivered alerts ({db})")
        await delivered_alerts(store, AlertFilter(), PAGE)  # warm the page cache once
        for name, figures, rows in await time_queries(store, runs) + await time_pages(store, db, runs):
            print(f"{name:34} {figures['p50_ms']:7.1f} ms p50 {figures['p95_ms']:7.1f} ms p95"
                  f" {figures['max_ms']:7.1f} ms max  ({rows} rows, {runs} runs)")
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the 1M database bench/backtest_bench.py built")
    parser.add_argument("--db", type=Path, default=None, help="the prepared copy (default: beside the source)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    db = args.db or args.source.with_name(args.source.stem + "_web.db")
    if not db.exists():
        if not args.source.exists():
            print(f"{args.source} is missing: run bench/backtest_bench.py first (it builds and caches it)")
            return 2
        print(f"preparing {db} from {args.source} …", flush=True)
        print("prepared:", prepare(args.source, db), flush=True)
    asyncio.run(measure(db, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
