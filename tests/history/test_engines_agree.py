"""Backtest and search give the same answers on SQLite (FTS5) and PostgreSQL (tsvector + GIN)
for the same posts and rules.

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import gzip
import itertools
import json
from datetime import datetime, timezone
from pathlib import Path


from bot.history.backtest import query_target, rule_target, run_backtest
from bot.history.search import search_posts
from bot.rules.rulefile import parse_rules_toml
from bot.sources import post_from_record
from bot.storage import Store
from tests.conftest import DEFAULT_RULES
from tests.factories import SHARED, add_posts, make_post

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
QUERIES = ["мобилизация", "повестк*", "отказ OR дезертир", "#мобилизация", "военкомат AND NOT призыв", "сво"]


def sample_posts() -> list:
    """The eval set, the first 600 posts of the replay set (when ../shared is there) and a few made here."""
    records = []
    for path in (SHARED / "eval" / "dev.jsonl", SHARED / "data" / "replay" / "posts.jsonl.gz"):
        if path.exists():
            with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as lines:
                records += [json.loads(line) for line in itertools.islice(lines, 600)]
    posts = [post_from_record(r, i, NOW) for i, r in enumerate(records, 1)]
    made = ["Повестки вручают у метро", "Мобилизацию объявили снова", "Отказники_ВДВ: #мобилизация",
            "Военкомат ждёт", "мобилизованных отправили", "Дезертира нашли"]
    posts += [make_post(message_id=900_000 + i, text=t, date=datetime(2024, 12, 20, tzinfo=timezone.utc))
              for i, t in enumerate(made)]
    return posts


async def answers(store: Store) -> list:
    rules = parse_rules_toml(Path(DEFAULT_RULES).read_text(encoding="utf-8"))
    out = []
    for target in [rule_target(r) for r in rules] + [query_target(q) for q in QUERIES]:
        result = await run_backtest(store, target, NOW, days=3650)
        out.append((target.label, result.candidates, result.total, result.per_day, result.per_channel, result.newest))
        page = await search_posts(store, target, budget=None)
        out.append((target.label, [p for p in page.posts], page.has_more))
    return out


async def test_backtest_and_search_agree_on_both_engines(tmp_path, pg_url):
    posts = sample_posts()
    found = []
    for target in (tmp_path / "d.db", pg_url):
        store = await Store.open(target)
        try:
            await add_posts(store, posts)
            found.append(await answers(store))
        finally:
            await store.close()
    sqlite, postgresql = found
    assert any(a[2] for a in sqlite if len(a) == 6), "the sample should match something"
    for a, b in zip(sqlite, postgresql):
        assert a == b, a[0]
